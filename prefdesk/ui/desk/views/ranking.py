"""Ranking view: 3+ candidates in a random, recorded order; press their numbers on screen from best to
worst (`=` ties with the place before), or drag them into order in the strip below."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QAbstractItemView, QGridLayout, QListView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from prefdesk.labeling import RankingDraft, ReadyLabel
from prefdesk.ui.actions import action, keys_text
from prefdesk.ui.desk.views.base import ItemView, OfflineBrowser, PromptPane, caption

MOST = 9  # one digit key a candidate


class RankingView(ItemView):
    scope = "ranking"

    def __init__(self) -> None:
        super().__init__()
        self.prompt = PromptPane()
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.order_label = caption()
        self.order_list = QListWidget()  # drag to reorder; best on the left
        self.order_list.setFlow(QListView.LeftToRight)
        self.order_list.setDragDropMode(QAbstractItemView.InternalMove)
        self.order_list.setMaximumHeight(44)
        self.order_list.setFocusPolicy(Qt.NoFocus)
        self.order_list.model().rowsMoved.connect(self._dragged)
        self.lay_out(self.prompt, self.grid_host, self.order_label, self.order_list)
        self.captions = []
        self.browsers: list[OfflineBrowser] = []

    def slot_of(self, pos: int) -> int:
        return self.draft.display_order.index(pos)

    def show_draft(self, draft: RankingDraft) -> None:
        self.draft = draft
        while self.grid.count():
            self.grid.takeAt(0).widget().deleteLater()
        self.captions, self.browsers = [], []
        n = len(draft.item.candidates)
        cols = 2 if n <= 4 else 3
        for slot, pos in enumerate(draft.display_order):
            box = QWidget()
            col = QVBoxLayout(box)
            col.setContentsMargins(0, 0, 0, 0)
            cap = caption()
            browser = OfflineBrowser()
            browser.show_markdown(draft.item.candidates[pos].text)
            col.addWidget(cap)
            col.addWidget(browser)
            self.captions.append(cap)
            self.browsers.append(browser)
            self.grid.addWidget(box, slot // cols, slot % cols)
        self.show_prompt(draft.item)
        self.render()

    def _name(self, pos: int) -> str:
        return f"[{self.slot_of(pos) + 1}]"

    def render(self) -> None:
        d = self.draft
        place_of = {p: t for t, tier in enumerate(d.tiers) for p in tier}
        for slot, cap in enumerate(self.captions):
            pos = d.display_order[slot]
            place = f" — place {place_of[pos] + 1}" if pos in place_of else ""
            cap.setText(f"[{slot + 1}]{place}")
        text = "  >  ".join(" = ".join(self._name(p) for p in tier) for tier in d.tiers) or "best first"
        rest = d.unplaced()
        if d.tiers and len(rest) == 1:  # what submit would do with the one left
            text += f"  {'=' if d.tie_next else '>'}  {self._name(rest[0])} on submit"
        elif d.tie_next:
            text += "   (next ties)"
        self.order_label.setText(f"Order: {text}   — or drag below")
        self.order_list.blockSignals(True)
        self.order_list.model().blockSignals(True)
        self.order_list.clear()
        for tier in d.tiers:
            entry = QListWidgetItem(" = ".join(self._name(p) for p in tier))
            entry.setData(Qt.UserRole, tier)
            self.order_list.addItem(entry)
        for pos in d.unplaced():
            entry = QListWidgetItem(f"{self._name(pos)} ?")
            entry.setData(Qt.UserRole, [pos])
            entry.setForeground(self.palette().placeholderText())
            self.order_list.addItem(entry)
        self.order_list.model().blockSignals(False)
        self.order_list.blockSignals(False)
        self.order_list.viewport().update()

    def _dragged(self, *args) -> None:
        """After a drag the strip is the order: every entry becomes a place, left to right."""
        self.draft.set_order([list(self.order_list.item(i).data(Qt.UserRole)) for i in range(self.order_list.count())])
        QTimer.singleShot(0, self.render)  # not while the list is still finishing the move

    def scroll_answers(self, how: str) -> None:
        for browser in self.browsers:
            browser.scroll(how)

    def hint(self) -> str:
        k = self.bindings
        n = len(self.draft.item.candidates)
        return (f"1–{min(n, MOST)} best first · {keys_text(k, 'ranking_tie', 1)} tie with previous · "
                f"{keys_text(k, 'ranking_reset', 1)} restart · {keys_text(k, 'submit', 1)} submit")

    @action("ranking_tie", "ranking", "=", "The next candidate ties with the previous place")
    def tie_next(self) -> None:
        self.draft.tie_with_previous()

    @action("ranking_reset", "ranking", "Delete", "Start the order again")
    def reset(self) -> None:
        self.draft.reset()

    def place(self, slot: int) -> ReadyLabel | None:
        self.draft.place_shown(slot)
        return None


for _n in range(1, MOST + 1):
    action(f"rank_{_n}", "ranking", str(_n), f"Next place goes to candidate [{_n}]", arg=_n - 1)(RankingView.place)
