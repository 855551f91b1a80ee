"""Snapshot reads for exports: the labels committed up to a rowid (labels are append-only, so commits made
meanwhile do not change what an export sees), grouped by item, in one scan each."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

from prefdesk.store.rows import ROLE_AT_LABEL, rows_in
from prefdesk.store.votes import SUPERSEDED_UPTO


@dataclass(frozen=True)
class Scope:
    """What an export reads: the labels up to rowid `last_label` on items with an id in [lo, hi) (None: open);
    `only`: exactly these label ids (a frozen version: `store.versions`), superseded since or not; `items`:
    the version's frozen item states (candidates, is_gold, gold answer) read instead of the items' now."""

    conn: sqlite3.Connection
    last_label: int
    lo: str | None = None
    hi: str | None = None
    only: frozenset[str] | None = None
    items: dict[str, list] | None = None

    @classmethod
    def whole(cls, conn: sqlite3.Connection) -> Scope:
        return cls(conn, conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM labels").fetchone()[0])


# Columns of a row in `label_groups`: the item's, then the label's.
_ITEM_COLS = ("kind", "prompt", "prompt_messages", "meta", "candidates", "steps")
_LABEL_COLS = ("id", "item_id", "kind", "payload", "source")
L_ID, L_ITEM, L_KIND, L_PAYLOAD, L_SOURCE = range(len(_ITEM_COLS), len(_ITEM_COLS) + len(_LABEL_COLS))


def label_groups(scope: Scope, kinds: tuple[str, ...]) -> Iterator[list[tuple]]:
    """The rows of every current first-round label on items of the given kinds, grouped by item, items in id order,
    each row the item's columns followed by the label's (one scan). Only an item's strongest labels are read: the
    team's; where the team has none, a public dataset's reference labels; where neither, the weak layer's (a model
    judge's, a rule's); last, online feedback's. A human label outranks a judge or a rule under every policy.

    Superseded labels are dropped here against a set read first (edits are few): a third of the
    cost of filtering them in SQL row by row.
    """
    conn = scope.conn
    superseded = set() if scope.only is not None else {r[0] for r in conn.execute(
        SUPERSEDED_UPTO, (scope.last_label,))}
    only, frozen = scope.only, scope.items
    # a re-annotation (round 2) measures a rater's consistency; it is not a second vote of theirs
    # an evaluation's arena items are never training data (`jobs.arena`)
    where = [f"i.kind IN ({','.join('?' * len(kinds))})", "l.rowid <= ?", "l.round = 1", "i.eval_run IS NULL"]
    args = [*kinds, scope.last_label]
    if scope.lo is not None:
        where.append("l.item_id >= ?")
        args.append(scope.lo)
    if scope.hi is not None:
        where.append("l.item_id < ?")
        args.append(scope.hi)
    rows = _rows(conn.execute(
        f"SELECT {', '.join('i.' + c for c in _ITEM_COLS)}, "
        f"{', '.join('l.' + c for c in _LABEL_COLS)} "
        f"FROM labels l JOIN items i ON i.id = l.item_id WHERE {' AND '.join(where)} ORDER BY l.item_id",
        args,
    ))
    group: list[tuple] = []
    for row in rows:
        if superseded and row[L_ID] in superseded or only is not None and row[L_ID] not in only:
            continue
        if frozen is not None:
            row = _as_frozen(row, frozen[row[L_ITEM]], _CANDIDATES, None, None)
        if group and group[0][L_ITEM] != row[L_ITEM]:
            yield _strongest(group)
            group = []
        group.append(row)
    if group:
        yield _strongest(group)


WEAK = ("model-judge", "rule", "online-feedback")
# 0 (the team's) outranks 1, 1 outranks 2: a product's users' online feedback is the weakest, for trends and
# weak signals, never above a judge's or a rule's considered label
_TIER = {"reference": 1, "model-judge": 2, "rule": 2, "online-feedback": 3}


def _strongest(group: list[tuple]) -> list[tuple]:
    """The labels of an item's strongest tier: the team's, else its references, else the weak layer's."""
    if len(group) == 1:
        return group
    best = min(_TIER.get(row[L_SOURCE], 0) for row in group)
    return [row for row in group if _TIER.get(row[L_SOURCE], 0) == best]


def label_breakdown(scope: Scope, label_kinds: tuple[str, ...] | None, every: bool = False,
                    layers: dict[str, str] | None = None) -> dict[str, dict]:
    """How many labels of these kinds (None: all) the scope reads, by guideline version, by source and by the
    rater's role, in one scan: its current first-round labels (`every`: all of them, superseded and round 2 too;
    a frozen version: exactly its own). For a version, `layers` (label id -> layer, as frozen) replaces the rater's
    role, which a lead may change after: a version's counts never change."""
    kinds = f" AND l.kind IN ({','.join('?' * len(label_kinds))})" if label_kinds else ""
    counts: dict[str, dict] = {"guideline_version": {}, "source": {}, "layer" if layers is not None else "rater_role": {}}
    if scope.only is not None:
        third = "l.id" if layers is not None else ROLE_AT_LABEL
        rows = rows_in(scope.conn, f"SELECT l.guideline_version, l.source, {third}, COUNT(*) FROM labels l JOIN raters r "
                                   f"ON r.id = l.rater_id WHERE l.id IN ({{marks}}){kinds} GROUP BY 1, 2, 3",
                       sorted(scope.only), tuple(label_kinds or ()))
        if layers is not None:
            rows = ((version, source, layers[label_id], n) for version, source, label_id, n in rows)
    else:
        where = "l.rowid <= ?" if every else f"l.rowid <= ? AND l.round = 1 AND l.id NOT IN ({SUPERSEDED_UPTO})"
        args = [scope.last_label] if every else [scope.last_label, scope.last_label]
        rows = scope.conn.execute(f"SELECT l.guideline_version, l.source, {ROLE_AT_LABEL}, COUNT(*) FROM labels l "
                                  f"JOIN raters r ON r.id = l.rater_id WHERE {where}{kinds} GROUP BY 1, 2, 3",
                                  [*args, *(label_kinds or ())])
    for version, source, third, n in rows:
        for key, value in zip(counts, (version, source, third)):
            counts[key][value] = counts[key].get(value, 0) + n
    return {key: dict(sorted(c.items(), key=lambda kv: str(kv[0]))) for key, c in counts.items()}


def sampled_item_ids(scope: Scope, step: int) -> list[str]:
    """The item ids of every `step`-th label in the scope, sorted: where to cut an export into ranges."""
    return [r[0] for r in scope.conn.execute(
        "SELECT item_id FROM labels WHERE rowid <= ? AND rowid % ? = 0 ORDER BY item_id", (scope.last_label, step))]


def _rows(cursor, size: int = 1024) -> Iterator[tuple]:
    while batch := cursor.fetchmany(size):
        yield from batch


_ITEM = "i.id, i.kind, i.prompt, i.prompt_messages, i.candidates, i.steps, i.meta, i.is_gold, i.gold_answer"
_LABEL = (f"l.id, l.kind, l.payload, r.name, {ROLE_AT_LABEL}, r.level, l.session_id, l.created_at, l.duration_ms, "
          "l.guideline_version, l.app_version, l.round, l.display_order, l.source, l.confidence, l.supersedes")


def every_label(scope: Scope) -> Iterator[tuple]:
    """Every label up to the scope's snapshot, superseded ones too, oldest first, each row the item's
    columns then the label's (see `_ITEM`, `_LABEL`)."""
    cursor = scope.conn.execute(
        f"SELECT {_ITEM}, {_LABEL} FROM labels l JOIN items i ON i.id = l.item_id JOIN raters r ON r.id = l.rater_id "
        "WHERE l.rowid <= ? ORDER BY l.rowid", (scope.last_label,))
    if scope.items is None:
        return _rows(cursor)
    frozen = scope.items
    return (_as_frozen(row, frozen[row[0]], 4, 7, 8) if row[0] in frozen else row for row in _rows(cursor))


_CANDIDATES = _ITEM_COLS.index("candidates")


def _as_frozen(row: tuple, state: list, candidates: int, is_gold: int | None, gold: int | None) -> tuple:
    """An item's row as a version froze it: its first N candidates (none added since), its gold answer then."""
    n, was_gold, answer = state
    row = list(row)
    cands = orjson.loads(row[candidates])
    if len(cands) != n:
        row[candidates] = orjson.dumps(cands[:n]).decode()
    if is_gold is not None:
        row[is_gold], row[gold] = was_gold, answer
    return tuple(row)


