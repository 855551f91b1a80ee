"""The project file keeps every committed label and never rewrites one."""

import sqlite3

import pytest

from prefdesk.domain import LabelKind, RaterRole
from prefdesk.formats.importer import import_file
from prefdesk.store.migrations import SCHEMA_VERSION
from prefdesk.store.project import Project, ProjectError


def pairwise(verdict="A", **extra):
    return {"verdict": verdict, "strength": None, "dims": {}, "reason_tags": [], "rationale": None, **extra}


def test_new_project_uses_wal_full_sync_and_foreign_keys(project):
    conn = project.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    assert project.schema_version == SCHEMA_VERSION


def test_a_committed_label_is_visible_to_a_second_connection_at_once(project, fixtures):
    import_file(project, fixtures / "unlabelled.jsonl")
    rater = project.ensure_rater("ana", RaterRole.EXPERT, level="senior")
    item_id = project.conn.execute("SELECT id FROM items WHERE kind = 'pairwise'").fetchone()[0]
    label = project.commit_label(item_id, rater, LabelKind.PAIRWISE, pairwise("B"), duration_ms=1234, display_order=(1, 0))
    other = sqlite3.connect(project.path)
    row = other.execute("SELECT rater_id, duration_ms, display_order, guideline_version, app_version, source "
                        "FROM labels WHERE id = ?", (label.id,)).fetchone()
    assert row == (rater.id, 1234, "[1, 0]", "v1", "0.1.0", "human")


def test_an_edit_supersedes_and_the_old_row_stays(project, fixtures):
    import_file(project, fixtures / "unlabelled.jsonl")
    rater = project.ensure_rater("ana")
    item_id = project.conn.execute("SELECT id FROM items WHERE kind = 'pairwise'").fetchone()[0]
    first = project.commit_label(item_id, rater, LabelKind.PAIRWISE, pairwise("A"))
    second = project.commit_label(item_id, rater, LabelKind.PAIRWISE, pairwise("B"), supersedes=first)
    assert [lab.id for lab in project.labels(item_id)] == [second.id]
    assert [lab.id for lab in project.labels(item_id, current_only=False)] == [first.id, second.id]
    with pytest.raises(ProjectError):
        project.commit_label(item_id, rater, LabelKind.PAIRWISE, pairwise("tie"), supersedes=first)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        project.conn.execute("UPDATE labels SET payload = '{}' WHERE id = ?", (first.id,))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        project.conn.execute("DELETE FROM labels")
    # one rater counts once towards overlap, however often they edit
    assert project.conn.execute("SELECT n_raters FROM items WHERE id = ?", (item_id,)).fetchone()[0] == 1


def test_ids_are_time_ordered_uuid7():
    from prefdesk.store.ids import uuid7

    ids = [uuid7() for _ in range(5000)]
    assert ids == sorted(ids) and len(set(ids)) == 5000
    assert all(i[14] == "7" and i[19] in "89ab" for i in ids)


def test_a_file_from_a_newer_app_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "future.prefdesk"
    Project.create(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ProjectError, match="newer PrefDesk"):
        Project.open(path)


def test_create_refuses_to_overwrite_and_open_refuses_a_missing_or_foreign_file(tmp_path):
    path = tmp_path / "a.prefdesk"
    Project.create(path).close()
    with pytest.raises(ProjectError, match="already there"):
        Project.create(path)
    with pytest.raises(ProjectError, match="no such project"):
        Project.open(tmp_path / "missing.prefdesk")
    junk = tmp_path / "junk.prefdesk"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProjectError, match="not a PrefDesk project"):
        Project.open(junk)
