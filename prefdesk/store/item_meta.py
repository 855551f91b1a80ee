"""The lead's edits of item metadata: scenario, risk level, bucket, priority and gold, on many items at once.

The indexed columns the queue and filters use (and the item's `meta` JSON, so an export carries the same
values) change together, in one transaction, and every change is recorded in `item_edits` with who made it
and when, field by field, old and new value: "rationale required on high-risk" depends on a risk level a
lead set, so a label's context must be traceable. Gold is set here only to off: an item becomes gold with its
answer (arbitration's Ctrl+G), never by a bulk edit that would leave gold items without one.
"""

from __future__ import annotations

import json
from typing import Any

from prefdesk.domain.key_values import pairs
from prefdesk.store.ids import utc_now, uuid7
from prefdesk.store.project import Project, ProjectError

EDITABLE = ("scenario", "risk_level", "bucket", "priority", "is_gold")
_TEXT = ("scenario", "risk_level", "bucket")


def parse_assignments(parts: list[str], flag: str = "items set") -> dict[str, Any]:
    """["scenario=medical", "risk_level=high", "priority=2", "is_gold=0"] -> checked values; a value `-` clears
    a text field. Unknown fields, bad numbers and is_gold=1 are refused naming the part."""
    out: dict[str, Any] = {}
    for key, value in pairs(parts, flag, "FIELD=VALUE", EDITABLE, ProjectError):
        if key in out:
            raise ProjectError(f"{key}: set twice; give each field once")
        if key in _TEXT:
            out[key] = None if value in ("", "-") else value
        elif key == "priority":
            try:
                out[key] = float(value)
            except ValueError:
                raise ProjectError(f"priority={value!r}: expected a number") from None
        elif value != "0":
            raise ProjectError("is_gold: only 0 (an item becomes gold with its answer, by arbitration's Ctrl+G)")
        else:
            out[key] = 0
    if not out:
        raise ProjectError("nothing to set: give FIELD=VALUE, e.g. risk_level=high")
    return out


def set_meta(project: Project, item_ids: list[str], changes: dict[str, Any], by: str) -> int:
    """Apply `changes` (see `parse_assignments`) to these items in one transaction, recording each changed
    field in `item_edits`; returns how many items changed."""
    if not by.strip():
        raise ProjectError("an edit needs who made it")
    now, changed = utc_now(), 0
    with project.transaction() as conn:
        for start in range(0, len(item_ids), 500):
            chunk = item_ids[start:start + 500]
            rows = conn.execute(f"SELECT id, meta, {', '.join(changes)} FROM items "
                                f"WHERE id IN ({', '.join('?' * len(chunk))})", chunk).fetchall()
            if len(rows) != len(set(chunk)):
                missing = set(chunk) - {r[0] for r in rows}
                raise ProjectError(f"no item {sorted(missing)[0]!r} in {project.path.name}")
            for item_id, meta_text, *old in rows:
                edits = [(f, o, n) for f, o, n in zip(changes, old, changes.values()) if o != n]
                if not edits:
                    continue
                meta = json.loads(meta_text)
                for field, _, new in edits:
                    if field in _TEXT and new is None:
                        meta.pop(field, None)
                    elif field in _TEXT or field == "priority":
                        meta[field] = new
                assignments = ", ".join(f"{f} = ?" for f, _, _ in edits)
                conn.execute(f"UPDATE items SET {assignments}, meta = ? WHERE id = ?",
                             [n for _, _, n in edits] + [json.dumps(meta), item_id])
                conn.executemany("INSERT INTO item_edits (id, item_id, field, old, new, by, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 [(uuid7(), item_id, f, _text(o), _text(n), by, now) for f, o, n in edits])
                changed += 1
    return changed


def edits(project: Project, item_id: str) -> list[dict]:
    """An item's recorded metadata edits, oldest first."""
    return [{"field": f, "old": o, "new": n, "by": b, "at": a} for f, o, n, b, a in project.conn.execute(
        "SELECT field, old, new, by, at FROM item_edits WHERE item_id = ? ORDER BY at, rowid", (item_id,))]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


WHERE_KEYS = ("kind", "scenario", "risk_level", "bucket", "source")


def item_ids_where(project: Project, where: list[str] | None) -> list[str]:
    """The ids of the items matching ["risk_level=high", "scenario=medical|legal", "source=hh-rlhf"] (`(none)`
    matches an empty field; no condition: every item), in id order."""
    clauses, args = [], []
    for key, values in pairs(where, "--where", "KEY=VALUE[|VALUE...]", WHERE_KEYS, ProjectError):
        if not values:
            raise ProjectError(f"--where {key}=: give a value (VALUE|VALUE for several, (none) for empty)")
        wanted = [v.strip() for v in values.split("|")]
        named = [v for v in wanted if v != "(none)"]
        parts = [f"{key} IN ({', '.join('?' * len(named))})"] if named else []
        if "(none)" in wanted:
            parts.append(f"{key} IS NULL")
        clauses.append("(" + " OR ".join(parts) + ")")
        args += named
    sql = "SELECT id FROM items" + (f" WHERE {' AND '.join(clauses)}" if clauses else "") + " ORDER BY id"
    return [i for (i,) in project.conn.execute(sql, args)]
