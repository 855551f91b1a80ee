"""One view per label kind. A view shows an item and turns keys into label payloads; it holds no SQL."""

from __future__ import annotations

import random

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSplitter, QTextBrowser, QVBoxLayout, QWidget

from prefdesk.domain import Item
from prefdesk.ui.content import to_html

CSS = "QTextBrowser { background: #ffffff; border: 1px solid #d5d9e0; border-radius: 6px; padding: 8px; font-size: 14px; }"


def _browser() -> QTextBrowser:
    b = QTextBrowser()
    b.setOpenLinks(False)  # links are shown, never followed
    b.setOpenExternalLinks(False)
    b.setFrameShape(QFrame.NoFrame)
    b.setStyleSheet(CSS)
    return b


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("font-weight: 600; color: #4a5568; padding: 2px 4px;")
    return label


class PromptPane(QWidget):
    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(_caption("Prompt"))
        self.browser = _browser()
        layout.addWidget(self.browser)

    def show_item(self, item: Item) -> None:
        if item.prompt_messages:
            parts = [f"<p><b>{m['role'].capitalize()}</b></p>{to_html(m['content'])}" for m in item.prompt_messages]
            self.browser.setHtml("".join(parts))
        else:
            self.browser.setHtml(to_html(item.prompt))


class PairwiseView(QWidget):
    """Prompt on top, two candidates side by side; the left/right order is random per item and rater."""

    def __init__(self, seed: str) -> None:
        super().__init__()
        self.seed = seed
        self.display_order: tuple[int, int] = (0, 1)
        self.prompt = PromptPane()
        self.left, self.right = _browser(), _browser()
        self.left_caption, self.right_caption = _caption("Left  [1]"), _caption("Right  [2]")
        sides = QWidget()
        row = QHBoxLayout(sides)
        row.setContentsMargins(0, 0, 0, 0)
        for caption, browser in ((self.left_caption, self.left), (self.right_caption, self.right)):
            col = QVBoxLayout()
            col.addWidget(caption)
            col.addWidget(browser)
            row.addLayout(col, 1)
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.prompt)
        split.addWidget(sides)
        split.setSizes([180, 520])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        # scroll in step when both sides scroll
        self.left.verticalScrollBar().valueChanged.connect(lambda v: self._sync(self.left, self.right))
        self.right.verticalScrollBar().valueChanged.connect(lambda v: self._sync(self.right, self.left))

    def _sync(self, src: QTextBrowser, dst: QTextBrowser) -> None:
        s, d = src.verticalScrollBar(), dst.verticalScrollBar()
        if s.maximum() and d.maximum():
            d.blockSignals(True)
            d.setValue(round(s.value() / s.maximum() * d.maximum()))
            d.blockSignals(False)

    def show_item(self, item: Item) -> None:
        order = [0, 1]
        random.Random(f"{self.seed}:{item.id}").shuffle(order)  # seeded: the same rater sees the same order
        self.display_order = (order[0], order[1])
        self.prompt.show_item(item)
        self.left.setHtml(to_html(item.candidates[order[0]].text))
        self.right.setHtml(to_html(item.candidates[order[1]].text))

    def verdict_for(self, side: str) -> str:
        """Screen side -> verdict in candidate terms (A = candidate 0)."""
        pos = self.display_order[0 if side == "left" else 1]
        return "A" if pos == 0 else "B"


class ScalarView(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.prompt = PromptPane()
        self.response = _browser()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.prompt, 1)
        layout.addWidget(_caption("Response — score it 1 to 5"))
        layout.addWidget(self.response, 3)

    def show_item(self, item: Item) -> None:
        self.prompt.show_item(item)
        self.response.setHtml(to_html(item.candidates[0].text))
