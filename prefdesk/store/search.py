"""Full-text search over items: prompts and candidate texts, through SQLite's FTS5 (migration 16).

The index is built on the first search (a million short items: see the Items benchmark) and caught up at
every search after from the rowid where it stopped, so imports never pay for it; candidates changed on an
indexed item (a rewrite, a merge) are re-indexed by a trigger. What a person types is matched word by word
(every word must occur, the last one as a prefix), never parsed as FTS5 syntax: `"`, `*`, `AND` or a `-`
in a search cannot make it fail.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from prefdesk.store.project import Project

CHUNK = 5_000  # a transaction of ~40 ms on this VM: a desk writing meanwhile waits less than its 150 ms
_ANSWERS = "(SELECT group_concat(json_extract(value, '$.text'), char(10)) FROM json_each(items.candidates))"
_WORD = re.compile(r"\w+", re.UNICODE)


def behind(project: Project) -> int:
    """How many items the index has not seen yet."""
    conn = project.conn
    (upto,) = conn.execute("SELECT upto FROM search_state").fetchone()
    return conn.execute("SELECT COUNT(*) FROM items WHERE rowid > ?", (upto,)).fetchone()[0]


def catch_up(project: Project, progress: Callable[[int], None] | None = None) -> int:
    """Index the items added since the last search, a chunk per transaction; returns how many it indexed.
    Run it where a wait is fine (the Items panel runs it off the GUI thread, on its own connection)."""
    done = 0
    while True:
        with project.transaction() as conn:
            (upto,) = conn.execute("SELECT upto FROM search_state").fetchone()
            last = conn.execute("SELECT MAX(rowid) FROM (SELECT rowid FROM items WHERE rowid > ? ORDER BY rowid LIMIT ?)",
                                (upto, CHUNK)).fetchone()[0]
            if last is None:
                return done
            added = conn.execute(f"INSERT INTO items_fts (rowid, prompt, answers) SELECT rowid, prompt, {_ANSWERS} "
                                 "FROM items WHERE rowid > ? AND rowid <= ?", (upto, last)).rowcount
            conn.execute("UPDATE search_state SET upto = ?", (last,))
        done += added
        if progress:
            progress(done)


def match_expression(text: str) -> str | None:
    """FTS5 query for what a person typed: each word quoted, the last one a prefix; None when no word."""
    words = _WORD.findall(text)
    if not words:
        return None
    return " ".join(f'"{w}"' for w in words[:-1]) + (" " if len(words) > 1 else "") + f'"{words[-1]}"*'


MATCHING_ROWIDS = "SELECT rowid FROM items_fts WHERE items_fts MATCH ?"  # one parameter: a `match_expression`
