"""The one rule of who counts as an item's rater (the overlap target: how many raters an item wants) and the
one recount of it, for every writer: a label, an import, a merge, an exchange."""

from __future__ import annotations

import json
import sqlite3

# A rewrite is extra work on an item, not the rater's verdict on it: it does not take the item out of the
# rater's queue, count towards the overlap, or come back on Undo. Every query that asks "has this rater
# judged this item" filters with this.
VERDICTS_ONLY = "kind != 'rewrite'"
# What makes a rater one of an item's raters (the overlap): a verdict of theirs, not an arbitration decision
# and not a public dataset's reference label. Every count of an item's raters uses this.
COUNTS_TOWARD_OVERLAP = f"{VERDICTS_ONLY} AND source NOT IN ('arbitration', 'reference')"


def recount_raters(conn: sqlite3.Connection, item_ids: list[str], overlap: int) -> None:
    """Count each item's raters again (`COUNTS_TOWARD_OVERLAP`) and open or close it for the overlap."""
    touched = json.dumps(sorted(set(item_ids)))
    conn.execute(f"UPDATE items SET n_raters = (SELECT COUNT(DISTINCT rater_id) FROM labels WHERE item_id = items.id "
                 f"AND {COUNTS_TOWARD_OVERLAP}) WHERE id IN (SELECT value FROM json_each(?))", (touched,))
    conn.execute("UPDATE items SET open = n_raters < ? WHERE id IN (SELECT value FROM json_each(?))", (overlap, touched))
