"""Online feedback: each tool's export through `prefdesk feedback import`, read back from the project file (events,
items, weak labels of source online-feedback with their provenance), the weak layer's rules, bad input refused
whole, trends and backflow."""

import json
import sqlite3
from datetime import datetime, timezone

import pytest

from prefdesk.store.project import Project

FB = "feedback"


def _open(path):
    return sqlite3.connect(path)


def _labels(path, tool):
    """(item kind, candidate texts, label kind, payload, created_at, rater role, held back) of the tool's labels."""
    with _open(path) as conn:
        rows = conn.execute(
            "SELECT i.kind, i.candidates, l.kind, l.payload, l.created_at, r.role, i.held_back, i.is_gold, l.source, "
            "r.name FROM labels l JOIN items i ON i.id = l.item_id JOIN raters r ON r.id = l.rater_id "
            "WHERE i.source = ? ORDER BY l.rowid", (f"feedback:{tool}",)).fetchall()
    out = []
    for kind, cands, lkind, payload, at, role, held, gold, source, rater in rows:
        assert (source, role, rater, gold) == ("online-feedback", "end-users", f"online:{tool}", 0)
        assert held is not None  # people are not served these until backflow sends them
        out.append((kind, [c["text"] for c in json.loads(cands)], lkind, json.loads(payload), at))
    return out


@pytest.fixture
def proj(tmp_path, cli):
    path = tmp_path / "p.prefdesk"
    assert cli("new", path)[0] == 0
    return path


def test_open_webui_thumbs_ratings_regenerations_and_arena(proj, cli, fixtures):
    export = json.loads((fixtures / FB / "openwebui-feedback-export.json").read_text())
    code, out, err = cli(FB, "import", fixtures / FB / "openwebui-feedback-export.json", "-p", proj)
    assert code == 0, err
    assert "open-webui, 6 records" in out
    labels = _labels(proj, "open-webui")
    binary = [lab for lab in labels if lab[2] == "binary"]
    assert len(binary) == 6
    for row, lab in zip(export, binary):
        rated = row["snapshot"]["chat"]["chat"]["history"]["messages"][row["meta"]["message_id"]]
        assert lab[1] == [rated["content"]] and lab[0] == "scalar"
        assert lab[3]["desirable"] is (row["data"]["rating"] == 1)
        assert lab[3]["event"] == f"open-webui:{row['id']}" and lab[3]["signal"] == "thumbs"
        stamp = datetime.fromtimestamp(row["created_at"], timezone.utc)  # epoch seconds: the label's time, in UTC
        assert lab[4] == stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    scalars = [lab for lab in labels if lab[2] == "scalar"]
    assert [lab[3]["score"] for lab in scalars] == [r["data"]["details"]["rating"] for r in export]
    assert all(lab[3]["scale"] == [1.0, 10.0] for lab in scalars)
    pairs = [lab for lab in labels if lab[3]["signal"] == "regenerate"]
    assert len(pairs) == 2  # rows 1 and 2: the user asked again and went on from the second answer
    for lab, row in zip(pairs, export[1:3]):
        kept = row["snapshot"]["chat"]["chat"]["history"]["messages"][f"msg-{row['id'][3:]}-b"]["content"]
        verdict = lab[3]["verdict"]
        assert lab[1][{"A": 0, "B": 1}[verdict]] == kept and lab[3]["reason_tags"] == ["regenerated"]
    arena = [lab for lab in labels if lab[3]["signal"] == "arena"]
    assert len(arena) == 1 and arena[0][3]["verdict"] == ("A" if export[4]["data"]["rating"] == 1 else "B")
    with _open(proj) as conn:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT user_id) FROM feedback_events").fetchone() == (15, 3)
        assert conn.execute("SELECT model_version FROM feedback_events WHERE external_id = 'fb-0'").fetchone() == (
            "/models/support-bot-2026-11",)
    # the same export again adds nothing
    code, out, _ = cli(FB, "import", fixtures / FB / "openwebui-feedback-export.json", "-p", proj)
    assert code == 0 and "0 events, 0 items and 0 online labels added" in out and "15 events already" in out


def test_arena_winners_ties_and_both_bad(proj, cli, fixtures):
    rows = [json.loads(x) for x in (fixtures / FB / "arena-judgments.jsonl").read_text().splitlines()]
    assert cli(FB, "import", fixtures / FB / "arena-judgments.jsonl", "-p", proj)[0] == 0
    labels = _labels(proj, "arena")
    expected = {"model_a": "A", "model_b": "B", "tie": "tie", "tie (bothbad)": "both_bad"}
    assert [lab[3]["verdict"] for lab in labels] == [expected[r["winner"]] for r in rows]
    for lab, r in zip(labels, rows):
        assert lab[1] == [r["conversation_a"][-1]["content"], r["conversation_b"][-1]["content"]]


def test_openassistant_ranks_and_emojis(proj, cli, fixtures):
    assert cli(FB, "import", fixtures / FB / "oasst-messages.jsonl", "-p", proj)[0] == 0
    labels = _labels(proj, "openassistant")
    ranks = [lab for lab in labels if lab[2] == "ranking"]
    assert len(ranks) == 4 and all(lab[3]["order"] == [[0], [1]] for lab in ranks)
    thumbs = [lab[3]["desirable"] for lab in labels if lab[2] == "binary"]
    assert thumbs == [True, False] * 4  # +1 x3 against none; +1 x1 against -1 x2


def test_langfuse_and_langsmith_scores_with_their_traces(proj, cli, fixtures):
    assert cli(FB, "import", fixtures / FB / "langfuse-scores-traces.json", "-p", proj)[0] == 0
    labels = _labels(proj, "langfuse")
    assert [lab[3]["desirable"] for lab in labels if lab[2] == "binary"] == [False, True, True, False, True, True]
    assert [(lab[3]["score"], lab[3]["scale"]) for lab in labels if lab[2] == "scalar"] == [(4.0, [1.0, 5.0])]
    with _open(proj) as conn:  # an EVAL score is a model's: an event, no online label
        assert conn.execute("SELECT signal FROM feedback_events WHERE external_id = 'score-eval'").fetchone() == (
            "category",)
    assert cli(FB, "import", fixtures / FB / "langsmith-feedback-runs.jsonl", "-p", proj)[0] == 0
    labels = _labels(proj, "langsmith")
    correction = [lab for lab in labels if lab[3]["signal"] == "correction"]
    assert len(correction) == 1 and correction[0][3]["verdict"] == "B"
    runs = [json.loads(x) for x in (fixtures / FB / "langsmith-feedback-runs.jsonl").read_text().splitlines()]
    assert correction[0][1] == [runs[2]["outputs"]["generations"][0][0]["text"], runs[3]["correction"]["output"]]


def test_prefdesk_events_pair_siblings_and_map_implicit_signals_only_when_asked(proj, cli, fixtures, tmp_path):
    events = fixtures / FB / "prefdesk-events.jsonl"
    assert cli(FB, "import", events, "-p", proj)[0] == 0
    labels = _labels(proj, "prefdesk")
    pairs = [lab for lab in labels if lab[3]["signal"] == "regenerate"]
    rows = [json.loads(x) for x in events.read_text().splitlines()]
    for lab in pairs:  # the kept answer is the one the conversation went on from
        regen = next(r for r in rows if f"prefdesk:{r['id']}" == lab[3]["event"])
        assert regen["signal"] == "regenerate" and lab[1][{"A": 0, "B": 1}[lab[3]["verdict"]]] != regen["answer"]
    assert len(pairs) == 2
    assert not any(lab[3]["signal"] in ("handoff", "copy") for lab in labels)  # off by default: events only
    with Project.open(proj) as p:
        p.set_setting("feedback_implicit", {"handoff": "undesirable"})
    other = tmp_path / "e2.jsonl"
    other.write_text("".join(json.dumps({**r, "id": r["id"] + "-b"}) + "\n" for r in rows if r["signal"] == "handoff"))
    assert cli(FB, "import", other, "-p", proj)[0] == 0
    handoffs = [lab for lab in _labels(proj, "prefdesk") if lab[3]["signal"] == "handoff"]
    assert len(handoffs) == 2 and all(lab[3]["desirable"] is False for lab in handoffs)


def test_online_labels_are_no_votes_and_people_outrank_them(proj, cli, fixtures, tmp_path):
    assert cli(FB, "import", fixtures / FB / "arena-judgments.jsonl", "-p", proj)[0] == 0
    with Project.open(proj) as p:
        item = p.conn.execute("SELECT id FROM items LIMIT 1").fetchone()[0]
        assert p.conn.execute("SELECT SUM(n_raters), SUM(open) FROM items").fetchone() == (0, 0)
        ana = p.ensure_rater("ana")
        online = p.conn.execute("SELECT payload FROM labels WHERE item_id = ?", (item,)).fetchone()[0]
        verdict = {"A": "B", "B": "A"}.get(json.loads(online)["verdict"], "A")
        p.commit_label(item, ana, "pairwise", {"verdict": verdict, "dims": {}, "reason_tags": []})
        assert p.conn.execute("SELECT n_raters FROM items WHERE id = ?", (item,)).fetchone()[0] == 1
    assert cli("export", "-p", proj, "--format", "trl-preference", "--out", tmp_path / "out")[0] == 0
    rows = [json.loads(x) for x in (tmp_path / "out" / "preference.jsonl").read_text().splitlines()]
    person = [r for r in rows if r["weight"] == 1.0]
    assert len(person) == 1  # ana's vote outranks the users' on her item; the rest at online trust
    assert all(r["weight"] == 0.3 for r in rows if r is not person[0])


@pytest.mark.parametrize("fixture, edit, field", [
    ("openwebui-feedback-export.json", lambda rows: rows[2]["data"]["details"].update(rating=11), "data.details.rating"),
    ("openwebui-feedback-export.json", lambda rows: rows[3]["meta"].pop("message_id"), "meta.message_id"),
    ("openwebui-feedback-export.json", lambda rows: rows[1]["meta"].update(message_id="gone"), "meta.message_id"),
    ("openwebui-feedback-export.json", lambda rows: rows[0]["data"].update(rating=5), "data.rating"),
    ("langfuse-scores-traces.json", lambda d: d["scores"][2].update(traceId="nowhere"), "traceId"),
    ("oasst-messages.jsonl", lambda rows: rows[4].update(parent_id="nowhere"), "parent_id"),
    ("prefdesk-events.jsonl", lambda rows: rows[3].update(value=7), "value"),
    ("prefdesk-events.jsonl", lambda rows: rows[5].update(value=11), "value"),
    ("arena-judgments.jsonl", lambda rows: rows[1].update(winner="model_c"), "winner"),
])
def test_a_bad_record_is_refused_with_its_place_and_the_project_is_unchanged(proj, cli, fixtures, tmp_path, fixture,
                                                                             edit, field):
    src = fixtures / FB / fixture
    bad = tmp_path / fixture
    if fixture.endswith(".json"):
        data = json.loads(src.read_text())
        edit(data)
        bad.write_text(json.dumps(data))
    else:
        rows = [json.loads(x) for x in src.read_text().splitlines()]
        edit(rows)
        bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert cli(FB, "import", fixtures / FB / "langsmith-feedback-runs.jsonl", "-p", proj)[0] == 0  # not empty before

    def state():
        with _open(proj) as conn:
            return [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in
                    ("feedback_events", "items", "labels", "raters", "import_batches")]
    before = state()
    code, out, err = cli(FB, "import", bad, "-p", proj)
    assert code == 2 and f"{bad}:" in err and f": {field}:" in err and "the project is unchanged" in err
    assert state() == before
    code, out, err = cli(FB, "import", bad, "-p", proj, "--skip-bad")
    assert code == 0 and "1 bad records skipped" in out, err
    reject = json.loads((tmp_path / f"{fixture}.rejects.jsonl").read_text().splitlines()[0])
    assert reject["field"] == field and reject["raw"] is not None
    assert state()[0] > before[0]


def test_trends_count_rates_with_intervals_per_week_and_version(proj, cli, fixtures):
    assert cli(FB, "import", fixtures / FB / "prefdesk-events.jsonl", "-p", proj)[0] == 0
    code, out, _ = cli(FB, "trends", "-p", proj, "--per", "week", "--by", "model_version", "--json")
    assert code == 0
    points = json.loads(out)["points"]
    assert [(p["period"], p["group"], p["events"]) for p in points] == [
        ("2026-11-30", "2026-11-28", 7), ("2026-11-30", "2026-12-05", 7)]
    for p in points:  # per version: a thumbs up and a thumbs down; 4 conversations, 1 retried, 1 handed off
        assert (p["thumbs_down"]["k"], p["thumbs_down"]["n"]) == (1, 2)
        assert (p["retry"]["k"], p["retry"]["n"], p["handoff"]["k"]) == (1, 4, 1)
        for rate in ("thumbs_down", "retry", "handoff"):
            assert p[rate]["low"] < p[rate]["rate"] < p[rate]["high"]
    assert cli(FB, "import", fixtures / FB / "prefdesk-events.jsonl", "-p", proj)[0] == 0  # again: counted once
    assert json.loads(cli(FB, "trends", "-p", proj, "--per", "week", "--by", "model_version", "--json")[1])[
        "points"] == points
    code, out, _ = cli(FB, "summary", "-p", proj, "--json")
    with _open(proj) as conn:  # the kept counts are the events' own
        direct = conn.execute("SELECT tool, signal, COUNT(*) FROM feedback_events GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    summary = json.loads(out)
    assert [(r["tool"], r["signal"], r["events"]) for r in summary["by_tool"]] == direct and summary["events"] == 14
    assert (summary["first"], summary["last"]) == ("2026-12-01T09:00:00.000Z", "2026-12-06T10:01:00.000Z")
    code, out, _ = cli(FB, "trends", "-p", proj, "--per", "day", "--by", "bucket")
    assert code == 0 and "2026-12-01  billing" in out


def test_backflow_sends_bad_conversations_to_the_pool_and_to_people_once(proj, cli, fixtures):
    assert cli(FB, "import", fixtures / FB / "prefdesk-events.jsonl", "-p", proj)[0] == 0
    code, out, _ = cli(FB, "backflow", "-p", proj, "--sample", "2", "--by", "bucket")
    assert code == 0 and "2 of 6 conversations" in out and "billing: 1" in out and "safety: 1" in out
    with _open(proj) as conn:
        pool = conn.execute("SELECT prompt_messages, source, bucket FROM prompts").fetchall()
        assert len(pool) == 2 and all(s == "feedback:prefdesk" for _, s, _ in pool)
        assert {b for _, _, b in pool} == {"billing", "safety"}
        assert all(json.loads(m)[-1]["role"] == "user" for m, _, _ in pool if m)
        served = conn.execute("SELECT COUNT(*) FROM items WHERE source = 'feedback:prefdesk' AND held_back IS NULL "
                              "AND open = 1").fetchone()[0]
        assert served == 2
    code, out, _ = cli(FB, "backflow", "-p", proj)
    assert code == 0 and "6 of 6" in out
    again = cli(FB, "backflow", "-p", proj)[1]
    assert "0 prompts added to the pool (6 there already); 0 items made and 0 held-back" in again
    assert cli(FB, "backflow", "-p", proj, "--where", "colour=red")[0] == 2


def test_online_labels_leave_the_teams_agreement_and_the_queue_as_they_were(proj, cli, fixtures):
    """People's figures are the people's: the weak layer is compared with them (by source), never counted in."""
    from prefdesk.domain import LabelKind
    from prefdesk.feedback.importer import import_feedback
    from prefdesk.quality.report import quality_report

    with Project.open(proj) as p:
        import_feedback(p, fixtures / FB / "arena-judgments.jsonl")
        ids = [i for (i,) in p.conn.execute("SELECT id FROM items ORDER BY rowid")]
        p.conn.execute("UPDATE items SET held_back = NULL, open = 1")  # as a backflow would
        ann, bo = p.ensure_rater("ann"), p.ensure_rater("bo")
        for item, (a, b) in zip(ids, [("A", "A"), ("A", "B"), ("B", "B")]):
            p.commit_label(item, ann, LabelKind.PAIRWISE, {"verdict": a})
            p.commit_label(item, bo, LabelKind.PAIRWISE, {"verdict": b})
        with_online = quality_report(p)
        agreement = with_online["agreement"]
        assert agreement["items_with_two_or_more"] == 3 and agreement["percent"] == pytest.approx(2 / 3)
        assert list(agreement["cohen_kappa"]) == ["ann|bo"]  # the users' votes are not a third rater
        assert with_online["by_source"]["online-feedback"]["labels"] == 6
        assert p.conn.execute("SELECT n_raters FROM items WHERE id = ?", (ids[0],)).fetchone()[0] == 2


def test_prefdesk_import_sends_a_feedback_export_to_the_feedback_importer(proj, cli, fixtures):
    code, out, err = cli("import", fixtures / FB / "oasst-messages.jsonl", "-p", proj)
    assert code == 0 and "openassistant, 12 records" in out, err
    assert [lab[2] for lab in _labels(proj, "openassistant")].count("ranking") == 4
    code, out, _ = cli("import", fixtures / "hh_rlhf_20.jsonl", "-p", proj)  # a dataset stays a dataset
    assert code == 0 and "hh-rlhf, 20 records" in out


def test_end_users_are_a_rater_role_and_not_a_label_source():
    from prefdesk.domain import LabelSource, RaterRole

    assert RaterRole("end-users") is RaterRole.END_USERS
    assert "end-users" not in {s.value for s in LabelSource} and LabelSource("online-feedback")
