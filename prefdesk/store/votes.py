"""One current vote per rater, item and round, held by the project file itself rather than by each caller.

A vote is a verdict (not a rewrite) from a vote's source: a person's, or one imported as a team member's; not
an arbitration decision, a public dataset's reference, a judge's or a rule's (`overlap.COUNTS_TOWARD_OVERLAP`).
Two rules of the schema (migration 23) make a second current vote of a rater on an item in a round impossible:
- `labels_one_vote`, a partial unique index: among votes, one label per (item, rater, round) that supersedes
  none, the root of the rater's chain of edits there;
- `labels_supersede_rules`, a trigger: a label supersedes only a current label (not superseded, not retired) of
  its own item, rater, round, kind and source, and that label only once;
so each (item, rater, round) holds one chain of edits, and its last label is the rater's one current vote. A
round-2 label is a re-annotation (the flip rate reads it beside round 1), never a second vote: aggregations,
agreement and exports read round 1.

A file from before these rules may hold two chains (a rater's file split twice, say). Migration 23 lists their
older roots in `double_vote_roots`, which the index leaves out; `double_votes` finds what is still double and
`repair_double_votes` keeps the later vote current, writing each older one into `vote_repairs` (the label kept,
who, when): nothing is deleted. A label in `vote_repairs` is not current: `SUPERSEDED` is the one definition of
"superseded" that `current_labels` and every query of current labels use.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from prefdesk.store.errors import ProjectError
from prefdesk.store.ids import utc_now
from prefdesk.store.overlap import NOT_VOTES

# Ids of the labels that are no longer current: edited (superseded by a later label of the rater) or retired by a
# recorded repair of a double vote. `SUPERSEDED_UPTO` is the same for a snapshot (bound: its last label rowid).
SUPERSEDED = "SELECT supersedes FROM labels WHERE supersedes IS NOT NULL UNION ALL SELECT label_id FROM vote_repairs"
SUPERSEDED_UPTO = ("SELECT supersedes FROM labels WHERE supersedes IS NOT NULL AND rowid <= ? "
                   "UNION ALL SELECT label_id FROM vote_repairs")


def vote_sql(alias: str = "") -> str:
    """SQL true for a vote (see module), of the labels table or of its alias."""
    p = f"{alias}." if alias else ""
    return f"{p}kind != 'rewrite' AND {p}source NOT IN ({_NV})"


_NV = ", ".join(repr(s) for s in NOT_VOTES)


class SecondVote(ProjectError):
    """A label would be a second current vote of its rater on its item in its round, and is the earlier of the two."""


@contextmanager
def refused_as_second_vote(label_id: str) -> Iterator[None]:
    """Turn the schema's refusal of a second vote (the index, the trigger) into `SecondVote`, naming the label."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        if "one current vote" in str(exc) or "labels.item_id, labels.rater_id, labels.round" in str(exc):
            raise SecondVote(f"label {label_id}: refused, it would be a second current vote of its rater on its item "
                             f"({exc})") from exc
        raise


def index_sql(exempt: list[str]) -> str:
    """The partial unique index: one root vote per (item, rater, round), less the roots listed as `exempt`
    (the older of the doubles a file held before the rule; ids are UUIDs, quoted as SQL strings)."""
    left_out = f" AND id NOT IN ({', '.join(_quoted(i) for i in exempt)})" if exempt else ""
    return (f"CREATE UNIQUE INDEX labels_one_vote ON labels(item_id, rater_id, round) "
            f"WHERE supersedes IS NULL AND {vote_sql()}{left_out}")


# a vote supersedes a vote (a person's edit of an imported vote of theirs, say); any other label only one of its source
TRIGGER_SQL = f"""
CREATE TRIGGER labels_supersede_rules BEFORE INSERT ON labels WHEN new.supersedes IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'one current vote: a label supersedes only a label of its own item, rater, round, kind and source')
    WHERE NOT EXISTS (SELECT 1 FROM labels t WHERE t.id = new.supersedes AND t.item_id = new.item_id
                      AND t.rater_id = new.rater_id AND t.round = new.round AND t.kind = new.kind
                      AND (t.source = new.source OR (t.source NOT IN ({_NV}) AND new.source NOT IN ({_NV}))));
    SELECT RAISE(ABORT, 'one current vote: the label it supersedes is superseded already')
    WHERE EXISTS (SELECT 1 FROM labels s WHERE s.supersedes = new.supersedes)
       OR EXISTS (SELECT 1 FROM vote_repairs r WHERE r.label_id = new.supersedes);
END
"""


def check_supersedes(conn: sqlite3.Connection, after_rowid: int) -> None:
    """The trigger's rules, checked at once for the labels past `after_rowid` (a bulk write that ran without it):
    `sqlite3.IntegrityError` names the first label that breaks one."""
    bad = conn.execute(
        f"SELECT n.id FROM labels n LEFT JOIN labels t ON t.id = n.supersedes WHERE n.rowid > ? AND n.supersedes IS NOT "
        f"NULL AND (t.id IS NULL OR t.item_id != n.item_id OR t.rater_id != n.rater_id OR t.round != n.round OR "
        f"t.kind != n.kind OR (t.source != n.source AND NOT (t.source NOT IN ({_NV}) AND n.source NOT IN ({_NV}))) "
        "OR t.id IN (SELECT label_id FROM vote_repairs) "
        "OR (SELECT COUNT(*) FROM labels s WHERE s.supersedes = n.supersedes) > 1) LIMIT 1", (after_rowid,)).fetchone()
    if bad:
        raise sqlite3.IntegrityError(f"one current vote: label {bad[0]} supersedes a label it may not (another item, "
                                     "rater, round, kind or source, or one superseded already)")


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def is_vote(kind: str, source: str) -> bool:
    """Whether a label of this kind and source is a vote (see module)."""
    return kind != "rewrite" and source not in NOT_VOTES


def later(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Whether label `a` is newer than `b`, both (created_at, id): by the rater's clock, then their sequence
    (ids are UUIDv7, time-ordered on the machine that made them)."""
    return a > b


def current_vote(conn: sqlite3.Connection, item_id: str, rater_id: str, round_: int = 1) -> tuple[str, str] | None:
    """(id, created_at) of the rater's current vote on the item in this round, or None."""
    return conn.execute(
        f"SELECT id, created_at FROM labels WHERE item_id = ? AND rater_id = ? AND round = ? AND {vote_sql()} "
        f"AND id NOT IN ({SUPERSEDED}) ORDER BY created_at DESC, id DESC LIMIT 1", (item_id, rater_id, round_)).fetchone()


def no_longer_current(conn: sqlite3.Connection, label_id: str) -> bool:
    """Whether the label is superseded already (edited, or repaired away): nothing may supersede it again."""
    return conn.execute("SELECT 1 FROM labels WHERE supersedes = ? UNION ALL SELECT 1 FROM vote_repairs "
                        "WHERE label_id = ?", (label_id, label_id)).fetchone() is not None


def attach_to_current(conn: sqlite3.Connection, label):
    """`label` (a vote superseding none) as it may be written: superseding the rater's current vote on the item in
    its round when it is the later of the two, as it is; `SecondVote` when it is the earlier."""
    current = current_vote(conn, label.item_id, label.rater_id, label.round)
    if current is None:
        return label
    if not later((label.created_at, label.id), (current[1], current[0])):
        raise SecondVote(f"label {label.id}: the rater already holds a later current vote on item {label.item_id} "
                         f"(label {current[0]}, {current[1]}); one vote per rater and item, the earlier is refused")
    return label._replace(supersedes=current[0])


def voted_items(conn: sqlite3.Connection, rater_id: str) -> set[str]:
    """The items on which the rater holds a current first-round vote."""
    return {i for (i,) in conn.execute(
        f"SELECT item_id FROM labels WHERE rater_id = ? AND round = 1 AND {vote_sql()} AND id NOT IN ({SUPERSEDED})",
        (rater_id,))}


def double_votes(conn: sqlite3.Connection, items: list[str] | None = None) -> list[dict]:
    """Every (item, rater, round) holding more than one current vote: the item, the rater's name, the round, its
    current votes oldest first, the one a repair keeps (the later) and the older ones. `items` limits the search."""
    where, args = f"{vote_sql()} AND id NOT IN ({SUPERSEDED})", []
    if items is not None:
        where += " AND item_id IN (SELECT value FROM json_each(?))"
        args.append(json.dumps(sorted(set(items))))
    rows = conn.execute(
        f"WITH current AS MATERIALIZED (SELECT item_id, rater_id, round, id, created_at FROM labels WHERE {where}), "
        "doubled AS (SELECT item_id, rater_id, round FROM current GROUP BY 1, 2, 3 HAVING COUNT(*) > 1) "
        "SELECT c.item_id, r.name, c.round, c.id, c.created_at FROM current c JOIN doubled d USING (item_id, rater_id, "
        "round) JOIN raters r ON r.id = c.rater_id ORDER BY c.item_id, r.name, c.round, c.created_at, c.id", args)
    out: dict[tuple, dict] = {}
    for item_id, name, round_, label_id, created_at in rows:
        entry = out.setdefault((item_id, name, round_), {"item": item_id, "rater": name, "round": round_, "labels": []})
        entry["labels"].append({"id": label_id, "created_at": created_at})
    for entry in out.values():
        entry["keep"] = entry["labels"][-1]["id"]
        entry["older"] = [lab["id"] for lab in entry["labels"][:-1]]
    return list(out.values())


def doubles_on_open(conn: sqlite3.Connection) -> list[dict]:
    """The double votes a file still holds, cheaply: only a file from before the rule can hold any, and only on
    the items of its listed roots (`double_vote_roots`), so a clean file answers with one empty read."""
    items = [i for (i,) in conn.execute(
        "SELECT DISTINCT l.item_id FROM double_vote_roots d JOIN labels l ON l.id = d.label_id")]
    return double_votes(conn, items) if items else []


def repair_double_votes(project, by: str) -> list[dict]:
    """Keep each rater's later vote current where they hold two or more (see module): the older ones go into
    `vote_repairs`, recorded with the label kept, `by` and the time; every label stays in the file. Returns the
    doubles repaired (as `double_votes` gives them)."""
    if not by.strip():
        raise ValueError("a repair is recorded with who made it: give a name")
    with project.transaction() as conn:
        doubles = double_votes(conn)
        now = utc_now()
        conn.executemany("INSERT INTO vote_repairs (label_id, kept_label, by, at) VALUES (?, ?, ?, ?)",
                         [(old, d["keep"], by, now) for d in doubles for old in d["older"]])
    return doubles


def doubles_text(doubles: list[dict], most: int = 20) -> str:
    """Double votes as a lead reads them (the CLI and the desk)."""
    lines = [f"{len(doubles)} double vote(s): a rater holds more than one current vote on an item "
             "(each counted twice by majority, agreement and exports until repaired)"]
    lines += [f"• item {d['item']}: {d['rater']} (round {d['round']}), {len(d['labels'])} current votes; "
              f"the later, {d['keep']}, is kept by a repair" for d in doubles[:most]]
    if len(doubles) > most:
        lines.append(f"• … and {len(doubles) - most} more (prefdesk check --json lists them all)")
    lines.append("Repair: prefdesk check -p PROJECT --repair --by NAME (recorded; nothing is deleted)")
    return "\n".join(lines)
