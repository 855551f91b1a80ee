"""Ranking view: 3+ candidates; press their numbers from best to worst, `=` ties with the place before."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from prefdesk.domain import Item, LabelKind
from prefdesk.ui.content import to_html
from prefdesk.ui.views.base import Commit, ItemView, OfflineBrowser, PromptPane, caption


class RankingView(ItemView):
    def __init__(self, project_settings: dict) -> None:
        super().__init__(project_settings)
        self.tiers: list[list[int]] = []
        self.tie_next = False
        self.prompt = PromptPane()
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.order_label = QLabel()
        self.order_label.setStyleSheet("padding: 4px; font-size: 14px;")
        self.lay_out(self.prompt, self.grid_host, self.order_label)
        self.captions: list[QLabel] = []

    def show_item(self, item: Item, seed: str) -> None:
        self.item = item
        self.tiers, self.tie_next = [], False
        while self.grid.count():
            self.grid.takeAt(0).widget().deleteLater()
        self.captions = []
        cols = 2 if len(item.candidates) <= 4 else 3
        for i, cand in enumerate(item.candidates):
            box = QWidget()
            col = QVBoxLayout(box)
            col.setContentsMargins(0, 0, 0, 0)
            cap = caption(f"[{i + 1}]")
            browser = OfflineBrowser()
            browser.setHtml(to_html(cand.text))
            col.addWidget(cap)
            col.addWidget(browser)
            self.captions.append(cap)
            self.grid.addWidget(box, i // cols, i % cols)
        self.prompt.show_item(item)
        self._render()

    def placed(self) -> set[int]:
        return {p for tier in self.tiers for p in tier}

    def _render(self) -> None:
        place_of = {p: t for t, tier in enumerate(self.tiers) for p in tier}
        for i, cap in enumerate(self.captions):
            place = f" — place {place_of[i] + 1}" if i in place_of else ""
            cap.setText(f"[{i + 1}]{place}")
        text = "  >  ".join(" = ".join(f"[{p + 1}]" for p in tier) for tier in self.tiers) or "press numbers best first"
        self.order_label.setText(f"Order: {text}" + ("   (next ties)" if self.tie_next else ""))

    def handle(self, action: str) -> Commit | None:
        n = len(self.item.candidates)
        if action.startswith("ranking_") and action[8:].isdigit():
            pos = int(action[8:]) - 1
            if pos < n and pos not in self.placed():
                if self.tie_next and self.tiers:
                    self.tiers[-1].append(pos)
                else:
                    self.tiers.append([pos])
                self.tie_next = False
                if len(self.placed()) == n - 1:  # the last one takes the last place
                    self.tiers.append([p for p in range(n) if p not in self.placed()])
        elif action == "ranking_tie":
            self.tie_next = bool(self.tiers)
        elif action == "ranking_reset":
            self.tiers, self.tie_next = [], False
        elif action == "submit" and len(self.placed()) == n:
            return Commit(LabelKind.RANKING, {"order": [list(t) for t in self.tiers]})
        self._render()
        return None

    def hint(self) -> str:
        return "numbers best first · = tie with previous · Delete restart · Enter submit"
