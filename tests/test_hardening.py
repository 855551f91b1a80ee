"""Bad input and faults: files that are not ours stay untouched, exports are whole or absent (issue 10)."""

import hashlib
import sqlite3

import pytest

from prefdesk.store.migrations import SCHEMA_VERSION
from prefdesk.store.project import APPLICATION_ID, Project, ProjectError


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_empty_file_given_as_a_project_is_refused_and_stays_empty(cli, tmp_path):
    empty = tmp_path / "empty.prefdesk"
    empty.touch()
    code, _, err = cli("stats", "-p", empty)
    assert code == 2 and "an empty file, not a PrefDesk project" in err
    assert empty.stat().st_size == 0 and not list(tmp_path.glob("empty.prefdesk-*"))


@pytest.mark.parametrize("tables", ["CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)",
                                    "CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT)"])
def test_another_programs_database_is_refused_and_not_changed(cli, tmp_path, tables):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute(tables)
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    before = digest(other)
    for args in (("stats", "-p", other), ("config", "-p", other), ("export", "-p", other, "--format", "seed",
                                                                 "--out", tmp_path / "out")):
        code, _, err = cli(*args)
        assert code == 2 and "another program's SQLite database" in err
    assert digest(other) == before and not list(tmp_path.glob("other.db-*"))


def test_a_newer_project_in_rollback_journal_mode_is_refused_without_switching_it_to_wal(tmp_path):
    path = tmp_path / "newer.prefdesk"
    Project.create(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = digest(path)
    with pytest.raises(ProjectError, match="newer PrefDesk"):
        Project.open(path)
    assert digest(path) == before
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_new_projects_carry_the_application_id_and_older_ones_get_it_when_migrated(tmp_path, fixtures):
    import shutil

    with Project.create(tmp_path / "new.prefdesk") as project:
        assert project.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    old = tmp_path / "old.prefdesk"
    shutil.copy(fixtures / "schema_v1.prefdesk", old)  # written before application ids
    with Project.open(old) as project:
        assert project.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
