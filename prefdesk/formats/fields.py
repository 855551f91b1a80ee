"""Small checks shared by the converters; each raises FieldError naming the field."""

from __future__ import annotations

import math
from typing import Any

from prefdesk.domain.models import MAX_DURATION_MS
from prefdesk.formats.errors import FieldError

ROLES = {"system", "user", "assistant", "tool", "developer"}


def text(rec: dict, key: str, *, allow_empty: bool = False) -> str:
    if key not in rec:
        raise FieldError(key, "missing")
    value = rec[key]
    if not isinstance(value, str):
        raise FieldError(key, f"expected text, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise FieldError(key, "is empty")
    return value


def number(rec: dict, key: str, lo: float | None = None, hi: float | None = None) -> float:
    if key not in rec:
        raise FieldError(key, "missing")
    value = rec[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldError(key, f"expected a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise FieldError(key, f"expected a finite number, got {value}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise FieldError(key, f"{value} is outside {lo}..{hi}")
    return value


def duration_ms(value: Any, field: str) -> int | None:
    """A time spent in milliseconds, or None; anything SQLite cannot hold or no one spends is refused."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FieldError(field, f"expected milliseconds or null, got {value!r}")
    if not 0 <= value <= MAX_DURATION_MS:
        raise FieldError(field, f"{value} ms is not a time spent on a label (expected 0 to {MAX_DURATION_MS})")
    return int(value)


def listof(rec: dict, key: str, min_len: int = 1) -> list:
    if key not in rec:
        raise FieldError(key, "missing")
    value = rec[key]
    if not isinstance(value, list):
        raise FieldError(key, f"expected a list, got {type(value).__name__}")
    if len(value) < min_len:
        raise FieldError(key, f"needs at least {min_len} entries, has {len(value)}")
    return value


def obj(rec: dict, key: str) -> dict:
    if key not in rec:
        raise FieldError(key, "missing")
    value = rec[key]
    if not isinstance(value, dict):
        raise FieldError(key, f"expected an object, got {type(value).__name__}")
    return value


def messages(value: Any, field: str) -> list[dict]:
    """Validate a chat message list `[{role, content}]`."""
    if not isinstance(value, list) or not value:
        raise FieldError(field, "expected a non-empty list of {role, content} messages")
    for i, msg in enumerate(value):
        if not isinstance(msg, dict):
            raise FieldError(f"{field}[{i}]", "expected an object with role and content")
        if not isinstance(msg.get("role"), str) or msg["role"] not in ROLES:
            raise FieldError(f"{field}[{i}].role", f"expected one of {sorted(ROLES)}, got {msg.get('role')!r}")
        if not isinstance(msg.get("content"), str):
            raise FieldError(f"{field}[{i}].content", "expected text")
    return value


def render_messages(msgs: list[dict]) -> str:
    """A plain-text rendering of a conversation, used for search, hashing and text exports."""
    if len(msgs) == 1 and msgs[0]["role"] == "user":
        return msgs[0]["content"]
    return "\n\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in msgs)


def prompt(rec: dict, key: str = "prompt") -> tuple[str, list[dict] | None]:
    """A prompt given as text or as chat messages: (text rendering, messages or None)."""
    if key not in rec:
        raise FieldError(key, "missing")
    value = rec[key]
    if isinstance(value, str):
        if not value.strip():
            raise FieldError(key, "is empty")
        return value, None
    msgs = messages(value, key)
    return render_messages(msgs), msgs


def response(value: Any, field: str) -> tuple[str, list[dict] | None]:
    """A response given as text, a message list (its assistant turns) or {text|content|response}."""
    if isinstance(value, str):
        return value, None
    if isinstance(value, list):
        msgs = messages(value, field)
        return "\n\n".join(m["content"] for m in msgs if m["role"] == "assistant") or msgs[-1]["content"], msgs
    if isinstance(value, dict):
        for key in ("text", "content", "response"):
            if isinstance(value.get(key), str):
                return value[key], None
    raise FieldError(field, f"expected text or messages, got {type(value).__name__}")


def meta_of(rec: dict, used: set[str]) -> dict:
    """Keys a format does not use are kept as item metadata, merged over an explicit `meta`."""
    meta = dict(rec["meta"]) if isinstance(rec.get("meta"), dict) else {}
    for key, value in rec.items():
        if key not in used and key != "meta":
            meta[key] = value
    return meta
