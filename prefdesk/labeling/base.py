"""What every draft shares: the label it produces, the display order it records, the rationale rule."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum
from typing import Any

from prefdesk.domain import Item, LabelKind


class Side(Enum):
    """A screen side. Drafts turn sides into candidate positions through their display order."""

    LEFT = "left"
    RIGHT = "right"
    TIE = "tie"


class Incomplete(Exception):
    """The draft cannot be committed yet; the message tells the rater what is missing."""


@dataclass(frozen=True)
class ReadyLabel:
    """A label ready to store: kind, payload in candidate terms, and the order candidates were shown in."""

    kind: LabelKind
    payload: dict[str, Any]
    display_order: tuple[int, ...] | None = None


def shuffled(n: int, seed: str, item_id: str) -> tuple[int, ...]:
    """The candidate positions in the order shown, random per item and rater but stable on return."""
    order = list(range(n))
    random.Random(f"{seed}:{item_id}").shuffle(order)
    return tuple(order)


def rationale_needed(settings: dict, item: Item) -> bool:
    """Whether the project asks for a rationale on this item (every label kind alike)."""
    rule = settings.get("rationale_required", "never")
    return rule == "always" or (rule == "high-risk" and item.risk_level == "high")


class Draft:
    """Base of the drafts. Subclasses set `kind` and implement `ready`, `restore` and `_payload`."""

    kind: LabelKind

    def __init__(self, item: Item, settings: dict, seed: str) -> None:
        self.item = item
        self.settings = settings
        self.rationale = ""
        self.display_order: tuple[int, ...] | None = None
        self.restored = False  # True when the draft holds an earlier label being re-done
        self.spans: list[dict] = []  # marked spans: character offsets into a candidate's stored text (H)

    def mark_span(self, candidate: int, start: int, end: int, label: str, comment: str = "") -> dict:
        """Mark characters start..end of a candidate's text with one of the project's span labels."""
        text = self.item.candidates[candidate].text
        if not 0 <= start < end <= len(text):
            raise Incomplete(f"A span needs characters of the text: {start}..{end} of {len(text)}.")
        if label not in self.settings.get("span_labels", []):
            raise Incomplete(f"{label!r} is not one of the project's span labels.")
        span = {"candidate": candidate, "start": start, "end": end, "text": text[start:end], "label": label,
                "comment": comment.strip() or None}
        self.spans = sorted([*self.spans, span], key=lambda s: (s["candidate"], s["start"], s["end"]))
        return span

    def unmark_span(self, index: int) -> None:
        del self.spans[index]

    def restore(self, payload: dict[str, Any], display_order: tuple[int, ...] | None) -> None:
        """Show an earlier label again: its answers, tags and rationale, editable."""
        self.rationale = payload.get("rationale") or ""
        self.spans = [dict(s) for s in payload.get("spans") or []]
        if display_order is not None and len(display_order) == len(self.display_order or ()):
            self.display_order = tuple(display_order)
        self.restored = True

    def ready(self) -> ReadyLabel:
        """The label to commit, or `Incomplete` saying what is missing."""
        if rationale_needed(self.settings, self.item) and not self.rationale.strip():
            raise Incomplete("This item needs a rationale: write it, then give the label.")
        payload = self._payload()
        payload["rationale"] = self.rationale.strip() or None
        if self.spans:  # only when marked: a label without spans is stored as before
            payload["spans"] = [dict(s) for s in self.spans]
        return ReadyLabel(self.kind, payload, self.display_order)

    def _payload(self) -> dict[str, Any]:
        raise NotImplementedError
