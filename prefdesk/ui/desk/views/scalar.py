"""Scalar view: one response, a score on the project's scale by one digit key, the scale's anchors shown."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from prefdesk.labeling import ReadyLabel, ScalarDraft
from prefdesk.ui.actions import action
from prefdesk.ui.desk.views.base import ItemView, OfflineBrowser, PromptPane, caption, escaped


class ScalarView(ItemView):
    scope = "scalar"

    def __init__(self) -> None:
        super().__init__()
        self.prompt = PromptPane()
        self.response = OfflineBrowser()
        self.scale_caption = caption()
        self.anchors = caption()
        self.anchors.setWordWrap(True)
        self.state = caption()
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.scale_caption)
        column.addWidget(self.response, 1)
        self.lay_out(self.prompt, body, self.anchors, self.state)

    def show_draft(self, draft: ScalarDraft) -> None:
        self.draft = draft
        self.show_prompt(draft.item)
        self.response.show_markdown(draft.item.candidates[0].text)
        self.render()

    def render(self) -> None:
        lo, hi = self.draft.scale
        self.scale_caption.setText(f"Response — score it {lo} to {hi} with the number keys")
        anchors = self.draft.anchors
        self.anchors.setText(" · ".join(f"<b>{escaped(s)}</b> = {escaped(t)}" for s, t in anchors.items())
                             if anchors else f"{lo} worst … {hi} best")
        restored = self.draft.restored and self.draft.score is not None
        self.state.setText(f"Your earlier score: <b>{self.draft.score}</b> — a number key replaces it" if restored else "")

    def scroll_answers(self, how: str) -> None:
        self.response.scroll(how)

    def hint(self) -> str:
        lo, hi = self.draft.scale
        return f"{lo}–{hi} score"

    def score(self, score: int) -> ReadyLabel:
        return self.draft.give(score)


for _n in range(10):
    action(f"score_{_n}", "scalar", str(_n), f"Score {_n}", arg=_n)(ScalarView.score)
