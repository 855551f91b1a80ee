"""Schema changes are migrations, each run from a fixture file of the version before."""

import shutil

from prefdesk.store.migrations import SCHEMA_VERSION
from prefdesk.formats.importer import import_file
from prefdesk.store.project import Project


def test_a_version_1_project_is_backed_up_then_migrated_with_its_labels_intact(tmp_path, fixtures):
    path = tmp_path / "old.prefdesk"
    shutil.copy(fixtures / "schema_v1.prefdesk", path)
    with Project.open(path) as project:
        assert project.schema_version == SCHEMA_VERSION
        # m002 backfilled the queue columns from the labels already there
        rows = dict(project.conn.execute("SELECT prompt, n_raters FROM items").fetchall())
        assert rows == {"Which answer is kinder?": 2, "Unlabelled question": 0}
        opened = dict(project.conn.execute("SELECT prompt, open FROM items").fetchall())
        assert opened == {"Which answer is kinder?": 0, "Unlabelled question": 1}
        assert project.count("labels") == 2
    backup = tmp_path / "old.prefdesk.v1.bak"
    assert backup.exists()
    import sqlite3

    assert sqlite3.connect(backup).execute("PRAGMA user_version").fetchone()[0] == 1


def test_a_migration_that_fails_leaves_the_file_at_its_old_version(tmp_path, fixtures, monkeypatch):
    from prefdesk.store import migrations

    path = tmp_path / "old.prefdesk"
    shutil.copy(fixtures / "schema_v1.prefdesk", path)

    def broken(conn):
        conn.execute("ALTER TABLE items ADD COLUMN n_raters INTEGER")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(migrations, "MIGRATIONS", [migrations.m001_initial, broken])
    monkeypatch.setattr("prefdesk.store.project.MIGRATIONS", migrations.MIGRATIONS)
    try:
        Project.open(path)
    except RuntimeError:
        pass
    import sqlite3

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert "n_raters" not in [r[1] for r in conn.execute("PRAGMA table_info(items)")]


def test_a_migrated_project_recognises_its_items_when_they_are_imported_again(tmp_path, fixtures):
    """m004 recomputed the content hashes, so the old items are found, not added a second time."""
    path = tmp_path / "old.prefdesk"
    shutil.copy(fixtures / "schema_v1.prefdesk", path)
    src = tmp_path / "again.jsonl"
    src.write_text('{"type": "pairwise", "prompt": "Which answer is kinder?", "winner": "Thank you!", "loser": "Whatever.", '
                   '"meta": {"rater": "ana"}}\n')
    with Project.open(path) as project:
        report = import_file(project, src)
        assert (report.items_added, report.duplicate_items) == (0, 1)
        assert project.count("items") == 2
