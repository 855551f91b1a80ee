"""PrefDesk's own feedback event JSONL, which a team's app writes: one event a line (documented in the README).

    {"id": "ev-1", "conversation_id": "c-7", "message_id": "m-4", "parent_id": "m-3",
     "prompt": [{"role": "user", "content": "..."}, ...] | "text",  "answer": "...",
     "signal": "thumbs", "value": -1, "at": "2026-11-30T09:12:00Z" | 1764493920,
     "model": "support-bot", "model_version": "2026-11-28", "user_id": "u-19", "bucket": "billing",
     "scenario": "refund", "comment": "...", "correction": "...", "scale": [1, 10], "meta": {...}}

`signal` is one of `signals.SIGNALS`; `value` is +1 / -1 for thumbs and a number on `scale` (default 1..10) for a
rating; a correction carries the user's text in `correction` (the pair: it over `answer`); a regenerate is on the
answer the user asked to replace, and is paired with its kept sibling across events (`feedback.siblings`).
"""

from __future__ import annotations

from prefdesk.feedback import signals as S
from prefdesk.feedback.sources.base import Source, as_messages, per_record
from prefdesk.formats.errors import FieldError

TOOL = "prefdesk"
_NEEDS_ANSWER = ("thumbs", "rating", "regenerate", "correction")


def matches(rec: dict) -> bool:
    return "signal" in rec and "conversation_id" in rec


def _text(rec: dict, key: str, required: bool = False) -> str | None:
    value = S.optional_text(rec.get(key), key)
    if required and value is None:
        raise FieldError(key, "missing")
    return value


def convert(rec: dict) -> list[S.Signal]:
    event_id = _text(rec, "id", True)
    signal = rec.get("signal")
    if signal not in S.SIGNALS or signal in ("arena", "rank"):
        known = [s for s in S.SIGNALS if s not in ("arena", "rank")]
        raise FieldError("signal", f"expected one of {', '.join(known)}, got {signal!r}")
    prompt = as_messages(rec["prompt"], "prompt") if rec.get("prompt") is not None else None
    answer = rec.get("answer")
    if answer is not None and not isinstance(answer, str):
        raise FieldError("answer", f"expected text, got {type(answer).__name__}")
    if signal in _NEEDS_ANSWER and (prompt is None or not answer):
        raise FieldError("answer" if prompt else "prompt", f"a {signal} needs the prompt and the answer it is on")
    value, scale, other = rec.get("value"), None, None
    if signal == "thumbs":
        value = S.thumb(value, "value")
    elif signal == "rating":
        scale = _scale(rec.get("scale", [1, 10]))
        value = S.rating(value, "value", *scale)
    elif value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise FieldError("value", f"expected a number or null, got {value!r}")
    if signal == "correction":
        other = rec.get("correction")
        if not isinstance(other, str) or not other.strip():
            raise FieldError("correction", "a correction needs the user's corrected text")
    meta = rec.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise FieldError("meta", "expected an object")
    answers = (answer, other) if other else ((answer,) if answer else ())
    return [S.Signal(
        tool=TOOL, external_id=event_id, signal=signal, at=S.when(rec.get("at"), "at"), answers=answers,
        prompt=prompt, value=None if value is None else float(value), scale=scale,
        verdict="B" if other else None, models=(_text(rec, "model"), None)[:len(answers)],
        conversation_id=_text(rec, "conversation_id", True), message_id=_text(rec, "message_id"),
        parent_id=_text(rec, "parent_id"), model_version=_text(rec, "model_version"), user_id=_text(rec, "user_id"),
        bucket=_text(rec, "bucket"), scenario=_text(rec, "scenario"), comment=_text(rec, "comment"), meta=meta)]


def _scale(value) -> tuple[float, float]:
    if (not isinstance(value, list) or len(value) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, float))
                                                              for v in value) or value[0] >= value[1]):
        raise FieldError("scale", f"expected [lowest, highest], e.g. [1, 10], got {value!r}")
    return float(value[0]), float(value[1])


SOURCE = Source(TOOL, "PrefDesk feedback events: one production signal a line, written by the team's own app",
                matches, per_record(convert), convert)
