"""The process draft: a rating per step (+1 / 0 / -1, as in PRM800K), final answer, cannot judge,
and a rater-written replacement for a step."""

from __future__ import annotations

from typing import Any

from prefdesk.domain import Item, LabelKind
from prefdesk.labeling.base import Draft, Incomplete


class ProcessDraft(Draft):
    kind = LabelKind.PROCESS

    def __init__(self, item: Item, settings: dict, seed: str) -> None:
        super().__init__(item, settings, seed)
        self.ratings: list[int | None] = [None] * len(item.steps)
        self.cursor = 0
        self.final_correct: bool | None = None
        self.cannot_judge = False
        self.replacement: dict | None = None
        # a conversation's turns are rated each (a later turn may mend an earlier one); a solution's steps up to
        # its first error (PRM800K: what follows a wrong step is not judged)
        self.every_step = bool(item.meta.get("per_turn"))
        self.step_tags: dict[int, list[str]] = {}  # the project's reason tags, per step (Ctrl+1..9 on the cursor's)

    def toggle_step_tag(self, index: int) -> None:
        """The project's reason tag `index` on the step under the cursor, on or off."""
        tags = self.settings.get("reason_tags", [])
        if 0 <= index < len(tags) and self.ratings:
            mine = set(self.step_tags.get(self.cursor, [])) ^ {tags[index]}
            self.step_tags[self.cursor] = [t for t in tags if t in mine]  # in the project's order
            if not mine:
                del self.step_tags[self.cursor]

    def move(self, step: int) -> None:
        self.cursor = max(0, min(len(self.ratings) - 1, self.cursor + step))

    def rate(self, value: int) -> None:
        """Rate the step under the cursor and move on."""
        if self.ratings:
            self.ratings[self.cursor] = value
            self.move(1)

    def set_final(self, correct: bool) -> None:
        self.final_correct = correct

    def toggle_cannot_judge(self) -> None:
        self.cannot_judge = not self.cannot_judge

    def replace_step(self, text: str) -> None:
        """The rater's own text for the step under the cursor."""
        self.replacement = {"step": self.cursor, "text": text}

    def first_error(self) -> int | None:
        return self.ratings.index(-1) if -1 in self.ratings else None

    def _payload(self) -> dict[str, Any]:
        fe = self.first_error()
        rated = self.ratings[: fe + 1] if fe is not None and not self.every_step else self.ratings
        if not self.cannot_judge and (not rated or any(r is None for r in rated)):
            missing = sum(r is None for r in rated)
            raise Incomplete(f"Rate every turn: {missing} still unrated." if self.every_step else
                             f"Rate every step up to the first error (or all): {missing} still unrated.")
        return {"ratings": rated,
                "first_error": fe, "final_correct": self.final_correct, "cannot_judge": self.cannot_judge,
                "replacement": self.replacement,
                **({"step_tags": {str(k): v for k, v in sorted(self.step_tags.items())}} if self.step_tags else {})}

    def restore(self, payload: dict[str, Any], display_order: tuple[int, ...] | None) -> None:
        super().restore(payload, display_order)
        given = list(payload.get("ratings") or [])
        self.ratings = (given + [None] * len(self.ratings))[: max(len(self.ratings), len(given))]
        self.final_correct = payload.get("final_correct")
        self.cannot_judge = bool(payload.get("cannot_judge"))
        self.replacement = payload.get("replacement")
        self.step_tags = {int(k): list(v) for k, v in (payload.get("step_tags") or {}).items()}
