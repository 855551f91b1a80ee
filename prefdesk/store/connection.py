"""Opening a project file: recognising it as ours before anything writes to it, the connection's
durability settings, and the errors a file can raise (`store.errors`)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from prefdesk.store.errors import ProjectError
from prefdesk.store.migrations import APPLICATION_ID, SCHEMA_VERSION


# 16 KB pages for new files (SQLite's default is 4 KB): candidate texts of a few KB fit a page instead
# of an overflow chain, and a bulk import writes ~20% faster (1M-record benchmark). Older files keep theirs.
PAGE_SIZE = 16384


_OUR_TABLES = {"settings", "raters", "items", "labels"}


def identify(path: Path) -> None:
    """Refuse, without writing a byte, a file that is not a PrefDesk project this app can open: missing,
    empty, not SQLite, another program's database, or written by a newer PrefDesk. A project from before
    application ids (id 0) is recognised by its tables and gets the id when it is next migrated.

    Only SQLite reads the file. POSIX locks belong to the process, and closing any descriptor of the file
    drops them all: a Python `open()` of the header here, while the desk holds a connection, let the next
    process to close the project delete the WAL the desk was still writing into (SQLite's "How To Corrupt
    An SQLite Database File", 2.2). SQLite's own descriptors are shared per file and closed safely."""
    try:
        size = os.stat(path).st_size  # a stat opens no descriptor
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such project file") from None
    except OSError as exc:
        raise ProjectError(f"{path}: cannot be read ({exc.strerror})") from exc
    if not os.path.isfile(path):
        raise ProjectError(f"{path}: not a PrefDesk project file (not a file)")
    if size == 0:
        raise ProjectError(f"{path}: an empty file, not a PrefDesk project (create one with `prefdesk new`)")
    if size < 100:
        raise ProjectError(f"{path}: not a PrefDesk project file (not an SQLite database)")
    try:
        app_id, version, tables = _header(read_connection(path))
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise ProjectError(f"{path}: busy: a large import is writing it and has it to itself until it "
                               f"is done; open it again then") from exc
        if not os.path.exists(f"{path}-journal"):
            raise ProjectError(f"{path}: cannot be read to check it is a PrefDesk project ({exc})") from exc
        # a hot journal left by a crashed large import, which only a writer may roll back: SQLite rolls it
        # back on this read-write connection (what any program opening it does), then the header is read
        try:
            app_id, version, tables = _header(sqlite3.connect(path, isolation_level=None))
        except sqlite3.DatabaseError as exc2:
            raise ProjectError(f"{path}: cannot be read to check it is a PrefDesk project ({exc2})") from exc2
    except sqlite3.DatabaseError as exc:
        why = "not an SQLite database" if "not a database" in str(exc) else str(exc)
        raise ProjectError(f"{path}: not a PrefDesk project file ({why})") from exc
    if app_id != APPLICATION_ID and not (app_id == 0 and version >= 1 and _OUR_TABLES <= tables):
        raise ProjectError(f"{path}: not a PrefDesk project file (another program's SQLite database; "
                           "PrefDesk leaves it as it is)")
    if version > SCHEMA_VERSION:
        raise ProjectError(f"{path}: this project was written by a newer PrefDesk (schema {version}; this app "
                           f"knows up to {SCHEMA_VERSION}). Update PrefDesk to open it.")


def _header(conn: sqlite3.Connection) -> tuple[int, int, set[str]]:
    """The application id, schema version and table names, read through SQLite; closes the connection."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()
    return app_id, version, tables


def backup_copy(source: str | Path | sqlite3.Connection, target: Path) -> None:
    """Copy a project (a path, or an open connection's database) to `target` with SQLite's backup API: the
    one way this app copies a project file (a file copy would close a descriptor and drop the process's
    locks; see `identify`). A path is read through a read-only connection, so the source is never changed."""
    src = read_connection(source) if not isinstance(source, sqlite3.Connection) else source
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        if src is not source:
            src.close()


def refuse_project_file(path: str | Path, project_path: str | Path) -> None:
    """Refuse an input file that is the project file (or its -wal / -shm): reading it with a plain open() in this
    process would drop the project connection's POSIX locks. Compared by stat, which opens nothing."""
    try:
        mine = os.stat(path)
    except OSError:
        return  # the reader says what is wrong with it
    for name in (str(project_path), f"{project_path}-wal", f"{project_path}-shm"):
        try:
            other = os.stat(name)
        except OSError:
            continue
        if (mine.st_dev, mine.st_ino) == (other.st_dev, other.st_ino):
            raise ProjectError(f"{path}: this is the project file itself (or its journal), not a file to read in")


def read_connection(path: str | Path) -> sqlite3.Connection:
    """A read-only connection to a project file: the one way code off the main connection reads (workers,
    background counts). It never writes, so it never changes the file or takes its write lock."""
    return sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, check_same_thread=False)


def connect(path: Path, create: bool = False) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise ProjectError(f"{path}: cannot be opened ({exc})") from exc
    try:
        if create:
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # only a new, empty file takes it
        conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.OperationalError as exc:
        conn.close()
        if "locked" not in str(exc):
            raise ProjectError(f"{path}: cannot be opened ({exc})") from exc
        raise ProjectError(f"{path}: busy: a large import is writing it and has it to itself until it "
                           f"is done; open it again then") from exc
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ProjectError(f"{path}: not a PrefDesk project file ({exc})") from exc
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA cache_size = -65536")
    return conn
