"""Process view: the problem, then its steps as rows, each rated +1 / 0 / -1 (PRM800K style).

The cursor moves to the next step after each rating. After a -1 the rater may submit ("found the
first error") or rate on. Final answer correct / incorrect and "cannot judge" are single keys.
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import QLabel

from prefdesk.domain import Item, LabelKind
from prefdesk.ui.content import to_html
from prefdesk.ui.views.base import Commit, ItemView, OfflineBrowser, PromptPane, caption

BADGE = {1: ("+1", "#2f855a", "#c6f6d5"), 0: ("0", "#744210", "#fefcbf"), -1: ("−1", "#c53030", "#fed7d7"),
         None: ("·", "#718096", "#edf2f7")}


class ProcessView(ItemView):
    def __init__(self, project_settings: dict) -> None:
        super().__init__(project_settings)
        self.ratings: list[int | None] = []
        self.cursor = 0
        self.final_correct: bool | None = None
        self.cannot_judge = False
        self.replacement: dict | None = None
        self.prompt = PromptPane("Problem")
        self.steps = OfflineBrowser()
        self.state = QLabel()
        self.state.setStyleSheet("padding: 4px; font-size: 13px;")
        self.lay_out(self.prompt, self.steps,
                     caption("Steps: J/K move · + 0 − rate · C/I final answer · X cannot judge · Enter submit"), self.state)

    def show_item(self, item: Item, seed: str) -> None:
        self.item = item
        self.ratings = [None] * len(item.steps)
        self.cursor, self.final_correct, self.cannot_judge, self.replacement = 0, None, False, None
        self.prompt.show_item(item)
        self._render()

    def first_error(self) -> int | None:
        return self.ratings.index(-1) if -1 in self.ratings else None

    def _render(self) -> None:
        rows = []
        for i, step in enumerate(self.item.steps):
            label, fg, bg = BADGE[self.ratings[i]]
            border = "2px solid #3b82f6" if i == self.cursor else "1px solid #e2e8f0"
            state = f"<div style='color:#718096'>{html.escape(step.state)}</div>" if step.state else ""
            rows.append(
                f"<table width='100%' cellpadding='6' style='border:{border}; margin-bottom:4px'><tr>"
                f"<td width='28' valign='top' style='color:#718096'>{i + 1}</td>"
                f"<td width='40' valign='top' align='center' style='background:{bg}; color:{fg}; font-weight:600'>{label}</td>"
                f"<td>{state}{to_html(step.text)}</td></tr></table>")
        self.steps.setHtml("".join(rows))
        done = sum(r is not None for r in self.ratings)
        fe = self.first_error()
        final = {None: "not set", True: "correct", False: "incorrect"}[self.final_correct]
        self.state.setText(
            f"Step {self.cursor + 1}/{len(self.ratings)} · rated {done} · "
            + (f"first error at step {fe + 1} (Enter to stop here) · " if fe is not None else "")
            + f"final answer: {final}" + (" · CANNOT JUDGE" if self.cannot_judge else ""))

    def _rate(self, value: int) -> None:
        self.ratings[self.cursor] = value
        self.cursor = min(self.cursor + 1, len(self.ratings) - 1)

    def payload(self) -> dict:
        fe = self.first_error()
        rated = self.ratings[: fe + 1] if fe is not None else self.ratings
        return {"ratings": rated, "first_error": fe, "final_correct": self.final_correct,
                "cannot_judge": self.cannot_judge, "replacement": self.replacement}

    def ready(self) -> bool:
        """Submittable: cannot judge, or every step up to the first error (or all) rated."""
        if self.cannot_judge:
            return True
        fe = self.first_error()
        upto = self.ratings[: fe + 1] if fe is not None else self.ratings
        return bool(upto) and all(r is not None for r in upto)

    def handle(self, action: str) -> Commit | None:
        if action == "step_down":
            self.cursor = min(self.cursor + 1, len(self.ratings) - 1)
        elif action == "step_up":
            self.cursor = max(self.cursor - 1, 0)
        elif action in ("step_good", "step_neutral", "step_bad"):
            self._rate({"step_good": 1, "step_neutral": 0, "step_bad": -1}[action])
        elif action in ("final_correct", "final_wrong"):
            self.final_correct = action == "final_correct"
        elif action == "cannot_judge":
            self.cannot_judge = not self.cannot_judge
        elif action == "submit" and self.ready():
            return Commit(LabelKind.PROCESS, self.payload())
        self._render()
        return None

    def set_replacement(self, text: str) -> None:
        """A rater-written replacement for the current step."""
        self.replacement = {"step": self.cursor, "text": text}
        self._render()

    def hint(self) -> str:
        return "J/K move · + 0 − rate · C/I final answer · X cannot judge · Enter submit"
