"""Pairwise view: prompt on top, two candidates side by side, per-dimension verdicts and reason tags.

Which candidate is shown left is the draft's display order (random per item and rater, seeded, stored
with the label). Verdicts are stored in candidate terms (A = candidate 0), never screen sides.
"""

from __future__ import annotations

import difflib
import html
import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette, QTextDocument
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QListWidgetItem, QSizePolicy, QVBoxLayout, QWidget

from prefdesk.domain import Strength, Verdict
from prefdesk.labeling import PairwiseDraft, ReadyLabel, Side
from prefdesk.ui.actions import action, keys_text
from prefdesk.ui.desk.content import cut_for_display, to_html
from prefdesk.ui.desk.views.base import ItemView, OfflineBrowser, PromptPane, caption, escaped

SIDE_TEXT = {Side.LEFT: "◀ left", Side.RIGHT: "right ▶", Side.TIE: "tie", None: "—"}
TAG_KEYS = 9


def word_diff(a: str, b: str) -> tuple[str, str]:
    """HTML of both texts with the words that differ highlighted (removed in red, added in green)."""
    wa, wb = re.findall(r"\S+|\s+", a), re.findall(r"\S+|\s+", b)
    left, right = [], []
    mark = '<span style="background:{}; color:#1a202c">{}</span>'
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes():
        seg_a, seg_b = html.escape("".join(wa[i1:i2])), html.escape("".join(wb[j1:j2]))
        if op == "equal":
            left.append(seg_a)
            right.append(seg_b)
        else:
            if seg_a:
                left.append(mark.format("#fed7d7", seg_a))
            if seg_b:
                right.append(mark.format("#c6f6d5", seg_b))
    wrap = '<div style="white-space: pre-wrap">{}</div>'
    return wrap.format("".join(left)), wrap.format("".join(right))


def rendered_text(markdown_text: str) -> str:
    """What the rater reads of a Markdown text (no `**`, no fences): the diff compares these."""
    doc = QTextDocument()
    doc.setHtml(to_html(markdown_text))
    return doc.toPlainText()


class PairwiseView(ItemView):
    scope = "pairwise"

    def __init__(self) -> None:
        super().__init__()
        self.diff_on = False
        self.model_scores: list[float | None] | None = None  # shown to reviewers and experts who ask (M)
        self.judge_verdicts: list[tuple[str, str, float | None]] = []  # likewise, each model judge's verdict
        self._tags_shown: list[str] | None = None
        self.prompt = PromptPane()
        self.left, self.right = OfflineBrowser(), OfflineBrowser()
        self.left_caption, self.right_caption = caption(), caption()
        sides = QWidget()
        row = QHBoxLayout(sides)
        row.setContentsMargins(0, 0, 0, 0)
        for cap, browser in ((self.left_caption, self.left), (self.right_caption, self.right)):
            col = QVBoxLayout()
            col.addWidget(cap)
            col.addWidget(browser)
            row.addLayout(col, 1)
        self.state = caption()
        self.dim_caption, self.tag_caption = caption(), caption()
        self.dim_list = QListWidget()
        self.dim_list.setFocusPolicy(Qt.NoFocus)
        self.tag_list = QListWidget()
        self.tag_list.setFocusPolicy(Qt.NoFocus)
        self.tag_list.setFlow(QListWidget.LeftToRight)
        self.tag_list.setWrapping(True)
        self.tag_list.setMaximumHeight(self._lines(4))
        self.tag_list.itemChanged.connect(self._tag_clicked)
        # Fusion draws an unchecked box in the window colour: invisible on a dark palette without a border
        self.tag_list.setStyleSheet("QListWidget::indicator { width: 12px; height: 12px; border: 1px solid palette(text); "
                                    "border-radius: 2px; } QListWidget::indicator:checked { background: palette(highlight); }")
        bottom = QWidget()
        bottom.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Maximum)  # as tall as its lists: the answers get the rest
        grid = QHBoxLayout(bottom)
        grid.setContentsMargins(0, 0, 0, 0)
        dim_col, tag_col = QVBoxLayout(), QVBoxLayout()
        dim_col.addWidget(self.dim_caption)
        dim_col.addWidget(self.dim_list)
        tag_col.addWidget(self.tag_caption)
        tag_col.addWidget(self.tag_list)
        grid.addLayout(dim_col, 1)
        grid.addLayout(tag_col, 2)
        self.lay_out(self.prompt, sides, self.state, bottom)
        self.left.verticalScrollBar().valueChanged.connect(lambda _: self._sync(self.left, self.right))
        self.right.verticalScrollBar().valueChanged.connect(lambda _: self._sync(self.right, self.left))

    def _lines(self, n: int) -> int:
        """The height of n list rows in the font in use (scale 2 doubles it with the text)."""
        return (self.fontMetrics().lineSpacing() + 3) * n + 10

    def _sync(self, src: OfflineBrowser, dst: OfflineBrowser) -> None:
        """Scroll the other side in step, proportionally, when both can scroll."""
        s, d = src.verticalScrollBar(), dst.verticalScrollBar()
        if s.maximum() and d.maximum():
            d.blockSignals(True)
            d.setValue(round(s.value() / s.maximum() * d.maximum()))
            d.blockSignals(False)

    # -- painting -----------------------------------------------------------------------------------
    def show_draft(self, draft: PairwiseDraft) -> None:
        self.draft = draft
        self.show_prompt(draft.item)
        self.dim_list.setFixedHeight(self._lines(max(1, len(draft.dimensions))))
        if self._tags_shown != draft.reason_tags:  # rebuilt only when the project's tags change
            self._tags_shown = list(draft.reason_tags)
            self.tag_list.blockSignals(True)
            self.tag_list.clear()
            for tag in draft.reason_tags:
                entry = QListWidgetItem(tag)
                entry.setFlags(Qt.ItemIsUserCheckable | Qt.ItemIsEnabled)
                self.tag_list.addItem(entry)
            self.tag_list.blockSignals(False)
        self._render_candidates()
        self.render()

    def _texts(self) -> tuple[str, str]:
        cands = self.draft.item.candidates
        return cands[self.draft.display_order[0]].text, cands[self.draft.display_order[1]].text

    def _render_candidates(self) -> None:
        a, b = self._texts()
        if self.diff_on:
            left, right = word_diff(rendered_text(cut_for_display(a)), rendered_text(cut_for_display(b)))
            self.left.setHtml(left)
            self.right.setHtml(right)
        else:
            self.left.show_markdown(a)
            self.right.show_markdown(b)

    def render(self) -> None:
        d, k = self.draft, self.bindings
        diff = f"word diff {'ON' if self.diff_on else 'off'} [{keys_text(k, 'diff', 1)}]"
        left_model, right_model = self._model_notes()
        self.left_caption.setText(f"Left   [{keys_text(k, 'left_better')}]{left_model}    {diff}")
        self.right_caption.setText(f"Right   [{keys_text(k, 'right_better')}]{right_model}")
        self.dim_caption.setText(f"Dimensions  [{keys_text(k, 'dimensions', 1)}, then "
                                 f"{keys_text(k, 'left_better', 2)} / {keys_text(k, 'right_better', 2)} / "
                                 f"{keys_text(k, 'dim_tie', 1)}]")
        self.tag_caption.setText(f"Reason tags  [{keys_text(k, 'tag_1', 1)}…{TAG_KEYS}, or click]")
        self.dim_list.clear()
        palette = self.dim_list.palette()
        for i, dim in enumerate(d.dimensions):
            active = i == d.dim_cursor
            entry = QListWidgetItem(f"{'▸ ' if active else '   '}{dim}: {SIDE_TEXT[d.side_of(d.dims.get(dim))]}")
            if active:  # the list never has the focus, so its own selection colour is the faint inactive one
                entry.setBackground(palette.color(QPalette.Active, QPalette.Highlight))
                entry.setForeground(palette.color(QPalette.Active, QPalette.HighlightedText))
                font = entry.font()
                font.setBold(True)
                entry.setFont(font)
            self.dim_list.addItem(entry)
        if d.dim_cursor is not None:
            self.dim_list.scrollToItem(self.dim_list.item(d.dim_cursor))
        self.tag_list.blockSignals(True)
        for i in range(self.tag_list.count()):
            entry = self.tag_list.item(i)
            tag = d.reason_tags[i]
            key = keys_text(k, f"tag_{i + 1}", 1) if i < TAG_KEYS else ""
            entry.setText(f"[{key}] {tag}" if key else tag)
            entry.setCheckState(Qt.Checked if tag in d.tags else Qt.Unchecked)
        self.tag_list.blockSignals(False)
        if d.restored and d.verdict is not None:
            strength = " (clearly)" if d.strength is Strength.CLEAR else ""
            given = {Verdict.TIE: "tie", Verdict.BOTH_BAD: "both bad"}.get(d.verdict) or f"{SIDE_TEXT[d.side_of(d.verdict)]} better"
            self.state.setText(f"Your earlier label: <b>{escaped(given)}{strength}</b> — edit dimensions, tags or "
                               f"rationale, then {keys_text(k, 'submit', 1)} keeps it, or give a new verdict")
        else:
            self.state.setText("")

    def _model_notes(self) -> tuple[str, str]:
        """The reward model's score on each side and its preferred side, and each model judge's preferred side
        (with its confidence), when a lead shows them."""
        notes = ["", ""]
        scores = self.model_scores
        if scores and len(scores) >= 2 and None not in scores[:2]:
            left, right = (scores[p] for p in self.draft.display_order)
            mark = lambda mine, other: f"   · model {mine:+.3g}" + (" ◆ preferred" if mine > other else "")  # noqa: E731
            notes = [mark(left, right), mark(right, left)]
        for _judge, verdict, confidence in self.judge_verdicts:
            sure = f" {confidence:.2f}" if confidence is not None else ""
            if verdict in ("A", "B"):
                side = self.draft.display_order.index("AB".index(verdict))
                notes[side] += f"   · judge ◆{sure}"
            else:
                notes = [n + f"   · judge: {escaped(verdict.replace('_', ' '))}{sure}" for n in notes]
        return notes[0], notes[1]

    def _tag_clicked(self, entry: QListWidgetItem) -> None:
        tag = self.draft.reason_tags[self.tag_list.row(entry)]
        if (entry.checkState() == Qt.Checked) != (tag in self.draft.tags):
            self.draft.toggle_tag(self.tag_list.row(entry))

    def scroll_answers(self, how: str) -> None:
        self.left.scroll(how)
        if not self.left.verticalScrollBar().maximum():
            self.right.scroll(how)

    def hint(self) -> str:
        d, k = self.draft, self.bindings
        if d.in_dimensions:
            return (f"Dimension {d.dimensions[d.dim_cursor]}: {keys_text(k, 'left_better')} left · "
                    f"{keys_text(k, 'right_better')} right · {keys_text(k, 'dim_tie', 1)} tie · "
                    f"{keys_text(k, 'dim_up', 1)}/{keys_text(k, 'dim_down', 1)} move · "
                    f"{keys_text(k, 'submit', 1)} or {keys_text(k, 'leave_dimensions', 1)} leaves")
        return (f"{keys_text(k, 'left_better')} left · {keys_text(k, 'right_better')} right · "
                f"{keys_text(k, 'left_clearly')} / {keys_text(k, 'right_clearly')} clearly · "
                f"{keys_text(k, 'tie', 1)} tie · {keys_text(k, 'both_bad', 1)} both bad · "
                f"{keys_text(k, 'dimensions', 1)} dimensions · {keys_text(k, 'diff', 1)} diff")

    # -- actions --------------------------------------------------------------------------------------
    @action("left_better", "pairwise", ("1", "Left"), "Left is better (in the dimensions: left better on this one)",
            arg=Side.LEFT)
    @action("right_better", "pairwise", ("2", "Right"), "Right is better (in the dimensions: right better on this one)",
            arg=Side.RIGHT)
    def side_better(self, side: Side) -> ReadyLabel | None:
        if self.draft.in_dimensions:
            self.draft.set_dimension(side)
            return None
        return self.draft.decide(self.draft.verdict_for(side), Strength.SLIGHT)

    @action("left_clearly", "pairwise", ("!", "Shift+Left"), "Left is clearly better", arg=Side.LEFT)
    @action("right_clearly", "pairwise", ("@", "Shift+Right"), "Right is clearly better", arg=Side.RIGHT)
    def side_clearly(self, side: Side) -> ReadyLabel | None:
        self.draft.leave_dimensions()
        return self.draft.decide(self.draft.verdict_for(side), Strength.CLEAR)

    @action("tie", "pairwise", "T", "Tie: equally good", arg=Verdict.TIE)
    @action("both_bad", "pairwise", "B", "Both bad: neither should be sent", arg=Verdict.BOTH_BAD)
    def undecided(self, verdict: Verdict) -> ReadyLabel:
        self.draft.leave_dimensions()
        return self.draft.decide(verdict)

    @action("dimensions", "pairwise", "Tab", "Into the dimensions (again: out of them)")
    def toggle_dimensions(self) -> None:
        if self.draft.in_dimensions:
            self.draft.leave_dimensions()
        else:
            self.draft.enter_dimensions()

    @action("dim_up", "pairwise", "Up", "Previous dimension", arg=-1, repeat=True)
    @action("dim_down", "pairwise", "Down", "Next dimension", arg=1, repeat=True)
    def move_dimension(self, step: int) -> None:
        self.draft.move_dimension(step)

    @action("dim_tie", "pairwise", "Space", "Tie on this dimension")
    def dimension_tie(self) -> None:
        self.draft.set_dimension(Side.TIE)

    @action("leave_dimensions", "pairwise", "Escape", "Leave the dimensions")
    def leave_dimensions(self) -> None:
        self.draft.leave_dimensions()

    @action("diff", "pairwise", "D", "Word diff on / off: highlight what differs between the two")
    def toggle_diff(self) -> None:
        self.diff_on = not self.diff_on
        self._render_candidates()

    def submit(self) -> ReadyLabel | None:
        if self.draft.in_dimensions:
            self.draft.leave_dimensions()
            return None
        return self.draft.resubmit()

    def toggle_tag(self, index: int) -> None:
        self.draft.toggle_tag(index)


for _n in range(1, TAG_KEYS + 1):
    action(f"tag_{_n}", "pairwise", f"Ctrl+{_n}", f"Reason tag {_n} on / off", arg=_n - 1)(PairwiseView.toggle_tag)
