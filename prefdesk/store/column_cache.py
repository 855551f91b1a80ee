"""Integer columns of the labels, coded in SQL once and kept in the project a range of rowids at a time.

Labels are append-only (triggers refuse an UPDATE or DELETE) and a new label's rowid is one past the largest, so the
labels of a rowid range below the largest committed rowid never change. The first read of such a range codes its
columns and stores them in `column_cache` as narrow integer arrays; every read after takes the stored arrays and
codes only the ranges not stored yet (the newest labels). A stored range is used only while its check still holds:
the id of the range's last label, with its item's and rater's rowids (what the columns are coded against), read
back by rowid. The cache name carries a hash of the SQL that codes the columns, so a change of coding never reads
arrays coded the old way.

This is the read path of the quality report over millions of labels (`quality.labels_table`) and of the item
browser's filters on a rater with many labels (`quality.browse`): 3M labels took 3.6-4.2 s to code and store on
two cores, 0.25 s to read back.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from prefdesk.store.connection import connect, read_connection
from prefdesk.store.errors import ProjectError

CHUNK = 1 << 16  # labels a stored range: the newest, not yet stored, are at most this many
_CHECK = ("SELECT l.id || ' ' || i.rowid || ' ' || r.rowid FROM labels l JOIN items i ON i.id = l.item_id "
          "JOIN raters r ON r.id = l.rater_id WHERE l.rowid = (SELECT MAX(rowid) FROM labels WHERE rowid <= ?)")
_DTYPES = (np.int8, np.int16, np.int32, np.int64)


def cache_name(coding: str, table_sql: str) -> str:
    """A coding's name in the cache: what it is for, and a hash of the SQL that codes it."""
    return f"{coding}:{hashlib.sha256(table_sql.encode()).hexdigest()[:16]}"


def _encode(table: np.ndarray) -> tuple[str, bytes]:
    """Each column in the narrowest integer type that holds it: ~40 bytes a label instead of 96."""
    dtypes, parts = [], []
    for column in table:
        lo, hi = (int(column.min()), int(column.max())) if len(column) else (0, 0)
        dtype = next(d for d in _DTYPES if np.iinfo(d).min <= lo and hi <= np.iinfo(d).max)
        dtypes.append(np.dtype(dtype).str)
        parts.append(column.astype(dtype).tobytes())
    return ",".join(dtypes), b"".join(parts)


def _decode(dtypes: str, data: bytes, rows: int) -> np.ndarray:
    out = np.empty((len(dtypes.split(",")), rows), np.int64)
    at = 0
    for k, dtype in enumerate(dtypes.split(",")):
        size = np.dtype(dtype).itemsize * rows
        out[k] = np.frombuffer(data, dtype, rows, at)
        at += size
    return out


def read_columns(conn: sqlite3.Connection, path: str | Path, coding: str, table_sql: str,
                 read: Callable[[sqlite3.Connection, tuple[int, int]], np.ndarray]) -> np.ndarray:
    """Every label's coded columns (one row a column), labels in rowid order. `read(connection, (lo, hi))` codes the
    labels with rowids in [lo, hi], on a read-only connection of its own, in a thread. Ranges already stored are taken
    from the cache; the ranges complete by now are stored for the next read (or not, where the project cannot be
    written: read-only, or another connection holds the write lock for over 0.2 s; the next read codes them again).
    `coding` names what the columns are for (the quality report's, the item browser's): each is kept apart."""
    name = cache_name(coding, table_sql)
    top = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM labels").fetchone()[0]
    stored = {first: (last, rows, check, dtypes, data) for first, last, rows, check, dtypes, data in conn.execute(
        "SELECT first, last, rows, check_row, dtypes, data FROM column_cache WHERE name = ? ORDER BY first", (name,))}
    ranges = [(lo, min(lo + CHUNK - 1, top)) for lo in range(0, top + 1, CHUNK)]
    parts: dict[int, np.ndarray] = {}
    for lo, hi in ranges:
        if lo in stored and stored[lo][0] == hi and _check(conn, hi) == stored[lo][2]:
            last, rows, _, dtypes, data = stored[lo]
            parts[lo] = _decode(dtypes, data, rows)
    missing = [r for r in ranges if r[0] not in parts]

    def one(bounds: tuple[int, int]) -> np.ndarray:
        reader = read_connection(path)
        try:
            return read(reader, bounds)
        finally:
            reader.close()

    workers = min(len(missing), os.cpu_count() or 1)
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            parts.update(zip((r[0] for r in missing), pool.map(one, missing)))
    else:
        parts.update((r[0], one(r)) for r in missing)
    complete = [(lo, hi) for lo, hi in missing if hi == lo + CHUNK - 1 and hi < top]
    if complete:
        _store(conn, path, coding, name, [(lo, hi, parts[lo]) for lo, hi in complete])
    return np.concatenate([parts[lo] for lo, _ in ranges], axis=1) if ranges else np.empty((0, 0), np.int64)


def _check(conn: sqlite3.Connection, last: int) -> str:
    row = conn.execute(_CHECK, (last,)).fetchone()
    return row[0] if row else ""


def _store(conn: sqlite3.Connection, path: str | Path, coding: str, name: str,
           chunks: list[tuple[int, int, np.ndarray]]) -> None:
    """Store complete ranges, replacing stale ones and this coding's older versions, on a connection of its own (the
    caller's may be in a transaction, or shared with a thread that writes labels). Never fails a read."""
    rows = [(name, lo, hi, table.shape[1], _check(conn, hi), *_encode(table)) for lo, hi, table in chunks]
    try:
        writer = connect(Path(path))
    except ProjectError:
        return
    try:
        writer.execute("PRAGMA busy_timeout = 200")  # optional work: never wait long behind an import or a merge
        writer.execute("BEGIN IMMEDIATE")
        try:
            writer.execute("DELETE FROM column_cache WHERE name LIKE ? AND name != ?", (f"{coding}:%", name))
            writer.executemany("INSERT OR REPLACE INTO column_cache VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            writer.execute("COMMIT")
        except BaseException:
            writer.execute("ROLLBACK")
            raise
    except sqlite3.OperationalError:  # read-only, or busy: this read stays correct, the next one codes it again
        pass
    finally:
        writer.close()
