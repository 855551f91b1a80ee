"""The one rule of who counts as an item's rater (the overlap target: how many raters an item wants) and the
one recount of it, for every writer: a label, an import, a merge, an exchange."""

from __future__ import annotations

import json
import sqlite3

# A rewrite is extra work on an item, not the rater's verdict on it: it does not take the item out of the
# rater's queue, count towards the overlap, or come back on Undo. Every query that asks "has this rater
# judged this item" filters with this.
VERDICTS_ONLY = "kind != 'rewrite'"
# Sources whose labels are not a team member's vote on an item: an arbitration decision, a public dataset's
# reference label, and the weak layers beside people (a model judge, a rule, a product's users' online feedback). They never take an item out of
# people's queues, count toward its overlap, or make a dispute.
NOT_VOTES = ("arbitration", "reference", "model-judge", "rule", "online-feedback")
_NOT_VOTES_SQL = ", ".join(f"'{s}'" for s in NOT_VOTES)
# What makes a rater one of an item's raters (the overlap): a verdict of theirs from a vote's source. Every
# count of an item's raters uses this.
COUNTS_TOWARD_OVERLAP = f"{VERDICTS_ONLY} AND source NOT IN ({_NOT_VOTES_SQL})"
IS_A_VOTE = f"source NOT IN ({_NOT_VOTES_SQL})"
# An item is open (people are served it) while it is short of its overlap (bound as ?) and not held back from
# people (a rule's drop, a confident judge's routing: `items.held_back`).
OPEN = "(n_raters < ? AND held_back IS NULL)"


def recount_raters(conn: sqlite3.Connection, item_ids: list[str], overlap: int) -> None:
    """Count each item's raters again (`COUNTS_TOWARD_OVERLAP`) and open or close it for the overlap."""
    touched = json.dumps(sorted(set(item_ids)))
    conn.execute(f"UPDATE items SET n_raters = (SELECT COUNT(DISTINCT rater_id) FROM labels WHERE item_id = items.id "
                 f"AND {COUNTS_TOWARD_OVERLAP}) WHERE id IN (SELECT value FROM json_each(?))", (touched,))
    conn.execute(f"UPDATE items SET open = {OPEN} WHERE id IN (SELECT value FROM json_each(?))", (overlap, touched))
