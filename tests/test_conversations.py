"""Whole conversations and agent trajectories rated turn by turn (`formats.conversation`): imported from TRL's
tool-calling shape and HH transcripts, rated by the process keys at the desk, exported as TRL stepwise rows and
in the labels format (and back, identical); bad input refused with the file, line and field."""

import json

import pytest
from PySide6.QtCore import Qt

from desktools import press, stored, write_jsonl
from prefdesk.domain import ItemKind
from prefdesk.formats.errors import ImportRefused
from prefdesk.formats.importer import import_file
from prefdesk.store.project import Project


def items_of(project):
    return [project.item(i) for (i,) in project.conn.execute("SELECT id FROM items ORDER BY rowid")]


def test_a_trl_tool_calling_trajectory_becomes_a_process_item_one_step_a_turn(project, fixtures):
    import_file(project, fixtures / "agent_trajectories.jsonl")
    travel, weather = items_of(project)
    assert travel.kind is ItemKind.PROCESS and [m["role"] for m in travel.prompt_messages] == ["system", "user"]
    assert len(travel.steps) == 4 and travel.meta["scenario"] == "travel-agent"
    assert [t["function"]["name"] for t in travel.meta["tools"]] == ["search_flights", "get_weather", "book_flight"]
    first = travel.steps[0].text
    assert "**Tool call: `search_flights`**" in first and '"destination": "LIS",' in first  # indented JSON
    assert "**Tool result (`get_weather`):**" in first and '"rain_probability": 0.7' in first
    assert travel.steps[2].state == "User: Book the evening one, I have meetings in the morning. Window seat please."
    assert '"booking_ref": "Q7XK2P"' in travel.steps[2].text and travel.steps[3].text.startswith("Done: you're booked")
    # arguments that are not JSON: shown as written and flagged, the retry's are formatted
    assert "not JSON; shown as written" in weather.steps[0].text and '{"city": "Oslo", "date": "2026-01-20"' \
        in weather.steps[0].text
    assert weather.meta["tool_call_problems"] == [
        "messages[1].tool_calls[0]: the arguments of 'get_weather' are not JSON (Expecting ',' delimiter, at 37)"]
    assert '"city": "Oslo",\n' in weather.steps[1].text


def test_an_hh_transcript_is_rated_per_assistant_turn_with_the_users_turns_as_context(project, fixtures, tmp_path):
    rows = (fixtures / "hh_rlhf_harmless_200.jsonl").read_text().splitlines()
    source = tmp_path / "hh.jsonl"
    source.write_text(rows[142] + "\n")
    import_file(project, source, format_name="conversation")
    (conv,) = items_of(project)
    record = json.loads(rows[142])
    assistant_turns = record["chosen"].count("\n\nAssistant:")
    assert len(conv.steps) == assistant_turns == 4
    assert conv.prompt_messages[0]["content"].startswith("What are the differences between black and white cultures")
    assert all(step.state.startswith("User: ") for step in conv.steps[1:]) and conv.steps[0].state is None
    assert conv.steps[-1].text in record["chosen"]


def test_a_rater_rates_each_turn_by_keys_and_it_exports_as_stepwise_and_comes_back_identical(
        desk, qtbot, project, fixtures, tmp_path, cli):
    window = desk([])
    import_file(project, fixtures / "agent_trajectories.jsonl")
    window.work.renew_queue()
    window.work.show_next()
    travel = window.item
    assert travel.meta.get("scenario") == "travel-agent" or window.item.meta.get("scenario") == "weather-agent"
    ctrl3 = (Qt.Key_3, Qt.ControlModifier)  # reason tag 3 ("ignores instructions") on the turn under the cursor
    keys = {4: (Qt.Key_Plus, Qt.Key_Plus, Qt.Key_0, ctrl3, Qt.Key_Minus), 3: (Qt.Key_Minus, Qt.Key_Plus, Qt.Key_Plus)}
    rated = {}
    for _ in range(2):
        item = window.item
        press(qtbot, window, *keys[len(item.steps)], Qt.Key_C, Qt.Key_Return)
        rated[item.id] = len(item.steps)
    payloads = stored(project, "SELECT payload FROM labels WHERE source = 'human' ORDER BY rowid")
    assert sorted(p["ratings"] for p in payloads) == sorted([[1, 1, 0, -1], [-1, 1, 1]])
    tagged = next(p for p in payloads if len(p["ratings"]) == 4)
    assert tagged["step_tags"] == {"3": ["ignores instructions"]}  # booked above the fare limit
    assert "step_tags" not in next(p for p in payloads if len(p["ratings"]) == 3)
    path = project.path
    assert cli("export", "-p", path, "--format", "trl-stepwise", "--out", tmp_path / "stepwise")[0] == 0
    rows = [json.loads(line) for f in (tmp_path / "stepwise").rglob("*.jsonl") for line in f.read_text().splitlines()]
    travel_row = next(r for r in rows if "travel assistant" in r["prompt"])
    assert travel_row["labels"] == [True, True, True, False] and len(travel_row["completions"]) == 4
    assert travel_row["completions"][2].startswith("User: Book the evening one")  # the turn's context goes with it
    assert travel_row["meta"]["step_tags"] == {"3": {"ignores instructions": 1}}
    weather_row = next(r for r in rows if "Oslo" in r["prompt"])
    assert weather_row["labels"] == [False, True, True]  # every turn: a retry mends a bad call
    # the labels format out and back: the same items, steps and ratings in a fresh project
    assert cli("export", "-p", path, "--format", "labels", "--out", tmp_path / "labels")[0] == 0
    (labels_file,) = (tmp_path / "labels").rglob("labels.jsonl")
    fresh = tmp_path / "fresh.prefdesk"
    assert cli("new", fresh)[0] == 0 and cli("import", labels_file, "-p", fresh)[0] == 0
    with Project.open(fresh) as other:
        back = {i.prompt: i for i in items_of(other)}
        got = stored(other, "SELECT payload FROM labels WHERE source = 'human' ORDER BY rowid")
    for item in items_of(project):
        assert back[item.prompt].steps == item.steps and back[item.prompt].prompt_messages == item.prompt_messages
        assert back[item.prompt].meta.get("tool_call_problems") == item.meta.get("tool_call_problems")
    assert sorted(json.dumps(p, sort_keys=True) for p in got) == sorted(json.dumps(p, sort_keys=True) for p in payloads)


@pytest.mark.parametrize("record, field, message", [
    ({"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]},
     "messages", "no assistant turn: there is nothing to rate per turn"),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "robot", "content": "beep"}]},
     "messages[1].role", "expected one of"),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [{"function": {}}]}]},
     "messages[1].tool_calls[0].function.name", "expected the tool's name"),
    ({"messages": [{"role": "tool", "content": "42"}, {"role": "assistant", "content": "ok"}]},
     "messages[0]", "a tool result before any assistant turn"),
])
def test_a_conversation_that_cannot_be_rated_per_turn_is_refused_naming_file_line_and_field(
        project, tmp_path, record, field, message):
    good = {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]}
    source = write_jsonl(tmp_path, [good, record])
    with pytest.raises(ImportRefused) as refused:
        import_file(project, source)
    text = str(refused.value)
    assert f"{source}:2: {field}: " in text and message in text, text
    assert project.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0


def test_an_hh_items_conversation_comes_back_from_the_labels_format_as_a_conversation(project, fixtures, tmp_path, cli):
    """Before, the labels format sent `prompt_messages` out and read only the text back: an HH dialogue came back
    as one flat prompt."""
    rows = (fixtures / "hh_rlhf_harmless_200.jsonl").read_text().splitlines()
    source = tmp_path / "hh.jsonl"
    source.write_text("\n".join(rows[:3]) + "\n")
    import_file(project, source, labels_as="votes")
    assert cli("export", "-p", project.path, "--format", "labels", "--out", tmp_path / "out")[0] == 0
    fresh = tmp_path / "fresh.prefdesk"
    assert cli("new", fresh)[0] == 0
    assert cli("import", next((tmp_path / "out").rglob("labels.jsonl")), "-p", fresh)[0] == 0
    with Project.open(fresh) as other:
        back = {i.prompt: i.prompt_messages for i in items_of(other)}
    mine = {i.prompt: i.prompt_messages for i in items_of(project)}
    assert back == mine and all(len(m) >= 1 for m in mine.values())


def test_the_quality_report_gives_agreement_turn_by_turn(project, fixtures, cli):
    from prefdesk.domain import LabelKind

    import_file(project, fixtures / "agent_trajectories.jsonl")
    travel = next(i for i in items_of(project) if len(i.steps) == 4)
    for name, ratings in (("ana", [1, 1, 0, -1]), ("ben", [1, 1, 1, -1]), ("cy", [1, -1, 1, -1])):
        project.commit_label(travel.id, project.ensure_rater(name), LabelKind.PROCESS,
                             {"ratings": ratings, "first_error": ratings.index(-1), "final_correct": None,
                              "cannot_judge": False, "replacement": None})
    code, out, _ = cli("quality", "-p", project.path, "--json")
    steps = json.loads(out)["step_agreement"]
    assert steps["units"] == 4 and steps["items"] == 1
    assert steps["by_turn"]["1"]["percent"] == 1.0 and steps["by_turn"]["4"]["percent"] == 1.0
    assert abs(steps["by_turn"]["2"]["percent"] - 1 / 3) < 1e-9 and abs(steps["by_turn"]["3"]["percent"] - 1 / 3) < 1e-9
    assert abs(steps["percent"] - (3 + 1 + 1 + 3) / 12) < 1e-9 and steps["ordinal_alpha"] is not None
    code, out, _ = cli("quality", "-p", project.path)
    assert "process steps and conversation turns: 4 rated by 2+ people on 1 items" in out
