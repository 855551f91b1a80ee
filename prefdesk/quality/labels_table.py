"""The project's current pairwise (and scalar) labels as integer columns (numpy), read fast enough for a report over
millions of labels.

Each column is coded in SQL and a range of labels comes back as one comma-separated string
(`group_concat`), parsed by numpy: no Python object per label. Ranges are read on several read-only
connections at once (SQLite runs a statement without Python's lock held), so the read scales with cores, and
ranges that can no longer change are kept coded in the project (`store.column_cache`): a report reads only the
newest labels through SQL. Which answer of a pair is longer comes from `items.longer`'s index.
Items are addressed by their rowid (arrays over items are indexed by it); raters by their order of name.
Arbitration decisions are not rater labels and are left out (`quality.arbitration` reads them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prefdesk.domain import LabelSource
from prefdesk.store.column_cache import read_columns
from prefdesk.store.votes import SUPERSEDED

VERDICTS = ("A", "B", "tie", "both_bad")
CODE = {v: i for i, v in enumerate(VERDICTS)}
SOURCES = tuple(s.value for s in LabelSource)

_VERDICT = ("CASE json_extract(l.payload, '$.verdict') WHEN 'A' THEN 0 WHEN 'B' THEN 1 WHEN 'tie' THEN 2 "
            "WHEN 'both_bad' THEN 3 ELSE -1 END")
_SOURCE = "CASE l.source " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(SOURCES)) + " ELSE -1 END"
# A label's columns, each coded as a whole number and never NULL (group_concat would skip it and the
# columns would no longer line up): rowid, item rowid, rater rowid, verdict, candidate shown left, round,
# ms, seconds since 1970, source, whether it has per-dimension verdicts, confidence in thousandths.
_LABEL_COLUMNS = {
    "rowid": "l.rowid", "item": "i.rowid", "rater": "r.rowid", "verdict": _VERDICT,
    "left": "COALESCE(json_extract(l.display_order, '$[0]'), -1)", "round": "l.round",
    "ms": "COALESCE(l.duration_ms, -1)",
    "time": "COALESCE(CAST((julianday(l.created_at) - 2440587.5) * 86400 AS INTEGER), 0)",
    "source": _SOURCE, "has_dims": "COALESCE(json_extract(l.payload, '$.dims') NOT IN ('{}', '[]'), 0)",
    "confidence": "COALESCE(CAST(l.confidence * 1000 AS INTEGER), -1)",
    # scalar labels ride along (their agreement is read from their scores): -1 on a pairwise label
    "score": "CASE WHEN l.kind = 'scalar' THEN COALESCE(CAST(json_extract(l.payload, '$.score') * 1000 AS INTEGER), -1) "
             "ELSE -1 END",
}
_LABELS = ("SELECT " + ", ".join(f"group_concat({sql})" for sql in _LABEL_COLUMNS.values()) +
           " FROM labels l JOIN items i ON i.id = l.item_id JOIN raters r ON r.id = l.rater_id"
           " WHERE l.rowid BETWEEN ? AND ? AND l.kind IN ('pairwise', 'scalar')"
           " AND l.source NOT IN ('arbitration', 'reference')"  # references: `quality.reference`, not team votes
           " AND NOT (l.kind = 'scalar' AND l.source = 'online-feedback')")  # a product's 1-10 is not the team's scale
GROUP_COLUMNS = ("scenario", "bucket", "risk_level")


@dataclass
class Labels:
    """Current pairwise labels as columns (one row a label, in time order) and per-item columns (by rowid)."""

    rowid: np.ndarray
    item: np.ndarray  # the item's rowid
    rater: np.ndarray  # index into `raters`
    verdict: np.ndarray  # code (VERDICTS), -1 unknown
    left: np.ndarray  # candidate shown on the left (0/1), -1 not recorded
    round: np.ndarray
    duration: np.ndarray  # ms, nan unknown
    time: np.ndarray  # seconds since 1970 (UTC)
    source: np.ndarray  # index into SOURCES
    has_dims: np.ndarray  # bool: the label has per-dimension verdicts
    confidence: np.ndarray  # 0..1, nan when not given
    raters: list[str]
    roles: list[str]
    item_slots: int  # max item rowid + 1
    gold: np.ndarray  # per item rowid: the gold verdict code, -1 when not gold
    longer: np.ndarray  # per item rowid: 0 when A is longer, 1 when B is, -1 equal or unknown
    groups: dict[str, tuple[list[str], np.ndarray]]  # scenario/bucket/risk_level -> (names, code per item rowid)
    scalar: dict[str, np.ndarray]  # the current scalar labels: item rowid, rater, round, score

    def __len__(self) -> int:
        return len(self.rowid)


def _coded(conn, sql: str, bounds: tuple[int, int], width: int) -> np.ndarray:
    """`width` integer columns from `sql` (one group_concat a column) over a rowid range, one row a column."""
    texts = conn.execute(sql, bounds).fetchone()
    if texts[0] is None:
        return np.empty((width, 0), np.int64)
    return np.stack([np.fromstring(t, dtype=np.int64, sep=",") for t in texts])


def _read_labels(project) -> np.ndarray:
    width = len(_LABEL_COLUMNS)
    table = read_columns(project.conn, project.path, "labels", _LABELS,
                         lambda conn, bounds: _coded(conn, _LABELS, bounds, width))
    return table if table.size else np.empty((width, 0), np.int64)


def _longer(conn, slots: int) -> np.ndarray:
    """Per item rowid: 0 when A is the longer answer, 1 when B is, -1 equal or not a pair (`items.longer`, the sign of
    their difference, read from its index)."""
    longer = np.full(slots, -1, np.int64)
    rowids, signs = conn.execute(
        "SELECT group_concat(rowid), group_concat(longer) FROM items INDEXED BY items_longer WHERE longer != 0").fetchone()
    if rowids:
        longer[np.fromstring(rowids, dtype=np.int64, sep=",")] = np.fromstring(signs, dtype=np.int64, sep=",") < 0
    return longer


def load(project, only: frozenset[str] | None = None) -> Labels:
    """Read the project's current pairwise labels (see module), or exactly the labels `only` (a frozen
    version's: superseded since or not)."""
    conn = project.conn
    names, roles, rater_rowids = [], [], []
    for rowid, name, role in conn.execute("SELECT rowid, name, role FROM raters ORDER BY name"):
        rater_rowids.append(rowid)
        names.append(name)
        roles.append(role)
    rater_index = np.full(max(rater_rowids, default=0) + 1, -1, np.int64)
    rater_index[rater_rowids] = np.arange(len(rater_rowids))

    table = _read_labels(project)  # one row a column
    if only is not None:
        table = table[:, np.array([i in only for i in label_ids(project, table[0])], dtype=bool)]
    else:
        superseded = [r for (r,) in conn.execute(
            f"SELECT rowid FROM labels WHERE id IN ({SUPERSEDED})")]
        if superseded:
            table = table[:, ~np.isin(table[0], np.array(superseded, np.int64))]
    is_scalar = table[list(_LABEL_COLUMNS).index("score")] >= 0
    scalar_col = {k: v[is_scalar] for k, v in zip(_LABEL_COLUMNS, table)}
    col = dict(zip(_LABEL_COLUMNS, table)) if not is_scalar.any() else {
        k: v[~is_scalar] for k, v in zip(_LABEL_COLUMNS, table)}
    if len(col["time"]) and np.any(np.diff(col["time"]) < 0):  # time order (ties: as written)
        order = np.lexsort((col["rowid"], col["time"]))
        col = {k: v[order] for k, v in col.items()}

    slots = conn.execute("SELECT COALESCE(MAX(rowid), 0) + 1 FROM items").fetchone()[0]
    longer = _longer(conn, slots)
    groups = {column: _groups(conn, column, slots) for column in GROUP_COLUMNS}
    gold = np.full(slots, -1, np.int64)
    for rowid, verdict in conn.execute(
            "SELECT rowid, json_extract(gold_answer, '$.verdict') FROM items WHERE is_gold = 1 AND gold_answer IS NOT NULL"):
        gold[rowid] = CODE.get(verdict, -1)
    duration = col["ms"].astype(np.float64)
    duration[col["ms"] < 0] = np.nan
    confidence = col["confidence"] / 1000.0
    confidence[col["confidence"] < 0] = np.nan
    return Labels(rowid=col["rowid"], item=col["item"], rater=rater_index[col["rater"]], verdict=col["verdict"],
                  left=col["left"], round=col["round"], duration=duration, time=col["time"], source=col["source"],
                  has_dims=col["has_dims"].astype(bool), confidence=confidence, raters=names, roles=roles,
                  item_slots=slots, gold=gold, longer=longer, groups=groups,
                  scalar={"item": scalar_col["item"], "rater": rater_index[scalar_col["rater"]],
                          "round": scalar_col["round"], "score": scalar_col["score"] / 1000.0})


def _groups(conn, column: str, slots: int) -> tuple[list[str], np.ndarray]:
    """The values of an item column (names; "(none)" for NULL) and each item's code, read from the column's
    index (never the items themselves: their rows hold the answers, and are large)."""
    names: list[str] = []
    codes = np.full(slots, -1, np.int64)
    for value, rowids in conn.execute(f"SELECT {column}, group_concat(rowid) FROM items GROUP BY {column} ORDER BY {column}"):
        codes[np.fromstring(rowids, dtype=np.int64, sep=",")] = len(names)
        names.append("(none)" if value is None else value)
    return names, codes


def label_ids(project, rowids: np.ndarray) -> list[str]:
    """The ids of the labels at these rowids (for what keeps label ids: the reliability policies)."""
    ids = dict(project.conn.execute("SELECT rowid, id FROM labels WHERE kind IN ('pairwise', 'scalar')"))
    return [ids[int(r)] for r in rowids]


def dims_of(project, rowids: np.ndarray) -> list[tuple[int, str, str]]:
    """(rowid, dimension, verdict) of the per-dimension verdicts on these labels."""
    import json

    return project.conn.execute(
        "SELECT l.rowid, d.key, d.value FROM labels l, json_each(l.payload, '$.dims') d "
        "WHERE l.rowid IN (SELECT value FROM json_each(?))", (json.dumps(rowids.tolist()),)).fetchall()
