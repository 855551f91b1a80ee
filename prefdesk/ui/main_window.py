"""The desk's main window: one item at a time, a key commits a label and shows the next item."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QStackedWidget, QStatusBar, QVBoxLayout, QWidget

from prefdesk.domain import Item, ItemKind, LabelKind, Rater, Session
from prefdesk.store.project import Project
from prefdesk.store.queue import Queue
from prefdesk.ui.actions import ACTIONS
from prefdesk.ui.views import PairwiseView, ScalarView

SUPPORTED = (ItemKind.PAIRWISE, ItemKind.SCALAR)


class MainWindow(QMainWindow):
    def __init__(self, project: Project, rater: Rater) -> None:
        super().__init__()
        self.project, self.rater = project, rater
        self.session: Session = project.start_session(rater)
        self.queue = Queue(project, rater)
        self.item: Item | None = None
        self.editing = None  # the label being re-done after `back`
        self.shown_at = time.monotonic()
        self.setWindowTitle(f"PrefDesk — {project.path.name} — {rater.name}")
        self.pairwise = PairwiseView(seed=rater.id)
        self.scalar = ScalarView()
        self.empty = QLabel("Nothing left in your queue. Thank you!")
        self.empty.setAlignment(Qt.AlignCenter)
        self.stack = QStackedWidget()
        for w in (self.pairwise, self.scalar, self.empty):
            self.stack.addWidget(w)
        self.header = QLabel()
        self.header.setStyleSheet("padding: 4px 8px; color: #2d3748; background: #edf2f7; border-radius: 4px;")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.header)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.setStatusBar(QStatusBar())
        self.actions_by_name: dict[str, QAction] = {}
        self._build_actions()
        self.resize(1280, 820)
        self.show_next()

    # -- actions ---------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        menus = {}
        for spec in ACTIONS:
            action = QAction(spec.help, self)
            action.setShortcuts([QKeySequence(k) for k in spec.keys])
            action.setShortcutContext(Qt.ApplicationShortcut)
            action.triggered.connect(getattr(self, f"on_{spec.name}"))
            self.addAction(action)
            if spec.menu not in menus:
                menus[spec.menu] = self.menuBar().addMenu(spec.menu)
            menus[spec.menu].addAction(action)
            self.actions_by_name[spec.name] = action

    def on_left_better(self) -> None:
        self._score(1) if self._is(ItemKind.SCALAR) else self._pairwise("left", "slight")

    def on_right_better(self) -> None:
        self._score(2) if self._is(ItemKind.SCALAR) else self._pairwise("right", "slight")

    def _is(self, kind: ItemKind) -> bool:
        return self.item is not None and self.item.kind is kind

    def on_left_clearly(self) -> None:
        self._pairwise("left", "clear")

    def on_right_clearly(self) -> None:
        self._pairwise("right", "clear")

    def on_tie(self) -> None:
        self._pairwise_verdict("tie", None)

    def on_both_bad(self) -> None:
        self._pairwise_verdict("both_bad", None)

    def _pairwise(self, side: str, strength: str) -> None:
        if self.item and self.item.kind is ItemKind.PAIRWISE:
            self._pairwise_verdict(self.pairwise.verdict_for(side), strength)

    def _pairwise_verdict(self, verdict: str, strength: str | None) -> None:
        if not self.item or self.item.kind is not ItemKind.PAIRWISE:
            return
        payload = {"verdict": verdict, "strength": strength, "dims": {}, "reason_tags": [], "rationale": None}
        self._commit(LabelKind.PAIRWISE, payload, self.pairwise.display_order)

    def _score(self, score: int) -> None:
        if self.item and self.item.kind is ItemKind.SCALAR:
            self._commit(LabelKind.SCALAR, {"score": score, "dims": {}}, None)

    def on_score_3(self) -> None:
        self._score(3)

    def on_score_4(self) -> None:
        self._score(4)

    def on_score_5(self) -> None:
        self._score(5)

    def on_skip(self) -> None:
        if self.item:
            self.queue.skip(self.item.id)
            self.show_next()

    def on_back(self) -> None:
        before = self.editing
        label = self.project.previous_label(self.rater, before=before)
        if label is None:
            self.statusBar().showMessage("No earlier label in this project.", 3000)
            return
        self.editing = label
        self._show(self.project.item(label.item_id))
        self.statusBar().showMessage("Re-doing your earlier label: the new verdict supersedes it.", 5000)

    def on_cheat_sheet(self) -> None:
        rows = "".join(f"<tr><td><b>{' / '.join(a.keys)}</b></td><td>{a.help}</td></tr>" for a in ACTIONS)
        QMessageBox.information(self, "Shortcuts", f"<table cellpadding=4>{rows}</table>")

    # -- flow --------------------------------------------------------------------------------------
    def _commit(self, kind: LabelKind, payload: dict, display_order) -> None:
        duration = int((time.monotonic() - self.shown_at) * 1000)
        self.project.commit_label(self.item.id, self.rater, kind, payload, session=self.session,
                                  duration_ms=duration, display_order=display_order, supersedes=self.editing)
        self.editing = None
        self.show_next()

    def show_next(self) -> None:
        while True:
            item = self.queue.next_item()
            if item is None or item.kind in SUPPORTED:
                break
            self.queue.skip(item.id)  # ranking and process views are not built yet
            if self.queue.served > 10_000:
                item = None
                break
        self._show(item)

    def _show(self, item: Item | None) -> None:
        self.item = item
        if item is None:
            self.stack.setCurrentWidget(self.empty)
            self.header.setText("Queue empty")
            return
        view = self.pairwise if item.kind is ItemKind.PAIRWISE else self.scalar
        view.show_item(item)
        self.stack.setCurrentWidget(view)
        meta = " · ".join(f"{k}: {v}" for k, v in (("scenario", item.scenario), ("risk", item.risk_level)) if v)
        gold = " · gold" if item.is_gold else ""
        self.header.setText(f"{item.kind.value}{gold}   {meta}")
        self.shown_at = time.monotonic()
