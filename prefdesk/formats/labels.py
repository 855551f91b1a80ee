"""The `labels` exchange format: one JSON object a line, an item and one label with all its metadata.

    {"item": {"id", "kind", "prompt", "prompt_messages", "candidates": [text, ...], "candidate_meta": [{...}, ...],
              "steps", "meta", "gold"},
     "label": {"id", "kind", "payload", "rater": {"name", "role", "level"}, "session", "created_at",
               "duration_ms", "guideline_version", "app_version", "round", "display_order", "source",
               "confidence", "supersedes"}}

Export writes every label ever written, superseded ones too, oldest first. Import needs only
`item.prompt` + `item.candidates` (or `item.id`), `label.kind`, `label.payload` and `label.rater.name`;
the rest defaults. A candidate with no provenance has `{}` in `candidate_meta`, not null: pyarrow's JSON reader
(26.0, what `datasets` reads JSONL with) builds an invalid table from a list that holds nulls in one row and
values in another. Payloads are checked against their kind (`prefdesk.domain.payloads`). This is how
labels move between tools and machines.
"""

from __future__ import annotations

from typing import Any

import orjson

from prefdesk.domain import ItemKind, LabelKind, LabelSource, RaterRole
from prefdesk.formats import fields as F
from prefdesk.formats.base import Format
from prefdesk.formats.errors import FieldError
from prefdesk.domain.payloads import candidates_named, payload_problems

_KINDS = {k.value for k in ItemKind}
_LABEL_KINDS = {k.value: k for k in LabelKind}
_SOURCES = {s.value for s in LabelSource}
_ROLES = {r.value for r in RaterRole}


def _json(raw: str | None) -> Any:
    return orjson.loads(raw) if raw else None


def exchange_row(row: tuple) -> dict:
    """One exported line from a `store.exchange.every_label` row."""
    (item_id, kind, prompt, messages, cands, steps, meta, is_gold, gold_answer,
     label_id, lkind, payload, name, role, level, session, created_at, duration_ms, guideline_version,
     app_version, round_, display_order, source, confidence, supersedes) = row
    gold = (_json(gold_answer) or {}) if is_gold else None
    cands = orjson.loads(cands)
    return {
        "item": {"id": item_id, "kind": kind, "prompt": prompt, "prompt_messages": _json(messages),
                 "candidates": [c["text"] for c in cands], "candidate_meta": [c.get("meta") or {} for c in cands],
                 "steps": [{"text": s["text"], "state": s.get("state")} for s in (_json(steps) or [])],
                 "meta": orjson.Fragment(meta), "gold": gold},
        "label": {"id": label_id, "kind": lkind, "payload": orjson.Fragment(payload),
                  "rater": {"name": name, "role": role, "level": level}, "session": session, "created_at": created_at,
                  "duration_ms": duration_ms, "guideline_version": guideline_version, "app_version": app_version,
                  "round": round_, "display_order": _json(display_order), "source": source, "confidence": confidence,
                  "supersedes": supersedes},
    }


def matches(rec: dict) -> bool:
    return isinstance(rec.get("item"), dict) and isinstance(rec.get("label"), dict)


def _optional_text(rec: dict, key: str, field: str) -> str | None:
    value = rec.get(key)
    if value is not None and not isinstance(value, str):
        raise FieldError(field, f"expected text or null, got {type(value).__name__}")
    return value


def _item(raw: dict) -> dict:
    item_id = _optional_text(raw, "id", "item.id")
    if "candidates" not in raw and not item_id:
        raise FieldError("item", "needs prompt and candidates, or the id of an item already in the project")
    kind = raw.get("kind") or ("process" if raw.get("steps") else None)
    prompt, messages = F.prompt(raw) if "prompt" in raw else ("", None)
    if raw.get("prompt_messages") is not None:  # a chat prompt goes out as its text and its messages: both come back
        messages = F.messages(raw["prompt_messages"], "item.prompt_messages")
    cands = raw.get("candidates", [])
    if not isinstance(cands, list):
        raise FieldError("item.candidates", "expected a list of texts")
    texts = []
    for i, c in enumerate(cands):
        text = c if isinstance(c, str) else c.get("text") if isinstance(c, dict) else None
        if not isinstance(text, str):
            raise FieldError(f"item.candidates[{i}]", "expected text")
        texts.append(text)
    steps = []
    for i, s in enumerate(raw.get("steps") or []):
        text = s if isinstance(s, str) else s.get("text", s.get("output")) if isinstance(s, dict) else None
        if not isinstance(text, str):
            raise FieldError(f"item.steps[{i}]", "expected text or {text, state}")
        steps.append({"text": text, "state": s.get("state") if isinstance(s, dict) else None})
    if kind is None:
        kind = {1: "scalar", 2: "pairwise"}.get(len(texts), "ranking")
    if kind not in _KINDS:
        raise FieldError("item.kind", f"expected one of {', '.join(sorted(_KINDS))}, got {kind!r}")
    if "candidates" in raw and not prompt.strip():
        raise FieldError("item.prompt", "missing or empty")
    meta = raw.get("meta") or {}
    if not isinstance(meta, dict):
        raise FieldError("item.meta", "expected an object")
    gold = raw.get("gold")
    if gold is not None and not isinstance(gold, dict):
        raise FieldError("item.gold", "expected null or the expected answer as an object, e.g. {\"verdict\": \"A\"}")
    return {"id": item_id, "kind": kind, "prompt": prompt, "prompt_messages": messages, "candidates": texts,
            "steps": steps, "meta": meta, "gold": gold, "by_id_only": "candidates" not in raw}


def _label(raw: dict, n_candidates: int, n_steps: int, by_id_only: bool, texts: list[str] | None = None) -> dict:
    kind = raw.get("kind")
    if kind not in _LABEL_KINDS:
        raise FieldError("label.kind", f"expected one of {', '.join(_LABEL_KINDS)}, got {kind!r}")
    rater = raw.get("rater")
    if not isinstance(rater, dict) or not isinstance(rater.get("name"), str) or not rater["name"].strip():
        raise FieldError("label.rater.name", "missing: every label needs its rater's name")
    if rater.get("role") is not None and rater["role"] not in _ROLES:
        raise FieldError("label.rater.role", f"expected one of {', '.join(sorted(_ROLES))}, got {rater['role']!r}")
    payload = raw.get("payload")
    known = not by_id_only  # an item named by id alone: its size is checked against the project's item
    problems = payload_problems(_LABEL_KINDS[kind], payload, *((n_candidates, n_steps, texts) if known else
                                                               (None, None, None)))
    if problems:
        field, message = problems[0]
        raise FieldError(f"label.{field}", message)
    source = raw.get("source") or LabelSource.IMPORT.value
    if source not in _SOURCES:
        raise FieldError("label.source", f"expected one of {', '.join(sorted(_SOURCES))}, got {source!r}")
    round_ = raw.get("round", 1)
    if isinstance(round_, bool) or not isinstance(round_, int) or not 1 <= round_ <= 1000:
        raise FieldError("label.round", f"expected a whole number from 1 to 1000, got {round_!r}")
    order = raw.get("display_order")
    if order is not None and (not isinstance(order, list) or sorted(order) != list(range(len(order)))):
        raise FieldError("label.display_order", "expected the candidate positions as shown left to right, e.g. [1, 0]")
    F.duration_ms(raw.get("duration_ms"), "label.duration_ms")
    confidence = raw.get("confidence")
    if confidence is not None and (isinstance(confidence, bool) or not isinstance(confidence, (int, float))
                                   or not 0 <= confidence <= 1):
        raise FieldError("label.confidence", f"expected a number from 0 to 1 or null, got {confidence!r}")
    out = {key: _optional_text(raw, key, f"label.{key}")
           for key in ("id", "session", "created_at", "guideline_version", "app_version", "supersedes")}
    return {**out, "kind": kind, "payload": payload, "rater": {"name": rater["name"].strip(), "role": rater.get("role"),
            "level": rater.get("level")}, "duration_ms": raw.get("duration_ms"), "round": round_,
            "display_order": order, "source": source, "confidence": raw.get("confidence"),
            "candidates_needed": candidates_named(_LABEL_KINDS[kind], payload)}


def convert(rec: dict) -> list[dict]:
    """A record checked and normalised for `store.exchange.LabelExchange` (no database needed)."""
    item = _item(F.obj(rec, "item"))
    label = _label(F.obj(rec, "label"), len(item["candidates"]), len(item["steps"]), item["by_id_only"],
                   item["candidates"])
    return [{"item": item, "label": label}]


FORMAT = Format("labels", "PrefDesk label exchange: an item and a label with all its metadata, a line each",
                matches, convert, exchange=True)
