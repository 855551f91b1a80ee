"""Pairwise view: prompt on top, two candidates side by side, per-dimension verdicts and reason tags.

Which candidate is shown left is random per item and rater (seeded, so it is stable on return) and
is stored with the label. Verdicts are stored in candidate terms (A = candidate 0), never screen sides.
"""

from __future__ import annotations

import difflib
import html
import random
import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QListWidgetItem, QSplitter, QVBoxLayout, QWidget

from prefdesk.domain import Item, LabelKind
from prefdesk.ui.views.base import Commit, ItemView, OfflineBrowser, PromptPane, caption

SIDE_TEXT = {"left": "◀ left", "right": "right ▶", "tie": "tie", None: "—"}


def word_diff(a: str, b: str) -> tuple[str, str]:
    """HTML of both texts with the words that differ highlighted (removed in red, added in green)."""
    wa, wb = re.findall(r"\S+|\s+", a), re.findall(r"\S+|\s+", b)
    left, right = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes():
        seg_a, seg_b = html.escape("".join(wa[i1:i2])), html.escape("".join(wb[j1:j2]))
        if op == "equal":
            left.append(seg_a)
            right.append(seg_b)
        else:
            if seg_a:
                left.append(f'<span style="background:#fed7d7">{seg_a}</span>')
            if seg_b:
                right.append(f'<span style="background:#c6f6d5">{seg_b}</span>')
    wrap = '<div style="white-space: pre-wrap">{}</div>'
    return wrap.format("".join(left)), wrap.format("".join(right))


class PairwiseView(ItemView):
    def __init__(self, project_settings: dict) -> None:
        super().__init__(project_settings)
        self.dimensions: list[str] = list(self.settings["dimensions"])
        self.display_order: tuple[int, int] = (0, 1)
        self.dims: dict[str, str | None] = {}
        self.dim_cursor: int | None = None  # None: not in the dimensions
        self.diff_on = False
        self.prompt = PromptPane()
        self.left, self.right = OfflineBrowser(), OfflineBrowser()
        sides = QWidget()
        row = QHBoxLayout(sides)
        row.setContentsMargins(0, 0, 0, 0)
        for title, browser in (("Left   [1]", self.left), ("Right   [2]", self.right)):
            col = QVBoxLayout()
            col.addWidget(caption(title))
            col.addWidget(browser)
            row.addLayout(col, 1)
        self.dim_list = QListWidget()
        self.dim_list.setFocusPolicy(Qt.NoFocus)
        self.dim_list.setMaximumHeight(24 * max(1, len(self.dimensions)) + 8)
        self.tag_list = QListWidget()
        self.tag_list.setFocusPolicy(Qt.NoFocus)
        self.tag_list.setFlow(QListWidget.LeftToRight)
        self.tag_list.setWrapping(True)
        self.tag_list.setMaximumHeight(64)
        for tag in self.settings["reason_tags"]:
            entry = QListWidgetItem(tag)
            entry.setFlags(Qt.ItemIsUserCheckable | Qt.ItemIsEnabled)
            entry.setCheckState(Qt.Unchecked)
            self.tag_list.addItem(entry)
        bottom = QWidget()
        grid = QHBoxLayout(bottom)
        grid.setContentsMargins(0, 0, 0, 0)
        dim_col, tag_col = QVBoxLayout(), QVBoxLayout()
        dim_col.addWidget(caption("Dimensions  [Tab, then ◀ ▶ Space]"))
        dim_col.addWidget(self.dim_list)
        tag_col.addWidget(caption("Reason tags  (click to toggle)"))
        tag_col.addWidget(self.tag_list)
        grid.addLayout(dim_col, 1)
        grid.addLayout(tag_col, 2)
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.prompt)
        split.addWidget(sides)
        split.setSizes([160, 520])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split, 1)
        layout.addWidget(bottom)
        self.left.verticalScrollBar().valueChanged.connect(lambda _: self._sync(self.left, self.right))
        self.right.verticalScrollBar().valueChanged.connect(lambda _: self._sync(self.right, self.left))

    def _sync(self, src: OfflineBrowser, dst: OfflineBrowser) -> None:
        """Scroll the other side in step, proportionally, when both can scroll."""
        s, d = src.verticalScrollBar(), dst.verticalScrollBar()
        if s.maximum() and d.maximum():
            d.blockSignals(True)
            d.setValue(round(s.value() / s.maximum() * d.maximum()))
            d.blockSignals(False)

    def show_item(self, item: Item, seed: str) -> None:
        self.item = item
        order = [0, 1]
        random.Random(f"{seed}:{item.id}").shuffle(order)
        self.display_order = (order[0], order[1])
        self.dims = {d: None for d in self.dimensions}
        self.dim_cursor = None
        for i in range(self.tag_list.count()):
            self.tag_list.item(i).setCheckState(Qt.Unchecked)
        self.prompt.show_item(item)
        self._render_candidates()
        self._render_dims()

    def _render_candidates(self) -> None:
        a, b = (self.item.candidates[p].text for p in self.display_order)
        if self.diff_on:
            left, right = word_diff(a, b)
            self.left.setHtml(left)
            self.right.setHtml(right)
        else:
            self.left.show_markdown(a)
            self.right.show_markdown(b)

    def _render_dims(self) -> None:
        self.dim_list.clear()
        for i, dim in enumerate(self.dimensions):
            marker = "▸ " if i == self.dim_cursor else "   "
            self.dim_list.addItem(f"{marker}{dim}: {SIDE_TEXT[self.dims.get(dim)]}")
        if self.dim_cursor is not None:
            self.dim_list.setCurrentRow(self.dim_cursor)

    def _verdict(self, side: str) -> str:
        if side == "tie":
            return "tie"
        pos = self.display_order[0 if side == "left" else 1]
        return "A" if pos == 0 else "B"

    def _set_dim(self, side: str) -> None:
        self.dims[self.dimensions[self.dim_cursor]] = side
        self.dim_cursor += 1
        if self.dim_cursor >= len(self.dimensions):
            self.dim_cursor = None  # done: the next verdict key commits
        self._render_dims()

    def checked_tags(self) -> list[str]:
        return [self.tag_list.item(i).text() for i in range(self.tag_list.count())
                if self.tag_list.item(i).checkState() == Qt.Checked]

    def _commit(self, verdict: str, strength: str | None) -> Commit:
        payload = {
            "verdict": verdict, "strength": strength,
            "dims": {d: self._verdict(side) for d, side in self.dims.items() if side},
            "reason_tags": self.checked_tags(), "rationale": None,
        }
        return Commit(LabelKind.PAIRWISE, payload, self.display_order)

    def handle(self, action: str) -> Commit | None:
        in_dims = self.dim_cursor is not None
        if action == "dimensions" and self.dimensions:
            self.dim_cursor = 0 if not in_dims else None
            self._render_dims()
        elif in_dims and action in ("left_better", "right_better", "dim_tie"):
            self._set_dim({"left_better": "left", "right_better": "right", "dim_tie": "tie"}[action])
        elif in_dims and action in ("dim_up", "dim_down"):
            step = -1 if action == "dim_up" else 1
            self.dim_cursor = max(0, min(len(self.dimensions) - 1, self.dim_cursor + step))
            self._render_dims()
        elif in_dims and action == "submit":
            self.dim_cursor = None
            self._render_dims()
        elif action == "diff":
            self.diff_on = not self.diff_on
            self._render_candidates()
        elif action in ("left_better", "right_better", "left_clearly", "right_clearly"):
            side = "left" if action.startswith("left") else "right"
            return self._commit(self._verdict(side), "clear" if action.endswith("clearly") else "slight")
        elif action == "tie":
            return self._commit("tie", None)
        elif action == "both_bad":
            return self._commit("both_bad", None)
        return None

    def hint(self) -> str:
        if self.dim_cursor is not None:
            return f"Dimension {self.dimensions[self.dim_cursor]}: ◀ / ▶ / Space set it · Enter leaves"
        return "1/← left · 2/→ right · Shift = clearly · T tie · B both bad · Tab dimensions · D diff"
