"""The arbitration queue (reviewers and experts): each disputed item with the raters' verdicts, their
rationales, dimensions, tags and which answer each was shown on the left; a decision with its reason; and
from a decision, one key each, the item promoted to gold or a clause added to the guidelines.

Its keys are actions of the registry's `arbitration` scope (`ui.actions`), remappable in Preferences and
listed in the window's cheat sheet; every hint on screen is built from the live bindings. By default:
1 / 2 / 3 / 4  decide A, B, tie, both bad        N  write the reason (Esc leaves the box)
Ctrl+Enter     store the decision                 Ctrl+G  promote the decided item to gold
Ctrl+L         add a guideline clause             J / K   next / previous dispute
Plain keys act when the reason box is not being typed in; Ctrl ones and Esc always.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QInputDialog, QLabel, QListWidget,
                               QListWidgetItem, QPlainTextEdit, QPushButton, QSplitter, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from prefdesk.domain import Label
from prefdesk.quality import arbitration
from prefdesk.store.project import Project, ProjectError
from prefdesk.ui import forms
from prefdesk.ui.actions import action, keys_text
from prefdesk.ui.operations import Change
from prefdesk.ui.desk.views.base import OfflineBrowser, caption, escaped

VERDICT_ACTIONS = {"A": "arb_a", "B": "arb_b", "tie": "arb_tie", "both_bad": "arb_both_bad"}
VERDICT_NAMES = {"A": "A better", "B": "B better", "tie": "Tie", "both_bad": "Both bad"}
COLUMNS = ("Rater", "Verdict", "Rationale", "Shown left", "Strength", "Dimensions", "Tags", "Seconds", "Role")


class ArbitrationPanel(QWidget):
    key_scope = "arbitration"

    def __init__(self, desk) -> None:
        super().__init__(desk, Qt.Window)
        self.desk = desk
        self.setWindowTitle(f"Arbitration — {desk.project.path.name}")
        self.disputes: list[arbitration.Dispute] = []
        self.verdict: str | None = None
        self.decision: Label | None = None  # the decision just stored on the item shown
        self.deciding: str | None = None  # the item whose decision is being written
        self.shown_at = time.monotonic()
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(1500)
        self.timer.timeout.connect(self._labels_changed)

        self.list = QListWidget()
        self.list.currentRowChanged.connect(self._show)
        self.list.setFocusPolicy(Qt.NoFocus)
        self.prompt = OfflineBrowser()
        self.answers = [OfflineBrowser(), OfflineBrowser()]
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Interactive)
        self.table.horizontalHeader().setSectionResizeMode(COLUMNS.index("Rationale"), QHeaderView.Stretch)  # wraps
        self.table.verticalHeader().setVisible(False)
        # two raters' rows always in view (a dispute has two sides); more scroll
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height()
                                    + 2 * self.table.verticalHeader().defaultSectionSize() + 6)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.setFocusPolicy(Qt.NoFocus)
        self.reasons = QLabel()
        self.reasons.setWordWrap(True)
        self.reason = QPlainTextEdit()
        self.reason.setPlaceholderText("Why this decision (required): the raters and the next reviewer read it. "
                                       f"{self._key('arb_reason')} to write, {self._key('arb_leave')} to leave the box.")
        self.reason.setTabChangesFocus(True)
        self.reason.setFocusPolicy(Qt.ClickFocus)  # N or a click: the panel's own keys work until then
        self.setFocusPolicy(Qt.StrongFocus)
        self.reason.setMaximumHeight(60)
        self.reason.setMinimumHeight(40)
        for browser in (self.prompt, *self.answers):
            browser.setMinimumHeight(40)  # the splitter decides; a small screen at scale 2 still fits
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.verdict_buttons = {}
        buttons = QHBoxLayout()
        for verdict, name in VERDICT_ACTIONS.items():
            button = QPushButton(f"{VERDICT_NAMES[verdict]} ({self._key(name)})")
            button.setCheckable(True)
            button.setStyleSheet("QPushButton:checked { background: palette(highlight); color: palette(highlighted-text); "
                                 "font-weight: 600; }")
            button.setFocusPolicy(Qt.NoFocus)
            button.clicked.connect(lambda _=False, v=verdict: self.choose(v))
            self.verdict_buttons[verdict] = button
            buttons.addWidget(button)
        self.decide_button = QPushButton(f"&Decide ({self._key('arb_decide')})")
        self.gold_button = QPushButton(f"Promote to &gold ({self._key('arb_gold')})")
        self.clause_button = QPushButton(f"Add a guideline c&lause… ({self._key('arb_clause')})")
        for button, slot in ((self.decide_button, self.decide), (self.gold_button, self.promote),
                             (self.clause_button, self.add_clause)):
            button.setFocusPolicy(Qt.NoFocus)
            button.clicked.connect(slot)
        actions = QHBoxLayout()
        for button in (self.decide_button, self.gold_button, self.clause_button):
            actions.addWidget(button)

        answers = QWidget()
        row = QHBoxLayout(answers)
        row.setContentsMargins(0, 0, 0, 0)
        for name, browser in zip(("Answer A", "Answer B"), self.answers):
            row.addWidget(_captioned(name, browser))
        labels = _captioned("The raters' labels (verdicts in terms of A and B, whatever side each was shown)", self.table)
        reading = QSplitter(Qt.Vertical)  # each part gives way on a small screen; the rater drags what they need
        for part, stretch in ((_captioned("Prompt", self.prompt), 1), (answers, 2), (labels, 2)):
            reading.addWidget(part)
            reading.setStretchFactor(reading.count() - 1, stretch)
        right = QWidget()
        layout = QVBoxLayout(right)
        layout.addWidget(self.reasons)
        layout.addWidget(reading, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.reason)
        layout.addLayout(actions)
        layout.addWidget(self.status)
        left = QWidget()
        column = QVBoxLayout(left)
        self.count = caption()
        column.addWidget(self.count)
        column.addWidget(self.list)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([300, 900])
        outer = QVBoxLayout(self)
        outer.addWidget(splitter)

        area = (self.screen() or desk.screen()).availableGeometry()  # fits a small screen at scale 2 too
        self.resize(min(1200, int(area.width() * 0.92)), min(820, int(area.height() * 0.92)))
        desk.ops.changed.connect(self._changed)
        self.refresh()
        self.setFocus()

    # -- the queue ------------------------------------------------------------------------------------
    def refresh(self, keep: str | None = None) -> None:
        """Read the open disputes again; stay on `keep` if it is still there."""
        self.disputes = arbitration.disputes(self.desk.project)
        self.list.blockSignals(True)
        self.list.clear()
        for dispute in self.disputes:
            prompt = self.desk.project.item(dispute.item_id).prompt.replace("\n", " ")
            entry = QListWidgetItem(f"{prompt[:60]}\n   {', '.join(dispute.reasons)}")
            entry.setToolTip(prompt[:500])
            self.list.addItem(entry)
        self.list.blockSignals(False)
        self.count.setText(f"{len(self.disputes)} disputed item{'s' if len(self.disputes) != 1 else ''}")
        ids = [d.item_id for d in self.disputes]
        self.list.setCurrentRow(ids.index(keep) if keep in ids else (0 if ids else -1))
        if not ids:
            self._show(-1)

    def _changed(self, change: Change) -> None:
        if change & Change.LABELS:
            self.timer.start()  # restarted by each label: one look after a burst of labelling

    def _labels_changed(self) -> None:
        if self.decision is None:  # a decided item stays on screen for gold and a clause
            self.refresh(self.current().item_id if self.current() else None)

    def current(self) -> arbitration.Dispute | None:
        row = self.list.currentRow()
        return self.disputes[row] if 0 <= row < len(self.disputes) else None

    def _key(self, name: str) -> str:
        """An action's key as bound now (a hint on screen)."""
        return keys_text(self.desk.bindings, name, 1)

    @action("arb_next", "arbitration", "J", "Next dispute", arg=1)
    @action("arb_previous", "arbitration", "K", "Previous dispute", arg=-1)
    def move(self, step: int) -> None:
        if self.decision is not None:  # leaving a decided item: it is out of the queue now
            self.decision = None
            row = self.list.currentRow()
            self.refresh()
            self.list.setCurrentRow(min(max(0, row + (step if step < 0 else 0)), self.list.count() - 1))
            return
        if self.list.count():
            self.list.setCurrentRow(max(0, min(self.list.count() - 1, self.list.currentRow() + step)))

    def _show(self, row: int) -> None:
        self.decision, self.verdict = None, None
        self.reason.clear()
        self._paint_verdict()
        dispute = self.current()
        if dispute is None:
            self.reasons.setText("Nothing to arbitrate: every disputed item is decided.")
            for browser in (self.prompt, *self.answers):
                browser.clear()
            self.table.setRowCount(0)
            self._paint_state()
            return
        item = self.desk.project.item(dispute.item_id)
        risk = f" · risk: {escaped(item.risk_level)}" if item.risk_level else ""
        scenario = f" · {escaped(item.scenario)}" if item.scenario else ""
        self.reasons.setText(f"<b>Why it is here:</b> {escaped(', '.join(dispute.reasons))}{scenario}{risk}"
                             + (" · gold answer: " + escaped(item.gold_answer.get("verdict")) if item.is_gold and item.gold_answer else ""))
        self.prompt.show_markdown(item.prompt)
        for browser, candidate in zip(self.answers, item.candidates):
            browser.show_markdown(candidate.text)
        raters = {r.id: r for r in self.desk.project.raters()}
        self.table.setRowCount(len(dispute.labels))
        for row_, label in enumerate(dispute.labels):
            p = label.payload
            rater = raters.get(label.rater_id)
            left = "AB"[label.display_order[0]] if label.display_order else "not recorded"
            cells = (rater.name if rater else label.rater_id, VERDICT_NAMES.get(p["verdict"], p["verdict"]),
                     p.get("rationale") or "", left, p.get("strength") or "",
                     ", ".join(f"{d}: {v}" for d, v in sorted((p.get("dims") or {}).items())),
                     ", ".join(p.get("reason_tags") or []), f"{label.duration_ms / 1000:.0f}" if label.duration_ms else "",
                     rater.role.value if rater else "")
            for col, text in enumerate(cells):
                self.table.setItem(row_, col, QTableWidgetItem(text))
        rationale = COLUMNS.index("Rationale")
        for col in range(len(COLUMNS)):  # the others as wide as their text, within reason: the rationale gets the rest
            if col != rationale:
                self.table.setColumnWidth(col, min(max(self.table.sizeHintForColumn(col),
                                                       self.table.horizontalHeader().sectionSizeHint(col)), 160))
        self.table.resizeRowsToContents()
        self._paint_state()
        self.setFocus()
        self.shown_at = time.monotonic()

    # -- deciding -----------------------------------------------------------------------------------
    @action("arb_a", "arbitration", "1", "Decide: A is better", arg="A")
    @action("arb_b", "arbitration", "2", "Decide: B is better", arg="B")
    @action("arb_tie", "arbitration", "3", "Decide: a tie", arg="tie")
    @action("arb_both_bad", "arbitration", "4", "Decide: both are bad", arg="both_bad")
    def choose(self, verdict: str) -> None:
        if self.current() is None or self.decision is not None:
            return
        self.verdict = verdict
        self._paint_verdict()
        self._paint_state()

    @action("arb_reason", "arbitration", "N", "Write the reason for the decision")
    def write_reason(self) -> None:
        self.reason.setFocus()

    @action("arb_decide", "arbitration", ("Ctrl+Return", "Ctrl+Enter"), "Store the decision with its reason")
    def decide(self) -> None:
        dispute = self.current()
        if dispute is None or self.decision is not None or self.deciding is not None:
            return
        if self.verdict is None:
            self.status.setText(f"Choose the verdict first: {self._verdict_keys()}.")
            return
        try:
            arbitration.check_decision(self.desk.rater, self.verdict, self.reason.toPlainText())
        except ProjectError as exc:
            self._refused(exc)
            return
        # written off the GUI thread on a connection of its own; the panels hear of it through `changed`
        path, item_id, arbiter, verdict, reason = (self.desk.project.path, dispute.item_id, self.desk.rater,
                                                   self.verdict, self.reason.toPlainText())
        session, took = self.desk.work.session, int((time.monotonic() - self.shown_at) * 1000)

        def work() -> Label:
            with Project.open(path) as project:
                return arbitration.decide(project, item_id, arbiter, verdict, reason, session=session, duration_ms=took)

        self.deciding = item_id
        self.status.setText("Storing the decision…")
        self.desk.ops.run(work, Change.LABELS, self._decided, self._refused)

    def _decided(self, decision: Label) -> None:
        self.deciding = None
        current = self.current()
        if current is None or current.item_id != decision.item_id:
            return  # the lead moved on meanwhile: the decision is stored, the queue shows it gone
        self.decision = decision
        self.setFocus()
        self._paint_state()

    def _refused(self, exc: Exception) -> None:
        self.deciding = None
        self.status.setText(str(exc))
        if "reason" in str(exc):
            self.reason.setFocus()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.timer.stop()
        super().closeEvent(event)

    @action("arb_gold", "arbitration", "Ctrl+G", "Promote the decided item to gold, with the decided answer")
    def promote(self) -> None:
        if self.decision is None:
            self.status.setText("Decide first: a gold item takes the decided answer.")
            return
        arbitration.promote_to_gold(self.desk.project, self.decision)
        self.status.setText(f"Promoted to gold with the answer {VERDICT_NAMES[self.decision.payload['verdict']]}. "
                            f"{self._key('arb_clause')} adds a clause; {self._key('arb_next')} goes on.")
        self.desk.ops.changed.emit(Change.ITEMS)

    @action("arb_clause", "arbitration", "Ctrl+L", "Add a guideline clause from the decision…")
    def add_clause(self) -> None:
        if self.decision is None:
            self.status.setText("Decide first: a clause is linked to a decision.")
            return
        clause, ok = QInputDialog.getMultiLineText(
            self, "Add a guideline clause",
            "The clause is appended to the guidelines in force, as a new version that applies at once:")
        if not ok or not clause.strip():
            return
        try:
            version = arbitration.add_clause(self.desk.project, self.decision, clause)
        except ProjectError as exc:
            forms.tell(self, "Arbitration", str(exc))
            return
        self.status.setText(f"Guidelines {version} are in force, with the clause. {self._key('arb_next')} goes on.")
        self.desk.ops.changed.emit(Change.SETTINGS)

    @action("arb_leave", "arbitration", "Esc", "Leave the reason box (the panel's keys work again)")
    def leave_reason(self) -> None:
        if self.reason.hasFocus():
            self.setFocus()

    def _paint_verdict(self) -> None:
        for verdict, button in self.verdict_buttons.items():
            button.setChecked(verdict == self.verdict)

    def _paint_state(self) -> None:
        has = self.current() is not None
        decided = self.decision is not None
        for button in self.verdict_buttons.values():
            button.setEnabled(has and not decided)
        self.reason.setReadOnly(decided)
        self.decide_button.setEnabled(has and not decided)
        self.gold_button.setEnabled(decided)
        self.clause_button.setEnabled(decided)
        if decided:
            self.status.setText(f"Decided: {VERDICT_NAMES[self.decision.payload['verdict']]}. {self._key('arb_gold')} "
                                f"promotes it to gold, {self._key('arb_clause')} adds a guideline clause, "
                                f"{self._key('arb_next')} goes to the next dispute.")
        elif has:
            self.status.setText(f"{self._verdict_keys()}, then {self._key('arb_reason')} to write why and "
                                f"{self._key('arb_decide')} to decide.  ({self._key('arb_help')}: every key)")
        else:
            self.status.setText("")

    def _verdict_keys(self) -> str:
        return " · ".join(f"{self._key(name)} {VERDICT_NAMES[v]}" for v, name in VERDICT_ACTIONS.items())

    @action("arb_help", "arbitration", ("?", "F1"), "Keyboard shortcuts of the Arbitration window")
    def cheat_sheet(self) -> None:
        from prefdesk.ui.desk.dialogs import CheatSheet

        CheatSheet(self, "arbitration", self.desk.bindings).exec()


def _captioned(title: str, widget: QWidget) -> QWidget:
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    column.addWidget(caption(title))
    column.addWidget(widget, 1)
    return box
