"""Scalar view: one response, a score on the project's scale by one digit key."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout

from prefdesk.domain import Item, LabelKind
from prefdesk.ui.views.base import Commit, ItemView, OfflineBrowser, PromptPane, caption


class ScalarView(ItemView):
    def __init__(self, project_settings: dict) -> None:
        super().__init__(project_settings)
        self.prompt = PromptPane()
        self.response = OfflineBrowser()
        lo, hi = self.settings["scale"]
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.prompt, 1)
        layout.addWidget(caption(f"Response — score it {lo} to {hi} with the number keys"))
        layout.addWidget(self.response, 3)

    def show_item(self, item: Item, seed: str) -> None:
        self.item = item
        self.prompt.show_item(item)
        self.response.show_markdown(item.candidates[0].text)

    def handle(self, action: str) -> Commit | None:
        lo, hi = self.settings["scale"]
        if action.startswith("scalar_"):
            score = int(action.split("_")[1])
            if lo <= score <= hi:
                return Commit(LabelKind.SCALAR, {"score": score, "dims": {}})
        return None

    def hint(self) -> str:
        lo, hi = self.settings["scale"]
        return f"{lo}–{hi} score"
