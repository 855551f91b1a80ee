"""The one shape of a production signal, and the weak label each makes.

Every tool's importer (`feedback.sources`) turns its records into `Signal`s. A signal is always stored as an event
(`feedback_events`); where it says which answer is better it also makes an item and a weak label of source
`online-feedback`, rated by `online:<tool>` (role end-users), its payload naming the signal and the event:

- thumbs (+1 / -1) -> a binary label (desirable / undesirable) on the answer alone;
- rating (a number on the tool's scale, say 1-10) -> a scalar label, its scale kept;
- regenerate (siblings under one parent; the one kept over the one regenerated), correction (the user's edit over
  the original), arena (A, B, tie, both bad) -> a pairwise label;
- rank (OpenAssistant's ranked replies) -> a ranking label;
- comment, category (a tool's categorical score, a model's evaluation) -> an event only;
- implicit (copy, follow_up, handoff, abandon, accept) -> an event only, unless the project's `feedback_implicit`
  maps it to desirable or undesirable: then a binary label as a thumbs.

Online labels never count toward overlap, open disputes or become gold (`store.overlap.NOT_VOTES`; items made here
are never gold), and aggregation weighs them by `source_trust["online-feedback"]`.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, NamedTuple

import orjson

from prefdesk.domain import ItemKind, LabelKind, LabelSource, NewItem, NewLabel
from prefdesk.domain.settings import IMPLICIT_SIGNALS
from prefdesk.formats.base import candidates
from prefdesk.formats.errors import FieldError
from prefdesk.formats.fields import render_messages
from prefdesk.store.ingest import prepare

EXPLICIT = ("thumbs", "rating", "regenerate", "correction", "arena", "rank", "comment", "category")
IMPLICIT = IMPLICIT_SIGNALS
SIGNALS = EXPLICIT + IMPLICIT
PAIRS = ("regenerate", "correction", "arena")
VERDICTS = ("A", "B", "tie", "both_bad")
ONLINE = LabelSource.ONLINE_FEEDBACK


class Signal(NamedTuple):
    """One production signal, in every tool's terms. `answers` are the texts it is about: one for thumbs, a rating
    or an implicit signal; two for a pair (`verdict` in their terms: A = answers[0]); several for a rank (`order`,
    best place first, as positions). `prompt` is the conversation before the answers, as chat messages."""

    tool: str
    external_id: str  # the tool's own id of the record (and of the signal within it: "<id>#<n>")
    signal: str
    at: str  # ISO 8601, UTC
    answers: tuple[str, ...] = ()
    prompt: list[dict] | None = None
    value: float | None = None
    value_text: str | None = None
    verdict: str | None = None
    order: list[list[int]] | None = None
    scale: tuple[float, float] | None = None
    models: tuple[str | None, ...] = ()
    conversation_id: str | None = None
    message_id: str | None = None
    parent_id: str | None = None
    model_version: str | None = None
    user_id: str | None = None
    bucket: str | None = None
    scenario: str | None = None
    comment: str | None = None
    meta: dict | None = None


def when(value: Any, field: str) -> str:
    """A time as ISO 8601 UTC with milliseconds: from epoch seconds or milliseconds (13 digits), or ISO text."""
    if isinstance(value, bool) or value is None:
        raise FieldError(field, f"expected a time (epoch seconds or ISO 8601), got {value!r}")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise FieldError(field, f"expected a time, got {value!r}")
        seconds = value / 1000 if value >= 1e11 else value  # 13 digits: milliseconds
        try:
            moment = datetime.fromtimestamp(seconds, timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise FieldError(field, f"{value!r} is not a time") from None
    elif type(value) is str and len(value) == 20 and value[10] == "T" and value[19] == "Z":  # 2026-12-01T09:00:00Z
        try:
            datetime.fromisoformat(value[:19])
        except ValueError:
            raise FieldError(field, f"expected ISO 8601 time, got {value!r}") from None
        return value[:19] + ".000Z"
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise FieldError(field, f"expected ISO 8601 time, got {value[:40]!r}") from None
        moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    else:
        raise FieldError(field, f"expected a time, got {type(value).__name__}")
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def thumb(value: Any, field: str) -> float:
    """A thumbs value: +1 or -1 (true / false too)."""
    if value is True or value is False:
        return 1.0 if value else -1.0
    if value in (1, -1) and not isinstance(value, bool):
        return float(value)
    raise FieldError(field, f"expected a thumbs value, 1 or -1, got {value!r}")


def rating(value: Any, field: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FieldError(field, f"expected a rating from {lo:g} to {hi:g}, got {value!r}")
    if not lo <= value <= hi:
        raise FieldError(field, f"rating {value!r} is out of range ({lo:g} to {hi:g})")
    return float(value)


def optional_text(value: Any, field: str) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise FieldError(field, f"expected text, got {type(value).__name__}")


def weak_label(sig: Signal, implicit: dict[str, str]) -> tuple[NewItem, list[NewLabel]] | None:
    """The item and weak label a signal makes, or None: an event only (a comment, an implicit signal left off, a
    thumbs of 0, a signal with no answer text to put on an item)."""
    kind, payload = _payload(sig, implicit)
    if kind is None or not sig.answers or not all(a.strip() for a in sig.answers):
        return None
    prompt_text = render_messages(sig.prompt) if sig.prompt else ""
    if not prompt_text.strip():
        return None
    item_kind = {LabelKind.BINARY: ItemKind.SCALAR, LabelKind.SCALAR: ItemKind.SCALAR, LabelKind.PAIRWISE:
                 ItemKind.PAIRWISE, LabelKind.RANKING: ItemKind.RANKING}[kind]
    meta: dict[str, Any] = {"feedback": {"tool": sig.tool, "conversation_id": sig.conversation_id,
                                         "message_id": sig.message_id, "signal": sig.signal}}
    for key in ("bucket", "scenario", "model_version"):
        if getattr(sig, key) is not None:
            meta[key] = getattr(sig, key)
    item = NewItem(kind=item_kind, prompt=prompt_text, prompt_messages=sig.prompt if len(sig.prompt) > 1 or
                   sig.prompt[0]["role"] != "user" else None, candidates=candidates(*sig.answers, models=sig.models),
                   meta=meta, source=f"feedback:{sig.tool}")
    payload.update(signal=sig.signal, event=f"{sig.tool}:{sig.external_id}")
    return item, [NewLabel(kind, payload, rater_name=f"online:{sig.tool}", source=ONLINE, created_at=sig.at)]


def _payload(sig: Signal, implicit: dict[str, str]) -> tuple[LabelKind | None, dict]:
    name = sig.signal
    if name == "thumbs" and sig.value:
        return LabelKind.BINARY, {"desirable": sig.value > 0}
    if name in IMPLICIT and implicit.get(name, "off") != "off":
        return LabelKind.BINARY, {"desirable": implicit[name] == "desirable"}
    if name == "rating" and sig.value is not None:
        return LabelKind.SCALAR, {"score": sig.value, "scale": list(sig.scale) if sig.scale else None}
    if name in PAIRS and sig.verdict in VERDICTS and len(sig.answers) == 2 and sig.answers[0] != sig.answers[1]:
        reason = {"regenerate": "regenerated", "correction": "corrected by the user"}.get(name)
        return LabelKind.PAIRWISE, {"verdict": sig.verdict, "strength": None, "dims": {},
                                    "reason_tags": [reason] if reason else [], "rationale": sig.comment}
    if name == "rank" and sig.order and len(sig.answers) >= 2:
        return LabelKind.RANKING, {"order": sig.order}
    return None, {}


def event_row(sig: Signal, item_hash: int | None) -> tuple:
    """The `feedback_events` row of a signal (see migration 25), less its batch (`EVENT_INSERT` binds it first)."""
    return (sig.tool, sig.external_id, sig.conversation_id, sig.message_id, sig.parent_id,
            sig.signal, sig.value, sig.value_text, sig.at, sig.models[0] if sig.models else None, sig.model_version,
            sig.user_id, sig.bucket, sig.scenario, orjson.dumps(sig.prompt).decode() if sig.prompt else None,
            sig.answers[0] if sig.answers else None, sig.comment,
            orjson.dumps({**(sig.meta or {}), **({"scale": sig.scale} if sig.scale else {})}).decode(), item_hash)


EVENT_INSERT = ("INSERT OR IGNORE INTO feedback_events (batch_id, tool, external_id, conversation_id, message_id, "
                "parent_id, signal, value, value_text, at, model, model_version, user_id, bucket, scenario, "
                "prompt_messages, answer, comment, meta, item_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "?, ?, ?, ?, ?, ?)")


def prepared(sig: Signal, implicit: dict[str, str]) -> tuple[tuple, tuple | None]:
    """A signal as rows to write, needing no database (import workers run this): its event row and, when it makes
    a weak label, its item and label prepared (`store.ingest.prepare`, as a plain tuple)."""
    weak = weak_label(sig, implicit)
    item = tuple(prepare(*weak)) if weak is not None else None
    return event_row(sig, item[0] if item else None), item
