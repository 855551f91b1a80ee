"""The lead sets item metadata in bulk (issue 19, part): `prefdesk items set` and `import --set-meta`; every
change recorded with who and when, and what it changes downstream (a rationale required on high-risk)."""

import json

from desktools import pairs, write_jsonl
from prefdesk.formats.importer import import_file
from prefdesk.store import item_meta
from prefdesk.store.project import Project


def test_imported_hh_rows_get_a_scenario_and_risk_level_recorded_and_the_rationale_rule_follows(
        project, fixtures, tmp_path, cli):
    from prefdesk.labeling import rationale_needed

    import_file(project, write_jsonl(tmp_path, pairs(3)))
    import_file(project, fixtures / "hh_rlhf_20.jsonl")
    project.set_settings({"rationale_required": "high-risk"})
    code, out, err = cli("items", "set", "-p", project.path, "--where", "source=hh-rlhf", "--by", "lea",
                         "scenario=safety", "risk_level=high")
    assert code == 0, err
    assert out.strip() == "20 items changed (scenario=safety, risk_level=high)"
    rows = project.conn.execute("SELECT source, scenario, risk_level, json_extract(meta, '$.risk_level') FROM items")
    by_source = {}
    for source, *values in rows:
        by_source.setdefault(source, set()).add(tuple(values))
    assert by_source["hh-rlhf"] == {("safety", "high", "high")}
    assert by_source["items.jsonl"] == {(None, None, None)}
    item_id = project.conn.execute("SELECT id FROM items WHERE source = 'hh-rlhf'").fetchone()[0]
    history = item_meta.edits(project, item_id)
    assert [(e["field"], e["old"], e["new"], e["by"]) for e in history] == [
        ("scenario", None, "safety", "lea"), ("risk_level", None, "high", "lea")]
    assert rationale_needed(project.settings, project.item(item_id))
    # the same again changes nothing and records nothing
    code, out, _ = cli("items", "set", "-p", project.path, "--where", "source=hh-rlhf", "--by", "lea",
                       "risk_level=high")
    assert out.strip().startswith("0 items changed") and len(item_meta.edits(project, item_id)) == 2


def test_bad_assignments_are_refused_naming_the_part_and_nothing_changes(project, tmp_path, cli):
    import_file(project, write_jsonl(tmp_path, pairs(2)))
    for args, needle in ((["colour=red"], "FIELD=VALUE"), (["priority=high"], "priority='high'"),
                         (["is_gold=1"], "is_gold: only 0"), (["risk_level=high", "risk_level=low"], "set twice"),
                         (["risk_level=high", "--where", "mood=sad"], "--where 'mood=sad'"),
                         (["--where", "bucket=a", "risk_level=high"], "required: FIELD=VALUE"),  # --where took both
                         (["risk_level=high", "--where", "bucket=a,scenario=b"], "--where bucket=a scenario=b")):
        code, _, err = cli("items", "set", "-p", project.path, *args)
        assert code == 2 and needle in err and "Traceback" not in err, (args, err)
    assert project.conn.execute("SELECT COUNT(*) FROM item_edits").fetchone()[0] == 0


def test_import_set_meta_applies_to_every_item_of_the_file_in_the_same_transaction(project, tmp_path, cli):
    code, out, err = cli("import", write_jsonl(tmp_path, pairs(4)), "-p", project.path,
                         "--set-meta", "risk_level=high", "--set-meta", "bucket=pilot")
    assert code == 0, err
    assert set(project.conn.execute("SELECT risk_level, bucket FROM items")) == {("high", "pilot")}
    edits = project.conn.execute("SELECT DISTINCT field, new, by FROM item_edits ORDER BY field").fetchall()
    assert edits == [("bucket", "pilot", "import of items.jsonl"), ("risk_level", "high", "import of items.jsonl")]
    code, _, err = cli("import", write_jsonl(tmp_path, pairs(2), "more.jsonl"), "-p", project.path,
                       "--set-meta", "risk=high")
    assert code == 2 and "FIELD=VALUE" in err
    with Project.open(project.path) as again:
        assert again.item_count() == 4  # the refused import added nothing


def test_a_lead_edit_in_a_later_session_is_kept_with_its_history(project, tmp_path):
    import_file(project, write_jsonl(tmp_path, pairs(2)))
    ids = item_meta.item_ids_where(project, None)
    assert item_meta.set_meta(project, ids, {"priority": 5.0, "scenario": "legal"}, by="lea") == 2
    assert item_meta.set_meta(project, ids[:1], {"scenario": None}, by="max") == 1
    item = project.item(ids[0])
    assert item.scenario is None and item.priority == 5.0 and "scenario" not in item.meta
    assert json.loads(project.conn.execute("SELECT meta FROM items WHERE id = ?", (ids[1],)).fetchone()[0]) == {
        "priority": 5.0, "scenario": "legal"}
    assert [e["by"] for e in item_meta.edits(project, ids[0])] == ["lea", "lea", "max"]
