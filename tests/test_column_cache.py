"""The quality report's reads kept ready (issue 23): the labels' coded columns stored a rowid range at a time
(`store.column_cache`) and `items.longer`. A report that reads them back must say exactly what a report that codes
every label again says, as labels arrive, are edited, and when a stored range no longer matches the file."""

import json
import shutil
import sqlite3

import pytest

from simteam import simulate


@pytest.fixture
def team(tmp_path, monkeypatch):
    """The simulated team's project, its ranges 50 labels long (a real project's are 65,536)."""
    from prefdesk.formats.importer import import_file
    from prefdesk.store import column_cache
    from prefdesk.store.project import Project

    monkeypatch.setattr(column_cache, "CHUNK", 50)
    simulate(tmp_path / "team.jsonl")
    path = tmp_path / "team.prefdesk"
    with Project.create(path) as project:
        import_file(project, tmp_path / "team.jsonl", format_name="labels")
    return path


def _report(project, cached: bool) -> dict:
    from prefdesk.quality.report import quality_report

    if not cached:
        project.conn.execute("DELETE FROM column_cache")
    return json.loads(json.dumps(quality_report(project)))  # as the CLI prints it: nan and numpy types out


def _stored(project) -> list[tuple]:
    return project.conn.execute("SELECT first, last, rows FROM column_cache ORDER BY first").fetchall()


def test_a_report_from_stored_columns_says_what_a_report_coding_every_label_says(team):
    from prefdesk.domain import LabelKind
    from prefdesk.store.project import Project

    with Project.open(team) as project:
        labels = project.count("labels")
        fresh = _report(project, cached=False)
        stored = _stored(project)
        # every complete range below the newest label is stored; the newest, still filling, is not
        assert [first for first, _, _ in stored] == list(range(0, labels - 49, 50)) and stored[-1][1] < labels
        assert _report(project, cached=True) == fresh
        # labels arrive and one is edited (a superseded label leaves every figure): the stored ranges stay good
        items = [r[0] for r in project.conn.execute("SELECT id FROM items WHERE kind = 'pairwise' LIMIT 70")]
        old = project.labels(items[0])[0]
        rater = project.ensure_rater(project.conn.execute("SELECT name FROM raters WHERE id = ?",
                                                          (old.rater_id,)).fetchone()[0])
        newest = [project.commit_label(item, project.ensure_rater("zed"), LabelKind.PAIRWISE,
                                       {"verdict": "A", "dims": {}}, duration_ms=900, display_order=(1, 0))
                  for item in items]
        project.commit_label(items[0], rater, LabelKind.PAIRWISE, {"verdict": "tie", "dims": {}}, supersedes=old)
        warm = _report(project, cached=True)
        assert len(_stored(project)) > len(stored)  # the ranges the new labels completed were stored
        assert warm == _report(project, cached=False)
        assert warm["raters"]["zed"]["labels"] == len(newest) and warm["labels"] == fresh["labels"] + len(newest)


def test_a_stored_range_that_no_longer_matches_the_file_is_coded_again(team):
    from prefdesk.store.project import Project

    with Project.open(team) as project:
        fresh = _report(project, cached=False)
        # a range stored for another file (its last label another one) with nonsense in it: never read
        project.conn.execute("UPDATE column_cache SET check_row = 'someone-else 1 1', data = zeroblob(length(data)) "
                             "WHERE first = 50")
        assert _report(project, cached=True) == fresh
        check = project.conn.execute("SELECT check_row FROM column_cache WHERE first = 50").fetchone()[0]
        last_id = project.conn.execute("SELECT id FROM labels WHERE rowid = 99").fetchone()[0]
        assert check.split()[0] == last_id  # stored again, for this file


def test_a_change_of_coding_drops_the_columns_coded_the_old_way(team, monkeypatch):
    from prefdesk.quality import labels_table
    from prefdesk.store.project import Project

    with Project.open(team) as project:
        fresh = _report(project, cached=True)
        old_names = {r[0] for r in project.conn.execute("SELECT DISTINCT name FROM column_cache")}
        monkeypatch.setattr(labels_table, "_LABELS", labels_table._LABELS + " ")  # any change of the SQL
        assert _report(project, cached=True) == fresh
        names = {r[0] for r in project.conn.execute("SELECT DISTINCT name FROM column_cache")}
        assert len(names) == 1 and not names & old_names


def test_a_project_busy_with_a_writer_is_reported_on_all_the_same(team):
    """Another process holds the write lock (a big import): the report reads as ever and stores nothing, at once."""
    import time

    from prefdesk.store.project import Project

    with Project.open(team) as project:
        fresh = _report(project, cached=False)
        project.conn.execute("DELETE FROM column_cache")
        importer = sqlite3.connect(team, isolation_level=None)
        importer.execute("BEGIN IMMEDIATE")
        try:
            began = time.perf_counter()
            assert _report(project, cached=True) == fresh
            assert time.perf_counter() - began < 4  # not the connections' 5 s busy timeout
        finally:
            importer.execute("ROLLBACK")
            importer.close()
        assert _stored(project) == []
        _report(project, cached=True)
        assert _stored(project)  # stored by the next report, once the writer is done


def test_which_answer_is_longer_is_kept_by_sqlite_as_candidates_come_and_change(project, tmp_path):
    from prefdesk.formats.importer import import_file
    from prefdesk.quality.labels_table import _longer

    rows = [("A is longer", "a much longer answer", "short"), ("B is longer", "short", "a much longer answer"),
            ("equal", "same1", "same2")]
    src = tmp_path / "pairs.jsonl"
    src.write_text("".join(json.dumps({"prompt": p, "responses": [a, b]}) + "\n" for p, a, b in rows)
                   + json.dumps({"prompt": "three", "responses": ["x", "yy", "zzz"]}) + "\n")  # a ranking
    import_file(project, src)
    at = dict(project.conn.execute("SELECT prompt, rowid FROM items"))
    slots = max(at.values()) + 1
    longer = _longer(project.conn, slots)
    assert [longer[at[p]] for p in ("A is longer", "B is longer", "equal", "three")] == [0, 1, -1, -1]
    with project.transaction() as conn:  # the candidates change (a merge brings a fuller item, a rewrite edits one)
        conn.execute("UPDATE items SET candidates = json_set(candidates, '$[1].text', 'the longest answer of all here') "
                     "WHERE rowid = ?", (at["A is longer"],))
    assert _longer(project.conn, slots)[at["A is longer"]] == 1


def test_an_old_project_gains_the_longer_column_when_migrated(tmp_path, fixtures):
    from prefdesk.quality.labels_table import _longer
    from prefdesk.store.project import Project

    path = tmp_path / "old.prefdesk"
    shutil.copy(fixtures / "schema_v1.prefdesk", path)
    with Project.open(path) as project:
        rowid, a, b = project.conn.execute(
            "SELECT rowid, length(json_extract(candidates, '$[0].text')), length(json_extract(candidates, '$[1].text')) "
            "FROM items WHERE prompt = 'Which answer is kinder?'").fetchone()
        slots = project.conn.execute("SELECT MAX(rowid) + 1 FROM items").fetchone()[0]
        assert _longer(project.conn, slots)[rowid] == (0 if a > b else 1)
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM column_cache").fetchone()[0] == 0
