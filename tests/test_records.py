"""Records a new user found wrong (issue 18, part 3): each stored or reported value read back."""

import json

import pytest

from desktools import pairs, write_jsonl
from prefdesk.domain import LabelKind
from prefdesk.formats.importer import import_file
from prefdesk.store.project import Project


def test_config_applies_every_set_flag_and_refuses_a_setting_given_twice(cli, tmp_path):
    path = tmp_path / "p.prefdesk"
    Project.create(path).close()
    code, out, err = cli("config", "-p", path, "--set", 'dimensions=["accuracy", "safety"]', "--set", "overlap=3",
                         "--set", "gold_rate=0.1")
    assert code == 0, err
    with Project.open(path) as p:
        assert p.settings["dimensions"] == ["accuracy", "safety"] and p.settings["overlap"] == 3
        assert p.settings["gold_rate"] == 0.1
    code, _, err = cli("config", "-p", path, "--set", "overlap=2", "--set", "overlap=4")
    assert code != 0 and "overlap" in err and "twice" in err
    with Project.open(path) as p:
        assert p.settings["overlap"] == 3


def test_a_prm800k_record_with_an_impossible_total_time_is_refused_with_its_line(cli, tmp_path, fixtures):
    lines = (fixtures / "prm800k-format-sample.jsonl").read_text().splitlines()
    bad = json.loads(lines[1])
    bad["label"]["total_time"] = 2 ** 64 - 1
    path = tmp_path / "prm.jsonl"
    path.write_text("\n".join([lines[0], json.dumps(bad), *lines[2:]]) + "\n")
    project = tmp_path / "p.prefdesk"
    Project.create(project).close()
    code, out, err = cli("import", path, "-p", project)
    assert code != 0 and "Traceback" not in err
    assert f"{path}:2: label.total_time:" in err
    with Project.open(project) as p:
        assert p.count("items") == 0 and p.count("labels") == 0


def test_the_export_manifest_lists_the_guideline_versions_of_the_labels_it_holds(project, tmp_path, cli):
    import_file(project, write_jsonl(tmp_path, pairs(5)))
    ana = project.ensure_rater("ana")
    items = [i for (i,) in project.conn.execute("SELECT id FROM items ORDER BY id")]
    for item in items[:3]:
        project.commit_label(item, ana, LabelKind.PAIRWISE, {"verdict": "A"})
    project.set_guidelines("v2", "# v2\nStricter.")
    for item in items[3:]:
        project.commit_label(item, ana, LabelKind.PAIRWISE, {"verdict": "B"})
    project.set_guidelines("v3", "# v3\nNo labels yet under this one.")
    code, _, err = cli("export", "-p", project.path, "--format", "trl-preference", "--out", tmp_path / "out")
    assert code == 0, err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["files"]["preference.jsonl"]["labels_by_guideline_version"] == {"v1": 3, "v2": 2}
    assert manifest["guideline_version_in_force"] == "v3" and "guideline_version" not in manifest


def test_a_public_datasets_labels_are_a_reference_not_a_rater(project, fixtures, tmp_path, cli):
    """HH-RLHF's chosen side: compared with, exported where the team has no label, never counted, disputed
    with or voted with."""
    from prefdesk.formats.export import export_dataset
    from prefdesk.quality import arbitration
    from prefdesk.quality.aggregate import Policy
    from prefdesk.quality.report import quality_report

    project.set_settings({"overlap": 2})
    report = import_file(project, fixtures / "hh_rlhf_20.jsonl")
    assert report.labels_added == 20
    assert project.conn.execute("SELECT DISTINCT source FROM labels").fetchall() == [("reference",)]
    assert project.conn.execute("SELECT SUM(n_raters), SUM(open) FROM items").fetchone() == (0, 20)
    items = [i for (i,) in project.conn.execute("SELECT id FROM items ORDER BY id")]
    ana, ben = project.ensure_rater("ana"), project.ensure_rater("ben")
    # the reference chose A on every HH item (chosen is stored as candidate 0)
    assert {lab.payload["verdict"] for i in items for lab in project.labels(i)} == {"A"}
    project.commit_label(items[0], ana, LabelKind.PAIRWISE, {"verdict": "B"})  # against the reference
    project.commit_label(items[0], ben, LabelKind.PAIRWISE, {"verdict": "A"})  # a 1-1 split of the team
    project.commit_label(items[1], ana, LabelKind.PAIRWISE, {"verdict": "B"})
    project.commit_label(items[1], ben, LabelKind.PAIRWISE, {"verdict": "B"})
    assert project.conn.execute("SELECT n_raters, open FROM items WHERE id = ?", (items[0],)).fetchone() == (2, 0)
    code, out, _ = cli("stats", "-p", project.path, "--json")
    stats = json.loads(out)
    assert stats["items_over_overlap"] == 0 and stats["items_short_of_overlap"] == 18
    # a rater against the reference opens no dispute; the team's own 1-1 split does (no majority)
    assert [d.item_id for d in arbitration.disputes(project)] == [items[0]]
    assert all(lab.source.value != "reference" for lab in arbitration.disputes(project)[0].labels)
    done = export_dataset(project, "trl-preference", tmp_path / "out", Policy("majority"))
    rows = [json.loads(line) for line in (tmp_path / "out" / "preference.jsonl").read_text().splitlines()]
    assert done.written == 19  # the 1-1 split is left out, not settled by the reference
    hh = [json.loads(line) for line in (fixtures / "hh_rlhf_20.jsonl").read_text().splitlines()]
    row_of_item1 = next(r for r in rows if r["label_ids"] == [lab.id for lab in project.labels(items[1])
                                                               if lab.source.value == "human"])
    assert row_of_item1["weight"] == 1.0 and row_of_item1["chosen"] == project.item(items[1]).candidates[1].text
    assert sum(1 for r in rows if len(r["label_ids"]) == 1) == 18 and len(hh) == 20  # the references stand in
    quality = quality_report(project)
    assert set(quality["raters"]) == {"ana", "ben"}
    ref = quality["reference"]
    assert ref["items_with_reference"] == 20 and ref["team"]["compared"] == 4
    assert ref["raters"]["ana"] == {"compared": 2, "agreement": 0.0} and ref["raters"]["ben"]["agreement"] == 0.5


def test_labels_as_votes_keeps_a_datasets_labels_as_team_votes(project, fixtures, cli):
    code, _, err = cli("import", fixtures / "hh_rlhf_20.jsonl", "-p", project.path, "--labels-as", "votes")
    assert code == 0, err
    assert project.conn.execute("SELECT DISTINCT source FROM labels").fetchall() == [("import",)]
    assert project.conn.execute("SELECT SUM(n_raters) FROM items").fetchone() == (20,)


HOSTILE = '<img src="file:///dev/zero">'


def test_names_with_html_are_shown_as_text_in_the_quality_and_versions_panels(qtbot, qt_prefs, project, tmp_path):
    """A rater or version name is text: `<img src="file:///dev/zero">` made the desk read /dev/zero."""
    from PySide6.QtCore import Qt

    from desktools import press, shown
    from prefdesk.store import versions
    from prefdesk.ui.desk.window import MainWindow

    import_file(project, write_jsonl(tmp_path, pairs(4)))
    project.set_settings({"gold_rate": 0.0})
    rater = project.ensure_rater(HOSTILE)
    for (item,) in project.conn.execute("SELECT id FROM items").fetchall():
        project.commit_label(item, rater, LabelKind.PAIRWISE, {"verdict": "A"})
    versions.create(project, HOSTILE)
    window = shown(qtbot, MainWindow(project, rater))
    press(qtbot, window, (Qt.Key_Q, Qt.ControlModifier | Qt.ShiftModifier))
    qtbot.waitUntil(lambda: window.quality_panel.report is not None, timeout=20000)
    assert "&lt;img" in window.quality_panel.summary.text() and "<img" not in window.quality_panel.summary.text()
    window.set_project(project, project.ensure_rater("lea", "expert"))
    shown(qtbot, window)
    press(qtbot, window, (Qt.Key_V, Qt.ControlModifier | Qt.ShiftModifier))
    panel = window.versions_panel
    qtbot.waitUntil(lambda: panel.pareto_version.count() == 1, timeout=10000)
    panel.show_pareto()
    assert "&lt;img" in panel.pareto_legend.text() and "<img" not in panel.pareto_legend.text()


def test_the_desk_cannot_start_while_a_merge_holds_the_lead_and_says_so(qt_prefs, tmp_path, monkeypatch):
    from prefdesk.ui import app

    path = tmp_path / "lead.prefdesk"
    with Project.create(path) as p:
        import_file(p, write_jsonl(tmp_path, pairs(3)))
        p.ensure_rater("ana")
    told = []
    monkeypatch.setattr("prefdesk.ui.forms.tell", lambda parent, title, text, icon=None: told.append(text))
    holder = Project.open(path)
    with holder.bulk_write():  # what a merge does for as long as it runs
        code = app.run_desk(str(path), "ana", quit_after_ms=100)
    holder.close()
    assert code == 2 and len(told) == 1 and "is busy" in told[0] and "merge" in told[0]


def _fill_disk(conn):
    """The file may grow no more: SQLite then answers "database or disk is full", as on a full disk."""
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")


def test_on_a_full_disk_a_verdict_key_says_the_label_was_not_stored_and_it_can_be_given_again(
        desk, qtbot, project, monkeypatch):
    from PySide6.QtCore import Qt

    from desktools import press

    told = []
    monkeypatch.setattr("prefdesk.ui.forms.tell", lambda parent, title, text, icon=None: told.append((title, text)))
    window = desk([{"prompt": f"q{i}", "response_a": "x" * 20000, "response_b": f"b{i}"} for i in range(3)])
    item = window.item.id
    project.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _fill_disk(project.conn)
    big = "a long rationale " * 4000
    window.side.rationale.setPlainText(big)  # a label that needs new pages
    press(qtbot, window, Qt.Key_1)
    assert told and told[0][0] == "The label was not stored" and "full" in told[0][1]
    assert window.item.id == item and "NOT stored" in window.statusBar().currentMessage()
    assert project.conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 0
    project.conn.execute("PRAGMA max_page_count = 1073741823")  # room again
    press(qtbot, window, Qt.Key_1)
    (payload,) = [json.loads(p) for (p,) in project.conn.execute("SELECT payload FROM labels")]
    assert payload["rationale"] == big.strip() and window.item.id != item


def test_on_a_full_disk_import_and_version_create_say_so_without_a_traceback(tmp_path, cli, monkeypatch):
    import sqlite3

    from prefdesk.store import connection

    path = tmp_path / "p.prefdesk"
    with Project.create(path) as p:
        import_file(p, write_jsonl(tmp_path, pairs(3000)))
        ana = p.ensure_rater("ana")
        with p.transaction():  # a version of these needs more than a page: its label ids are ~40 KB
            for (item,) in p.conn.execute("SELECT id FROM items").fetchall():
                p.commit_label(item, ana, LabelKind.PAIRWISE, {"verdict": "A"})
        p.conn.execute("CREATE TABLE filler (x BLOB)")  # the room left in the file's pages taken too
        _fill_disk(p.conn)
        with pytest.raises(sqlite3.OperationalError, match="full"):
            for _ in range(100_000):
                p.conn.execute("INSERT INTO filler VALUES (zeroblob(200))")
    real = connection.connect

    def full(path, create=False):
        conn = real(path, create)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _fill_disk(conn)
        return conn
    monkeypatch.setattr(connection, "connect", full)
    monkeypatch.setattr("prefdesk.store.project.connect", full)
    big = [{"prompt": f"p{i}" * 500, "response_a": "a" * 3000, "response_b": "b" * 3000} for i in range(200)]
    for args in (["import", write_jsonl(tmp_path, big, "big.jsonl"), "-p", path],
                 ["version", "create", "v1", "-p", path]):
        code, _, err = cli(*args)
        assert code == 2 and "full" in err and "Traceback" not in err and "no transaction" not in err, (args, err)
    monkeypatch.undo()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 3000
    assert conn.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == 0
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_desk_closed_while_a_panel_computes_waits_for_it_and_ends_without_an_error(tmp_path):
    """Found by the ledger soak: the desk quit while the Quality panel's report was computing, and the worker
    then emitted into a deleted application ("Signal source has been deleted")."""
    import subprocess
    import sys
    import textwrap

    path = tmp_path / "p.prefdesk"
    with Project.create(path) as p:
        import_file(p, write_jsonl(tmp_path, pairs(300)))
        for name in ("ana", "ben"):
            rater = p.ensure_rater(name, "expert")
            with p.transaction():
                for (item,) in p.conn.execute("SELECT id FROM items").fetchall():
                    p.commit_label(item, rater, LabelKind.PAIRWISE, {"verdict": "A" if name == "ana" else "B"})
    script = textwrap.dedent(f"""
        from PySide6.QtWidgets import QApplication
        from prefdesk.store.project import Project
        from prefdesk.ui.desk.window import MainWindow
        app = QApplication([])
        project = Project.open({str(path)!r})
        window = MainWindow(project, project.ensure_rater("ana"))
        window.show()
        window.run_named("quality")
        window.close()  # at once, the report still computing
        print("closed", window.quality_panel is None or not window.quality_panel.isVisible(), flush=True)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0 and "closed" in done.stdout, done.stderr
    assert "Traceback" not in done.stderr and "has been deleted" not in done.stderr, done.stderr
