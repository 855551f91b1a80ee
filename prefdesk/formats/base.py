"""What a format is: a name, a test on one record, and a converter to items and labels."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from prefdesk.domain import Candidate, ItemKind, NewItem, NewLabel
from prefdesk.formats.errors import FieldError

Converted = list[tuple[NewItem, list[NewLabel]]]


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    matches: Callable[[dict], bool]
    convert: Callable[[dict], Converted]
    exchange: bool = False  # records carry whole labels (the `labels` format): written by store.exchange
    public: bool = False  # a public dataset: its labels come in as references by default (`--labels-as`)


def candidates(*texts: str, models: tuple[str | None, ...] = (), messages: tuple = ()) -> tuple[Candidate, ...]:
    if not models and not messages:
        return tuple(map(Candidate, range(len(texts)), texts))
    return tuple(
        Candidate(i, t, messages[i] if i < len(messages) else None, models[i] if i < len(models) else None)
        for i, t in enumerate(texts)
    )


def item(kind: ItemKind, prompt: tuple[str, list | None], cands, meta: dict, **kw) -> NewItem:
    text, msgs = prompt
    return NewItem(
        kind=kind, prompt=text, prompt_messages=msgs, candidates=cands, meta=meta,
        is_gold=bool(kw.pop("is_gold", meta.get("is_gold", False))),
        priority=priority_of(meta), **kw,
    )


def priority_of(meta: dict) -> float:
    """The item's queue priority from its metadata: a finite number (or numeric text, as CSV cells are)."""
    value = meta.get("priority", 0)
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FieldError("priority", f"expected a number, got {type(value).__name__}")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise FieldError("priority", f"expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise FieldError("priority", f"expected a finite number, got {value!r}")
    return number
