"""The item browser's queries (Project › Items): which items match a lead's filters, in which order, and what
a page of them shows (labels, raters, agreement, dispute, the model's score gap).

The matching items come back as one ordered list of rowids, built in SQL and handed over as one JSON array
(a million rowids in ~0.2 s, where a row per item takes 0.5 s); a table then reads only the rows on screen,
by rowid. Everything a row shows that is computed from labels is computed for that page only, by the rules
the rest of the app uses: overlap (`COUNTS_TOWARD_OVERLAP`), disputes (`quality.arbitration`).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from prefdesk.quality.arbitration import dispute_of, disputes
from prefdesk.store import runs as store_runs
from prefdesk.store.ids import utc_now
from prefdesk.store.overlap import COUNTS_TOWARD_OVERLAP
from prefdesk.store.project import Project
from prefdesk.store.queue import remaining_for
from prefdesk.store.rows import rows_in
from prefdesk.store.search import MATCHING_ROWIDS, match_expression

BLANK = ""  # a text filter of "" matches items where the field is not set
SORTS = {"added": "rowid", "kind": "kind", "scenario": "scenario", "risk_level": "risk_level", "bucket": "bucket",
         "gold": "is_gold", "raters": "n_raters", "priority": "priority"}
STATUSES = ("disputed", "decided", "undecided")
_OVERLAP_L = COUNTS_TOWARD_OVERLAP.replace("kind", "labels.kind").replace("source", "labels.source")


@dataclass(frozen=True)
class ItemQuery:
    """A lead's filters; None means "any"."""
    kind: str | None = None
    scenario: str | None = None
    risk_level: str | None = None
    bucket: str | None = None
    gold: bool | None = None
    flagged: bool | None = None
    min_raters: int | None = None  # raters counting toward the overlap (`items.n_raters`)
    max_raters: int | None = None
    labelled_by: str | None = None  # a rater id
    not_labelled_by: str | None = None
    status: str | None = None  # one of STATUSES
    scored: bool | None = None  # has scores from the run scored last
    held_back: bool | None = None  # kept from people by a rule's drop or a confident judge (`items.held_back`)
    search: str = ""
    sort: str = "added"
    descending: bool = False


# A rater with more labels than this is filtered through the labels' coded columns (`store.column_cache`), not SQL:
# "labelled by" a rater who judged all of a million items took 1.4 s in SQL (a lookup of every label's row)
MANY_LABELS = 50_000
_RATER_ITEMS = ("SELECT group_concat(i.rowid), group_concat(r.rowid) FROM labels l JOIN items i ON i.id = l.item_id "
                f"JOIN raters r ON r.id = l.rater_id WHERE l.rowid BETWEEN ? AND ? AND {_OVERLAP_L.replace('labels.', 'l.')}")


def item_rowids(project: Project, query: ItemQuery, limit: int | None = None) -> list[int]:
    """The rowids of the items matching `query`, in its order (ties in the order items were added); the first
    `limit` of them only, if given (a table's first screen, read before the whole list)."""
    if query.sort not in SORTS:
        raise ValueError(f"sort: one of {', '.join(SORTS)}, not {query.sort!r}")
    rater = query.labelled_by if query.labelled_by is not None else query.not_labelled_by
    if rater is not None and project.conn.execute(
            "SELECT COUNT(*) >= ? FROM (SELECT 1 FROM labels WHERE rater_id = ? LIMIT ?)",
            (MANY_LABELS, rater, MANY_LABELS)).fetchone()[0]:
        import numpy as np

        rowids = np.array(item_rowids(project, replace(query, labelled_by=None, not_labelled_by=None)), np.int64)
        judged = _rater_items(project, rater, int(rowids.max(initial=0)) + 1)[rowids]
        return rowids[judged if query.labelled_by is not None else ~judged][:limit].tolist()
    where, args = _where(project, query)
    direction = " DESC" if query.descending else ""
    order = f"{SORTS[query.sort]}{direction}, rowid{direction}" if query.sort != "added" else f"rowid{direction}"
    cut = f" LIMIT {int(limit)}" if limit is not None and query.not_labelled_by is None else ""
    sql = f"SELECT json_group_array(rowid) FROM (SELECT rowid FROM items{where} ORDER BY {order}{cut})"
    rowids = orjson.loads(project.conn.execute(sql, args).fetchone()[0])
    if query.not_labelled_by is not None:
        # taken out here, not by NOT IN in SQL: that reads every item's id from the table (1.2 s on 1M items),
        # where a rater's own items are a few thousand rowids found by index
        done = {r for (r,) in project.conn.execute(
            "SELECT items.rowid FROM labels JOIN items ON items.id = labels.item_id "
            f"WHERE labels.rater_id = ? AND {_OVERLAP_L}", (query.not_labelled_by,))}
        rowids = [r for r in rowids if r not in done]
    return rowids[:limit] if limit is not None else rowids


def _rater_items(project: Project, rater_id: str, slots: int):
    """Per item rowid below `slots`: whether the rater gave it a verdict that counts toward the overlap (an edited one
    too), from the labels' (item, rater) columns kept coded in the project."""
    import numpy as np

    from prefdesk.store.column_cache import read_columns

    def coded(conn, bounds):
        items, raters = conn.execute(_RATER_ITEMS, bounds).fetchone()
        if items is None:
            return np.empty((2, 0), np.int64)
        return np.stack([np.fromstring(items, np.int64, sep=","), np.fromstring(raters, np.int64, sep=",")])

    judged = np.zeros(slots, bool)
    table = read_columns(project.conn, project.path, "rater-items", _RATER_ITEMS, coded)
    row = project.conn.execute("SELECT rowid FROM raters WHERE id = ?", (rater_id,)).fetchone()
    if row is not None and table.size:
        items = table[0][table[1] == row[0]]
        judged[items[items < slots]] = True
    return judged


def ids_of(project: Project, rowids: list[int]) -> list[str]:
    """The item ids of these rowids, in this order (a selection's items, without reading their rows)."""
    found = dict(project.conn.execute("SELECT rowid, id FROM items WHERE rowid IN (SELECT value FROM json_each(?))",
                                      (json.dumps(rowids),)))
    return [found[r] for r in rowids if r in found]


def _where(project: Project, q: ItemQuery) -> tuple[str, list[Any]]:
    parts: list[str] = []
    args: list[Any] = []
    for column in ("kind", "scenario", "risk_level", "bucket"):
        value = getattr(q, column)
        if value == BLANK:
            parts.append(f"{column} IS NULL")
        elif value is not None:
            parts.append(f"{column} = ?")
            args.append(value)
    if q.gold is not None:
        parts.append(f"is_gold = {int(q.gold)}")
    if q.held_back is not None:
        parts.append(f"held_back IS {'NOT ' if q.held_back else ''}NULL")
    if q.flagged is not None:
        parts.append(f"id {'' if q.flagged else 'NOT '}IN (SELECT item_id FROM flags)")
    if q.min_raters is not None:
        parts.append("n_raters >= ?")
        args.append(q.min_raters)
    if q.max_raters is not None:
        parts.append("n_raters <= ?")
        args.append(q.max_raters)
    if q.labelled_by is not None:  # (not_labelled_by: see item_rowids)
        parts.append(f"id IN (SELECT item_id FROM labels WHERE rater_id = ? AND {COUNTS_TOWARD_OVERLAP})")
        args.append(q.labelled_by)
    if q.status == "decided":
        parts.append("id IN (SELECT item_id FROM labels WHERE source = 'arbitration')")
    elif q.status in ("disputed", "undecided"):
        # "undecided": disputed and never decided (a decided item reopened by a later label is disputed only)
        open_ids = [d.item_id for d in disputes(project) if q.status == "disputed" or d.decision is None]
        parts.append("id IN (SELECT value FROM json_each(?))")
        args.append(json.dumps(open_ids))
    elif q.status is not None:
        raise ValueError(f"status: one of {', '.join(STATUSES)}, not {q.status!r}")
    if q.scored is not None:
        run = store_runs.last_scored_run(project)
        parts.append(f"id {'' if q.scored else 'NOT '}IN (SELECT item_id FROM scores WHERE run_id = ?)")
        args.append(run or "")
    expression = match_expression(q.search)
    if expression is not None:
        parts.append(f"rowid IN ({MATCHING_ROWIDS})")
        args.append(expression)
    return (" WHERE " + " AND ".join(parts) if parts else ""), args


@dataclass
class ItemRow:
    """What the browser shows of one item."""
    rowid: int
    id: str
    kind: str
    prompt: str  # its start, one line
    scenario: str | None
    risk_level: str | None
    bucket: str | None
    gold: bool
    priority: float
    n_raters: int
    flagged: int = 0  # how many raters flagged it
    labels: int = 0  # current labels, of every source
    raters: list[str] = field(default_factory=list)  # names of the raters who gave a verdict counting toward overlap
    agreement: float | None = None  # share of first-round verdicts with the majority (None: under two)
    status: str = ""  # "disputed", "decided" or ""
    score_gap: float | None = None  # the run scored last: score of A (or the first candidate) minus B's


def page(project: Project, rowids: list[int], scores_run: str | None = None) -> list[ItemRow]:
    """The rows for these rowids, in this order."""
    if not rowids:
        return []
    found = project.conn.execute(
        "SELECT rowid, id, kind, substr(prompt, 1, 160), scenario, risk_level, bucket, is_gold, priority, n_raters "
        "FROM items WHERE rowid IN (SELECT value FROM json_each(?))", (json.dumps(rowids),)).fetchall()
    by_rowid = {r[0]: ItemRow(*r[:3], " ".join(r[3].split()), *r[4:7], bool(r[7]), r[8], r[9]) for r in found}
    rows = [by_rowid[r] for r in rowids if r in by_rowid]
    by_id = {row.id: row for row in rows}
    ids = list(by_id)
    for item_id, n in rows_in(project.conn, "SELECT item_id, COUNT(*) FROM flags WHERE item_id IN ({marks}) GROUP BY item_id", ids):
        by_id[item_id].flagged = n
    votes: dict[str, list[str]] = defaultdict(list)
    decided: set[str] = set()
    for item_id, name, kind, source, round_, verdict, counts in rows_in(
            project.conn, "SELECT item_id, (SELECT name FROM raters WHERE id = rater_id), kind, source, round, "
            f"json_extract(payload, '$.verdict'), ({COUNTS_TOWARD_OVERLAP}) FROM current_labels "
            "WHERE item_id IN ({marks})", ids):
        row = by_id[item_id]
        row.labels += 1
        if counts and name not in row.raters:
            row.raters.append(name)
        if source == "arbitration":
            decided.add(item_id)
        elif kind == "pairwise" and counts and round_ == 1 and verdict is not None:
            votes[item_id].append(verdict)
    for row in rows:
        row.raters.sort()
        given = votes.get(row.id, [])
        if len(given) >= 2:
            row.agreement = Counter(given).most_common(1)[0][1] / len(given)
        if row.id in decided or (row.agreement is not None and row.agreement < 1) or row.gold or row.risk_level == "high":
            dispute = dispute_of(project, row.id) if given else None
            row.status = "disputed" if dispute is not None else "decided" if row.id in decided else ""
    if scores_run:
        scores: dict[str, dict[int, float]] = defaultdict(dict)
        for item_id, position, score in rows_in(
                project.conn, "SELECT item_id, position, score FROM scores WHERE item_id IN ({marks}) AND run_id = ?", ids,
                (scores_run,)):
            scores[item_id][position] = score
        for item_id, by_position in scores.items():
            if 0 in by_position and 1 in by_position:
                by_id[item_id].score_gap = by_position[0] - by_position[1]
    return rows


def values(project: Project, column: str) -> list[str]:
    """The values a text column takes (for a filter's choices), sorted."""
    if column not in ("kind", "scenario", "risk_level", "bucket"):
        raise ValueError(column)
    return [v for (v,) in project.conn.execute(f"SELECT DISTINCT {column} FROM items WHERE {column} IS NOT NULL "
                                               f"ORDER BY {column}")]


@dataclass
class RaterRow:
    """A rater's progress, for the lead."""
    id: str
    name: str
    role: str
    level: str | None
    today: int
    total: int
    left: int  # items the queue could still give them (open under the overlap rule, or gold)
    median_s: float | None
    last: str | None


def raters_overview(project: Project) -> list[RaterRow]:
    """Per person (model judges and rules left out): labels today and in all (first verdicts, edits not counted
    again), the items left to them, median seconds per label, last activity. Runs a query per rater."""
    today = utc_now()[:10]
    out = []
    for rater_id, name, role, level in project.conn.execute(
            "SELECT id, name, role, level FROM raters WHERE role NOT IN ('model-judge', 'rule') ORDER BY name"):
        total, done_today, last = project.conn.execute(
            f"SELECT COUNT(*), COALESCE(SUM(created_at >= ?), 0), MAX(created_at) FROM labels "
            f"WHERE rater_id = ? AND supersedes IS NULL AND {COUNTS_TOWARD_OVERLAP}", (today, rater_id)).fetchone()
        durations = [d for (d,) in project.conn.execute(
            "SELECT duration_ms FROM labels WHERE rater_id = ? AND source = 'human' AND duration_ms IS NOT NULL",
            (rater_id,))]
        median = _median(durations) / 1000 if durations else None
        out.append(RaterRow(rater_id, name, role, level, done_today, total, remaining_for(project.path, rater_id),
                            median, last))
    return out


def _median(values: list[float]) -> float:
    ordered, mid = sorted(values), len(values) // 2
    return ordered[mid] if len(values) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def prefilter_of(project: Project, item_id: str) -> tuple[str | None, list[tuple[str, int | None, str, str, str]]]:
    """(why the item is held back from people, or None; its rule hits: rule, answer position or None for the
    prompt, action, reason, rule set version), for the open-item view."""
    (held,) = project.conn.execute("SELECT held_back FROM items WHERE id = ?", (item_id,)).fetchone()
    hits = project.conn.execute("SELECT rule, position, action, reason, rules_version FROM rule_hits WHERE item_id = ? "
                                "ORDER BY at, rule, position", (item_id,)).fetchall()
    return held, hits
