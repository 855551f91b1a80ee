"""The ranking draft: places best first, ties allowed; keys name candidates by their place on screen."""

from __future__ import annotations

from typing import Any

from prefdesk.domain import Item, LabelKind
from prefdesk.labeling.base import Draft, Incomplete, shuffled


class RankingDraft(Draft):
    kind = LabelKind.RANKING

    def __init__(self, item: Item, settings: dict, seed: str) -> None:
        super().__init__(item, settings, seed)
        self.display_order = shuffled(len(item.candidates), seed, item.id)
        self.tiers: list[list[int]] = []  # candidate positions, best tier first
        self.tie_next = False

    @property
    def size(self) -> int:
        return len(self.item.candidates)

    def placed(self) -> set[int]:
        return {p for tier in self.tiers for p in tier}

    def place_shown(self, slot: int) -> None:
        """Give the next place to the candidate shown in `slot` (0 = first on screen); `tie_next` joins
        it to the previous place. The last one left is placed by the rater too (`=` then its number ties
        it), or on submit, last."""
        if not 0 <= slot < self.size:
            return
        pos = self.display_order[slot]
        if pos in self.placed():
            return
        if self.tie_next and self.tiers:
            self.tiers[-1].append(pos)
        else:
            self.tiers.append([pos])
        self.tie_next = False

    def tie_with_previous(self) -> None:
        self.tie_next = bool(self.tiers)

    def reset(self) -> None:
        self.tiers, self.tie_next = [], False

    def set_order(self, tiers: list[list[int]]) -> None:
        """The whole order at once (a drag), in candidate positions."""
        self.tiers, self.tie_next = [list(t) for t in tiers], False

    def unplaced(self) -> list[int]:
        """Candidate positions not placed yet, in screen order."""
        placed = self.placed()
        return [p for p in self.display_order if p not in placed]

    def _payload(self) -> dict[str, Any]:
        rest = self.unplaced()
        if len(rest) > 1:
            raise Incomplete(f"Place every candidate: {self.size - len(rest)} of {self.size} placed.")
        tiers = [list(t) for t in self.tiers]
        if rest and self.tie_next and tiers:  # "=" pressed, then submit: the last one ties the last place
            tiers[-1] += rest
        elif rest:  # the one left over takes the last place
            tiers.append(rest)
        return {"order": tiers}

    def restore(self, payload: dict[str, Any], display_order: tuple[int, ...] | None) -> None:
        super().restore(payload, display_order)
        self.set_order(payload["order"])
