"""Rows of the project file to domain records and back (labels, candidates, steps, raters)."""

from __future__ import annotations

import json
from typing import Any

import orjson

from prefdesk.domain import Candidate, Label, LabelKind, LabelSource, Rater, RaterRole, Step


# The rater's role when the label was given (recorded with the session), for labels whose session recorded it; a
# lead may change a role later (`People.set_role`) without moving earlier labels between layers
ROLE_AT_LABEL = "COALESCE((SELECT s.rater_role FROM sessions s WHERE s.id = l.session_id), r.role)"

LABEL_COLUMNS = (
    "id, item_id, rater_id, kind, payload, created_at, source, session_id, duration_ms, "
    "guideline_version, app_version, round, display_order, confidence, supersedes"
)


_LABEL_KINDS = {k.value: k for k in LabelKind}
_SOURCES = {s.value: s for s in LabelSource}


def label_from_row(row: tuple) -> Label:
    """A Label from a `LABEL_COLUMNS` row (enum look-ups by dict: this runs once per exported label)."""
    return Label(
        id=row[0], item_id=row[1], rater_id=row[2], kind=_LABEL_KINDS[row[3]], payload=orjson.loads(row[4]),
        created_at=row[5], source=_SOURCES[row[6]], session_id=row[7], duration_ms=row[8],
        guideline_version=row[9], app_version=row[10], round=row[11],
        display_order=tuple(orjson.loads(row[12])) if row[12] else None, confidence=row[13], supersedes=row[14],
    )


_CANDIDATE_FIELDS = ("messages", "model", "gen_params", "source", "meta")


def candidates_to_json(cands) -> str:
    """[{text, messages?, model?, gen_params?, source?, meta?}, ...] in position order."""
    out = []
    for c in cands:
        entry = {"text": c.text}
        entry.update((k, v) for k, v in zip(_CANDIDATE_FIELDS, c[2:]) if v is not None)
        out.append(entry)
    return orjson.dumps(out).decode()


def candidates_from_json(raw: str) -> tuple[Candidate, ...]:
    return tuple(Candidate(i, c["text"], *(c.get(k) for k in _CANDIDATE_FIELDS)) for i, c in enumerate(orjson.loads(raw)))


def steps_to_json(steps) -> str | None:
    if not steps:
        return None
    return orjson.dumps([{"text": s.text, "state": s.state} if s.state else {"text": s.text} for s in steps]).decode()


def steps_from_json(raw: str | None) -> tuple[Step, ...]:
    return tuple(Step(i, s["text"], s.get("state")) for i, s in enumerate(orjson.loads(raw))) if raw else ()


def rater_from_row(row: tuple) -> Rater:
    return Rater(row[0], row[1], RaterRole(row[2]), row[3], row[4])


def loads_or_none(text: str | None) -> Any:
    return json.loads(text) if text else None


def rows_in(conn, sql: str, ids, args: tuple = (), size: int = 900):
    """The rows of `sql` (with `{marks}` where the `IN (...)` list goes, then `args`) for every id in `ids`,
    read `size` ids at a time (SQLite's variable limit); nothing for no ids."""
    ids = list(ids)
    for start in range(0, len(ids), size):
        chunk = ids[start:start + size]
        yield from conn.execute(sql.format(marks=", ".join("?" * len(chunk))), [*chunk, *args])
