"""The scalar draft: one score on the project's scale."""

from __future__ import annotations

from typing import Any

from prefdesk.domain import Item, LabelKind
from prefdesk.labeling.base import Draft, Incomplete, ReadyLabel


class ScalarDraft(Draft):
    kind = LabelKind.SCALAR

    def __init__(self, item: Item, settings: dict, seed: str) -> None:
        super().__init__(item, settings, seed)
        self.scale: tuple[int, int] = tuple(settings["scale"])
        self.anchors: dict[str, str] = dict(settings.get("scale_anchors") or {})
        self.score: int | float | None = None

    def give(self, score: int) -> ReadyLabel:
        """Score the response; a number off the scale is refused."""
        lo, hi = self.scale
        if not lo <= score <= hi:
            raise Incomplete(f"{score} is off the scale: score {lo} to {hi}.")
        self.score = score
        return self.ready()

    def _payload(self) -> dict[str, Any]:
        if self.score is None:
            lo, hi = self.scale
            raise Incomplete(f"Score it {lo} to {hi}.")
        return {"score": self.score, "dims": {}}

    def restore(self, payload: dict[str, Any], display_order: tuple[int, ...] | None) -> None:
        super().restore(payload, display_order)
        self.score = payload["score"]
