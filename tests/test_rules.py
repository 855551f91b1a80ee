"""Rule pre-filters (issue 20): each check and each action, on import, on generation's items and by
`prefdesk rules run`; hits recorded with the rule set's version; rule labels in the weak layer, never counted
as a rater of the item, outranked by a human label in every export. Read back from the project file."""

import json

import pytest

from desktools import write_jsonl
from prefdesk.cli import main
from prefdesk.domain import LabelSource, RaterRole
from prefdesk.domain.rules import RuleError, parse_rule, parse_rules, rules_version
from prefdesk.domain.settings import SettingError
from prefdesk.formats.importer import import_file
from prefdesk.store.project import Project


def _rule(**kw):
    return parse_rule({"name": "r", **kw})


@pytest.mark.parametrize("check, value, good, bad, why", [
    ("regex", r"^\d+$", "42", "forty-two", "does not match"),
    ("not_regex", r"(?i)as an ai", "Sure: 42.", "As an AI, I cannot", "matches"),
    ("min_chars", 10, "long enough text", "short", "5 characters, fewer than 10"),
    ("max_chars", 5, "short", "far too long", "12 characters, more than 5"),
    ("json_valid", None, '{"a": 1}', "{a: 1}", "not valid JSON"),
    ("json_schema", {"type": "object", "required": ["answer"], "properties": {"answer": {"type": "integer"}}},
     '{"answer": 4}', '{"answer": "four"}', "fails the schema at answer"),
    ("contains", "consult a doctor", "Please consult a doctor today.", "Take two pills.", "does not say"),
    ("not_contains", "guaranteed returns", "Returns vary.", "Guaranteed returns of 20%!", "says"),
])
def test_each_check_passes_a_good_text_and_hits_a_bad_one(check, value, good, bad, why):
    rule = _rule(check=check, value=value)
    assert rule.hit(good) is None
    assert why in rule.hit(bad)


def test_bad_rules_are_refused_naming_the_field(project):
    for raw, field in [({"name": "x", "check": "regex", "value": "("}, "rules[0].value"),
                       ({"name": "x", "check": "sounds_nice"}, "rules[0].check"),
                       ({"name": "x", "check": "min_chars", "value": -1}, "rules[0].value"),
                       ({"name": "x", "check": "json_schema", "value": {"type": 7}}, "rules[0].value"),
                       ({"name": "x", "check": "regex", "value": "a", "action": "reject", "applies_to": "prompt"},
                        "rules[0].action"),
                       ({"name": "x", "check": "regex", "value": "a", "where": {"colour": "red"}}, "rules[0].where")]:
        with pytest.raises(RuleError) as err:
            parse_rules([raw])
        assert err.value.field == field
    with pytest.raises(SettingError, match="rules\\[1\\].check"):
        project.set_settings({"rules": [{"name": "ok", "check": "json_valid"}, {"name": "b", "check": "?"}]})
    assert project.settings["rules"] == []  # nothing stored


RULES = [
    {"name": "no-ai-talk", "check": "not_contains", "value": "as an AI", "action": "reject"},
    {"name": "doctor", "check": "contains", "value": "doctor", "where": {"scenario": "medical"}, "action": "flag"},
    {"name": "empty-prompt-junk", "check": "min_chars", "value": 8, "applies_to": "prompt", "action": "drop"},
]


def _pairs(tmp_path):
    records = [
        {"prompt": "Is it safe to mix these drugs?", "response_a": "As an AI I cannot say.", "response_b": "Ask your doctor.",
         "scenario": "medical"},
        {"prompt": "Is it safe to skip breakfast?", "response_a": "Usually fine.", "response_b": "Yes.", "scenario": "medical"},
        {"prompt": "hi", "response_a": "Hello!", "response_b": "Hi there.", "scenario": "chat"},
        {"prompt": "Explain recursion briefly.", "response_a": "as an ai model: a function calling itself",
         "response_b": "As an AI, recursion is self-reference.", "scenario": "coding"},
    ]
    return write_jsonl(tmp_path, records)


def test_rules_run_on_import_with_each_action_recorded(project, tmp_path):
    project.set_settings({"rules": RULES, "overlap": 1})
    report = import_file(project, _pairs(tmp_path))
    assert report.rules.hits == {"no-ai-talk": 3, "doctor": 3, "empty-prompt-junk": 1}
    items = {i.prompt: i for i in (project.item(x) for (x,) in project.conn.execute("SELECT id FROM items"))}
    version = rules_version(parse_rules(RULES))
    assert all(i.meta["prefilter"]["rules"] == version for i in items.values())
    # reject: the AI-talk answer loses, a rule label in the weak layer; both failing: both bad
    mix = items["Is it safe to mix these drugs?"]
    (label,) = project.labels(mix.id)
    rater = next(r for r in project.raters() if r.id == label.rater_id)
    assert (rater.name, rater.role, label.source, label.confidence) == ("rule:no-ai-talk", RaterRole.RULE,
                                                                       LabelSource.RULE, 1.0)
    assert label.payload["verdict"] == "B" and "answer 1 says 'as an AI'" in label.payload["rationale"]
    assert project.labels(items["Explain recursion briefly."].id)[0].payload["verdict"] == "both_bad"
    # a rule label does not make the rule a rater of the item: it stays in people's queues
    assert project.conn.execute("SELECT n_raters, open FROM items WHERE id = ?", (mix.id,)).fetchone() == (0, 1)
    # flag: the badge reviewers see, with the reason
    notes = dict(project.conn.execute("SELECT item_id, note FROM flags"))
    assert "rule doctor: answer 1 does not say 'doctor'" in notes[items["Is it safe to skip breakfast?"].id]
    # drop: held back from people, flagged with why
    hi = items["hi"]
    assert project.conn.execute("SELECT held_back, open FROM items WHERE id = ?", (hi.id,)).fetchone() == (
        "rule:empty-prompt-junk", 0)
    assert "the prompt 2 characters, fewer than 8" in notes[hi.id]
    from prefdesk.quality import browse  # the lead finds it in Items › Held back

    held = browse.item_rowids(project, browse.ItemQuery(held_back=True))
    assert browse.ids_of(project, held) == [hi.id]
    assert len(browse.item_rowids(project, browse.ItemQuery(held_back=False))) == 3
    hits = project.conn.execute("SELECT rule, rules_version, position, action FROM rule_hits ORDER BY rule, position").fetchall()
    assert ("empty-prompt-junk", version, None, "drop") in hits and len(hits) == 7
    # a person's label on the held-back item's neighbour leaves the hold alone; a recount does not reopen it
    ana = project.ensure_rater("ana")
    project.commit_label(mix.id, ana, "pairwise", {"verdict": "A"})
    project.set_settings({"overlap": 2})
    assert project.conn.execute("SELECT open FROM items WHERE id = ?", (hi.id,)).fetchone() == (0,)


def test_a_human_label_outranks_a_rule_and_a_rule_only_item_is_weighted_by_trust(project, tmp_path, cli):
    project.set_settings({"rules": RULES[:1], "source_trust": {"rule": 0.25}})
    import_file(project, _pairs(tmp_path))
    items = {i.prompt: i.id for i in (project.item(x) for (x,) in project.conn.execute("SELECT id FROM items"))}
    ana = project.ensure_rater("ana")
    project.commit_label(items["Is it safe to mix these drugs?"], ana, "pairwise", {"verdict": "A"})  # against the rule
    code, _, err = cli("export", "-p", project.path, "--format", "trl-preference", "--out", tmp_path / "out")
    assert code == 0, err
    rows = {r["prompt"]: r for r in map(json.loads, (tmp_path / "out" / "preference.jsonl").read_text().splitlines())}
    mix = rows["Is it safe to mix these drugs?"]
    assert mix["chosen"] == "As an AI I cannot say." and mix["weight"] == 1.0  # ana's verdict, alone
    assert "Explain recursion briefly." not in rows  # both bad: no pair


def test_rules_run_checks_what_the_rule_set_in_force_has_not(project, tmp_path, capsys):
    import_file(project, _pairs(tmp_path))
    path = project.path
    project.close()
    assert main(["config", "-p", str(path), "--set", "rules=" + json.dumps(RULES[:1])]) == 0
    assert main(["rules", "run", "-p", str(path)]) == 0
    assert "4 items checked; hits: no-ai-talk 3; 2 rule labels" in capsys.readouterr().out
    assert main(["rules", "run", "-p", str(path)]) == 0
    assert "0 items checked" in capsys.readouterr().out  # the same rule set: nothing to do again
    with Project.open(path) as project:
        assert project.conn.execute("SELECT COUNT(*) FROM labels WHERE source = 'rule'").fetchone() == (2,)


def test_the_settings_dialog_stores_rules_and_names_a_bad_one(desk, project, monkeypatch):
    from prefdesk.ui.desk.settings_dialog import SettingsDialog

    window = desk([])
    refused = []
    monkeypatch.setattr("prefdesk.ui.forms.tell", lambda *a: refused.append(a[2]))

    def edit(dialog, rules):
        dialog.rules.setPlainText(rules)
        dialog.judge_skips.setChecked(True)
        dialog.save()
        return dialog.result()
    monkeypatch.setattr(SettingsDialog, "exec", lambda d: edit(d, '[{"name": "x", "check": "regex", "value": "("}]'))
    window.run_named("settings")
    assert "rules[0].value: not a regular expression" in refused[0] and project.settings["rules"] == []
    assert project.settings["judge_skips_people"] is False  # all or nothing
    monkeypatch.setattr(SettingsDialog, "exec", lambda d: edit(d, "[{oops"))
    window.run_named("settings")
    assert "rules: not JSON" in refused[1]
    monkeypatch.setattr(SettingsDialog, "exec", lambda d: edit(d, json.dumps(RULES[:2])))
    window.run_named("settings")
    assert [r["name"] for r in project.settings["rules"]] == ["no-ai-talk", "doctor"]
    assert project.settings["rules"][1]["where"] == {"scenario": ["medical"]} and project.settings["judge_skips_people"]


def test_the_open_item_view_says_why_an_item_is_held_back_and_what_the_rules_found(qtbot, qt_prefs, project, tmp_path):
    from PySide6.QtWidgets import QLabel

    from desktools import shown
    from prefdesk.ui.desk.window import MainWindow
    from prefdesk.ui.items.dialogs import ItemDialog

    project.set_settings({"rules": RULES})
    import_file(project, _pairs(tmp_path))
    (hi,) = project.conn.execute("SELECT id FROM items WHERE prompt = 'hi'").fetchone()
    window = shown(qtbot, MainWindow(project, project.ensure_rater("lea", RaterRole.REVIEWER)))
    window.run_named("items")
    dialog = ItemDialog(window.items_panel, window, hi)
    texts = [label.text() for label in dialog.findChildren(QLabel)]
    assert any("held back from people (rule:empty-prompt-junk)" in t for t in texts)
    assert any("rule empty-prompt-junk (drop, rules-" in t and "the prompt 2 characters, fewer than 8" in t for t in texts)
    dialog.close()
