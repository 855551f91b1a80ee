"""Ranking view: 3+ candidates; press their numbers from best to worst (`=` ties with the place before),
or drag them into order in the strip below (a drag fixes the whole order as shown)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QAbstractItemView, QGridLayout, QLabel, QListView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from prefdesk.domain import Item, LabelKind
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
        self.order_list = QListWidget()  # drag to reorder; best on the left
        self.order_list.setFlow(QListView.LeftToRight)
        self.order_list.setDragDropMode(QAbstractItemView.InternalMove)
        self.order_list.setMaximumHeight(44)
        self.order_list.setFocusPolicy(Qt.NoFocus)
        self.order_list.model().rowsMoved.connect(self._dragged)
        self.lay_out(self.prompt, self.grid_host, self.order_label, self.order_list)
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
            browser.show_markdown(cand.text)
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
        self.order_label.setText(f"Order: {text}" + ("   (next ties)" if self.tie_next else "")
                                 + "   — or drag the candidates below into order")
        self.order_list.blockSignals(True)
        self.order_list.model().blockSignals(True)
        self.order_list.clear()
        placed = self.placed()
        for tier in self.tiers:
            entry = QListWidgetItem(" = ".join(f"[{p + 1}]" for p in tier))
            entry.setData(Qt.UserRole, tier)
            self.order_list.addItem(entry)
        for p in range(len(self.captions)):
            if p not in placed:
                entry = QListWidgetItem(f"[{p + 1}] ?")
                entry.setData(Qt.UserRole, [p])
                entry.setForeground(Qt.gray)
                self.order_list.addItem(entry)
        self.order_list.model().blockSignals(False)
        self.order_list.blockSignals(False)

    def _dragged(self, *args) -> None:
        """After a drag the strip is the order: every entry becomes a place, left to right."""
        self.tiers = [list(self.order_list.item(i).data(Qt.UserRole)) for i in range(self.order_list.count())]
        self.tie_next = False
        QTimer.singleShot(0, self._render)  # not while the list is still finishing the move

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
