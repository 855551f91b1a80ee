"""Team work without a server (issue 13): split into rater files, label in each, merge back; the result is
what one shared file would hold. Merging twice adds nothing; a file made apart merges by content; a newer
file is refused; settings that differ are reported and the lead's kept."""

import json
import sqlite3


from desktools import pairs, write_jsonl
from prefdesk.domain import LabelKind
from prefdesk.formats.importer import import_file
from prefdesk.store.project import Project


def _labels(project) -> list[tuple]:
    """Every label as the same facts whichever file holds it: item prompt, rater, what they said, and when."""
    return sorted(project.conn.execute(
        "SELECT i.prompt, r.name, l.id, l.kind, l.payload, l.created_at, l.duration_ms, l.display_order, l.round, "
        "l.source, l.session_id, l.guideline_version, l.supersedes FROM labels l JOIN items i ON i.id = l.item_id "
        "JOIN raters r ON r.id = l.rater_id").fetchall())


def _label_all(path, verdict_of) -> None:
    """The rater of a split file labels every item in it (their own session), as the desk would."""
    with Project.open(path) as project:
        (rater,) = project.raters()
        session = project.start_session(rater)
        for (item_id, prompt) in project.conn.execute("SELECT id, prompt FROM items ORDER BY id").fetchall():
            project.commit_label(item_id, rater, LabelKind.PAIRWISE, {"verdict": verdict_of(rater.name, prompt)},
                                 session=session, duration_ms=1200, display_order=(1, 0))
        project.flag(item_id, rater, "odd prompt")


def test_split_label_merge_gives_what_one_shared_file_holds_and_merging_twice_adds_nothing(project, tmp_path, cli):
    import_file(project, write_jsonl(tmp_path, pairs(30)))
    project.set_settings({"gold_rate": 0.0})
    gold = project.conn.execute("SELECT id FROM items ORDER BY id LIMIT 1").fetchone()[0]
    project.conn.execute("UPDATE items SET is_gold = 1, gold_answer = '{\"verdict\": \"A\"}' WHERE id = ?", (gold,))
    code, out, err = cli("split", "-p", project.path, "--raters", "ana,ben,cy", "--overlap", "2", "--out", tmp_path / "team")
    assert code == 0, err
    files = {name: tmp_path / "team" / f"{name}.prefdesk" for name in ("ana", "ben", "cy")}
    held = {}
    for name, path in files.items():
        with Project.open(path) as p:
            held[name] = {i for (i,) in p.conn.execute("SELECT id FROM items WHERE is_gold = 0")}
            assert [r.name for r in p.raters()] == [name] and p.settings == project.settings
            assert p.guidelines() == project.guidelines()
    # 29 open items, each to 2 of 3 raters, in turn; the gold item to all
    assert sum(len(h) for h in held.values()) == 58 and {len(h) for h in held.values()} <= {19, 20}
    assert all(sum(i in h for h in held.values()) == 2 for i in set().union(*held.values()))

    verdict_of = lambda name, prompt: "A" if (name == "ana" or int(prompt[1:]) % 3) else "B"  # noqa: E731
    for path in files.values():
        _label_all(path, verdict_of)
    code, out, err = cli("merge", "-p", project.path, *files.values(), "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["labels_added"] == 58 + 3 and first["items_matched_by_id"] == 61 and first["labels_refused"] == 0
    assert first["sessions_added"] == 3 and first["flags_added"] == 3
    assert first["conflicts"] == first["refused"] == [] and first["labels_already_present"] == 0
    with sqlite3.connect(first["backup"]) as backup:  # the lead as it was before the merge
        assert backup.execute("SELECT COUNT(*) FROM labels").fetchone() == (0,)
    backup.close()

    # the same labels as if all three had labelled in one shared file
    union = sorted(row for path in files.values() for row in _labels(Project.open(path)))
    assert _labels(project) == union
    open_count = project.conn.execute("SELECT COUNT(*) FROM items WHERE open = 1 AND is_gold = 0").fetchone()[0]
    assert open_count == 0  # every item has its two raters now
    from prefdesk.quality.report import quality_report

    report = quality_report(project)
    assert set(report["raters"]) == {"ana", "ben", "cy"} and report["agreement"]["items_with_two_or_more"] == 30

    code, out, _ = cli("merge", "-p", project.path, *files.values(), "--json")
    again = json.loads(out)
    assert again["labels_added"] == 0 and again["labels_already_present"] == 61 and again["labels_refused"] == 0
    assert again["flags_added"] == 0 and again["sessions_added"] == 0 and _labels(project) == union


def test_a_file_made_apart_or_split_by_another_project_is_refused_whole(project, tmp_path, cli):
    """The same items imported elsewhere, labelled by "dee": not work this project gave out, so not merged."""
    records = pairs(10)
    import_file(project, write_jsonl(tmp_path, records))
    apart = tmp_path / "apart.prefdesk"
    with Project.create(apart) as other:
        import_file(other, write_jsonl(tmp_path, records, "again.jsonl"))  # the same items, other ids
        dee = other.ensure_rater("dee")
        for (item_id,) in other.conn.execute("SELECT id FROM items").fetchall():
            other.commit_label(item_id, dee, LabelKind.PAIRWISE, {"verdict": "B"})
        cli("split", "-p", apart, "--raters", "eve", "--out", tmp_path / "elsewhere")  # split, but not from here
    before = _labels(project)
    for path in (apart, tmp_path / "elsewhere" / "eve.prefdesk"):
        code, out, err = cli("merge", "-p", project.path, path)
        assert code == 2 and f"not a rater file split from {project.path.name}" in err and "Traceback" not in err
    assert _labels(project) == before and not list(tmp_path.glob("*.before-merge-*"))


def test_a_newer_or_foreign_file_is_refused_and_the_lead_is_left_as_it_was(project, tmp_path, cli):
    from prefdesk.store.migrations import SCHEMA_VERSION

    import_file(project, write_jsonl(tmp_path, pairs(3)))
    newer = tmp_path / "newer.prefdesk"
    with Project.create(newer) as p:
        p.commit_label(_one_item(p, tmp_path), p.ensure_rater("x"), LabelKind.PAIRWISE, {"verdict": "A"})
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.close()
    before = _labels(project)
    for path, message in ((newer, "newer PrefDesk"), (foreign, "not a PrefDesk project")):
        code, _, err = cli("merge", "-p", project.path, path)
        assert code == 2 and message in err, err
    assert _labels(project) == before and project.item_count() == 3


def _one_item(project, tmp_path) -> str:
    import_file(project, write_jsonl(tmp_path, pairs(1), "one.jsonl"))
    return project.conn.execute("SELECT id FROM items").fetchone()[0]


def test_a_label_the_rater_re_did_after_a_merge_comes_in_as_its_successor(project, tmp_path, cli):
    import_file(project, write_jsonl(tmp_path, pairs(2)))
    cli("split", "-p", project.path, "--raters", "ana", "--out", tmp_path / "team")
    path = tmp_path / "team" / "ana.prefdesk"
    with Project.open(path) as mine:
        item = mine.conn.execute("SELECT id FROM items ORDER BY id").fetchone()[0]
        first = mine.commit_label(item, mine.rater("ana"), LabelKind.PAIRWISE, {"verdict": "A"})
    assert json.loads(cli("merge", "-p", project.path, path, "--json")[1])["labels_added"] == 1
    with Project.open(path) as mine:
        mine.commit_label(item, mine.rater("ana"), LabelKind.PAIRWISE, {"verdict": "B"}, supersedes=first)
    got = json.loads(cli("merge", "-p", project.path, path, "--json")[1])
    assert got["labels_added"] == 1 and got["labels_already_present"] == 1 and got["refused"] == []
    assert [lab.payload["verdict"] for lab in project.labels(item)] == ["B"]


def test_split_refuses_bad_requests(project, tmp_path, cli):
    import_file(project, write_jsonl(tmp_path, pairs(2)))
    for args, message in ((("--raters", "ana,ana"), "each rater once"), (("--raters", "ana", "--overlap", "2"), "1 to 1")):
        code, _, err = cli("split", "-p", project.path, *args, "--out", tmp_path / "t")
        assert code == 2 and message in err
    assert cli("split", "-p", project.path, "--raters", "ana", "--out", tmp_path / "t")[0] == 0
    code, _, err = cli("split", "-p", project.path, "--raters", "ana", "--out", tmp_path / "t")
    assert code == 2 and "already there" in err


def test_file_merge_in_the_desk_brings_a_raters_file_in_and_the_queue_and_panels_see_it(
        qtbot, qt_prefs, project, tmp_path, monkeypatch):
    from desktools import shown
    from prefdesk.store import team
    from prefdesk.ui import forms
    from prefdesk.ui.desk.window import MainWindow

    import_file(project, write_jsonl(tmp_path, pairs(4)))
    project.set_settings({"gold_rate": 0.0, "overlap": 1})
    (info,) = team.split(project, ["ana"], tmp_path / "team")
    _label_all(info["path"], lambda name, prompt: "A")
    window = shown(qtbot, MainWindow(project, project.ensure_rater("lea")))
    assert window.item is not None  # the lead could label the open items
    told = []
    monkeypatch.setattr("prefdesk.ui.desk.file_menu.QFileDialog.getOpenFileNames", lambda *a, **k: ([info["path"]], ""))
    monkeypatch.setattr(forms, "tell", lambda *a: told.append(a[2]))
    window.run_named("merge")
    qtbot.waitUntil(lambda: bool(told), timeout=20000)
    assert "4 labels added" in told[0] and window.merged["labels_added"] == 4 and window.merged["conflicts"] == []
    assert project.conn.execute("SELECT COUNT(*) FROM labels").fetchone() == (4,)
    qtbot.waitUntil(lambda: window.work.remaining == 0)  # overlap 1: every item now has its rater, nothing left to serve
