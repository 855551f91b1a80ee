"""The pairwise draft: overall verdict and strength, per-dimension verdicts, reason tags, rationale."""

from __future__ import annotations

from typing import Any

from prefdesk.domain import Item, LabelKind, Strength, Verdict
from prefdesk.labeling.base import Draft, Incomplete, ReadyLabel, Side, shuffled


class PairwiseDraft(Draft):
    kind = LabelKind.PAIRWISE

    def __init__(self, item: Item, settings: dict, seed: str) -> None:
        super().__init__(item, settings, seed)
        self.display_order = shuffled(2, seed, item.id)
        self.dimensions: list[str] = list(settings["dimensions"])
        self.reason_tags: list[str] = list(settings["reason_tags"])
        self.dims: dict[str, Verdict | None] = {d: None for d in self.dimensions}
        self.tags: set[str] = set()
        self.dim_cursor: int | None = None  # None: not in the dimensions
        self.verdict: Verdict | None = None
        self.strength: Strength | None = None

    # -- screen sides to candidates ----------------------------------------------------------------
    def verdict_for(self, side: Side) -> Verdict:
        """The verdict a screen side stands for under this item's display order."""
        if side is Side.TIE:
            return Verdict.TIE
        shown = self.display_order[0 if side is Side.LEFT else 1]
        return Verdict.A if shown == 0 else Verdict.B

    def side_of(self, verdict: Verdict | None) -> Side | None:
        if verdict is None:
            return None
        if verdict in (Verdict.TIE, Verdict.BOTH_BAD):
            return Side.TIE
        return Side.LEFT if self.verdict_for(Side.LEFT) is verdict else Side.RIGHT

    # -- dimensions ---------------------------------------------------------------------------------
    @property
    def in_dimensions(self) -> bool:
        return self.dim_cursor is not None

    def enter_dimensions(self) -> None:
        if self.dimensions:
            self.dim_cursor = 0

    def leave_dimensions(self) -> None:
        self.dim_cursor = None

    def move_dimension(self, step: int) -> None:
        if self.dim_cursor is not None:
            self.dim_cursor = max(0, min(len(self.dimensions) - 1, self.dim_cursor + step))

    def set_dimension(self, side: Side) -> None:
        """Set the dimension under the cursor and move down; past the last one, leave the dimensions."""
        if self.dim_cursor is None:
            return
        self.dims[self.dimensions[self.dim_cursor]] = self.verdict_for(side)
        self.dim_cursor += 1
        if self.dim_cursor >= len(self.dimensions):
            self.dim_cursor = None

    # -- tags, verdict ------------------------------------------------------------------------------
    def toggle_tag(self, index: int) -> None:
        if 0 <= index < len(self.reason_tags):
            self.tags ^= {self.reason_tags[index]}

    def decide(self, verdict: Verdict, strength: Strength | None = None) -> ReadyLabel:
        """Give the overall verdict; the label is ready unless the rationale rule says otherwise."""
        self.verdict = verdict
        self.strength = strength if verdict.is_decisive else None
        return self.ready()

    def resubmit(self) -> ReadyLabel:
        """Commit a restored label (edited or not) with its verdict as it stands."""
        if self.verdict is None:
            raise Incomplete("Give a verdict: 1/2 for a side, T tie, B both bad.")
        return self.ready()

    def _payload(self) -> dict[str, Any]:
        if self.verdict is None:
            raise Incomplete("Give a verdict: 1/2 for a side, T tie, B both bad.")
        return {
            "verdict": self.verdict.value,
            "strength": self.strength.value if self.strength else None,
            "dims": {d: v.value for d, v in self.dims.items() if v is not None},
            "reason_tags": [t for t in self.reason_tags if t in self.tags] + sorted(self.tags - set(self.reason_tags)),
        }

    def restore(self, payload: dict[str, Any], display_order: tuple[int, ...] | None) -> None:
        super().restore(payload, display_order)
        self.verdict = Verdict(payload["verdict"])
        self.strength = Strength(payload["strength"]) if payload.get("strength") else None
        for dim, value in (payload.get("dims") or {}).items():
            if dim not in self.dims:  # a dimension since removed from the project: kept, not lost
                self.dimensions.append(dim)
            self.dims[dim] = Verdict(value)
        self.tags = set(payload.get("reason_tags") or [])
