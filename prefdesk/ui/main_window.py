"""The desk's main window: one item at a time; a key commits a label and the next item is painted."""

from __future__ import annotations

import bisect
import sqlite3
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QMessageBox, QStackedWidget, QVBoxLayout, QWidget

from prefdesk.domain import Item, ItemKind, Label, LabelKind, Rater
from prefdesk.store.project import Project, ProjectError
from prefdesk.store.queue import Queue, remaining_for
from prefdesk.ui.actions import ACTIONS, BY_NAME, GLOBAL
from prefdesk.ui.dialogs import CheatSheet, Preferences, RewriteDialog
from prefdesk.ui.file_menu import FileMenu, remember
from prefdesk.ui.side_pane import SidePane
from prefdesk.ui.views import Commit, ItemView, PairwiseView, ProcessView, RankingView, ScalarView
from prefdesk.ui.worker import run_in_background

VIEW_CLASSES = {ItemKind.PAIRWISE: PairwiseView, ItemKind.RANKING: RankingView,
                ItemKind.SCALAR: ScalarView, ItemKind.PROCESS: ProcessView}


def load_bindings() -> dict[str, tuple[str, ...]]:
    """The user's shortcuts (QSettings), falling back to the registry's defaults."""
    settings = QSettings()
    out = {}
    for spec in ACTIONS:
        saved = settings.value(f"shortcuts/{spec.name}")
        out[spec.name] = tuple(saved) if isinstance(saved, list) else (saved,) if saved else spec.keys
    return out


def save_bindings(bindings: dict[str, tuple[str, ...]]) -> None:
    settings = QSettings()
    for name, keys in bindings.items():
        if keys == BY_NAME[name].keys:
            settings.remove(f"shortcuts/{name}")
        else:
            settings.setValue(f"shortcuts/{name}", list(keys))


class MainWindow(QMainWindow):
    def __init__(self, project: Project, rater: Rater) -> None:
        super().__init__()
        self.project, self.rater = project, rater
        self.session = project.start_session(rater)
        self.queue = Queue(project, rater)
        self.item: Item | None = None
        self.editing: Label | None = None  # the label being re-done after `back`
        self.shown_at = time.monotonic()
        self.remaining: int | None = None
        self.setWindowTitle(f"PrefDesk — {project.path.name} — {rater.name}")
        settings = project.settings
        self.views: dict[ItemKind, ItemView] = {kind: cls(settings) for kind, cls in VIEW_CLASSES.items()}
        self.empty = QLabel("Nothing left in your queue. Thank you!")
        self.empty.setAlignment(Qt.AlignCenter)
        self.stack = QStackedWidget()
        for w in (*self.views.values(), self.empty):
            self.stack.addWidget(w)
        self.header = QLabel()
        self.header.setStyleSheet("padding: 4px 8px; color: #2d3748; background: #edf2f7; border-radius: 4px;")
        self.side = SidePane(*project.guidelines())
        main = QWidget()
        column = QVBoxLayout(main)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.header)
        column.addWidget(self.stack, 1)
        central = QWidget()
        row = QHBoxLayout(central)
        row.addWidget(main, 1)
        row.addWidget(self.side)
        self.setCentralWidget(central)
        self.bindings = load_bindings()
        self.actions_by_name: dict[str, QAction] = {}
        self._build_actions()
        self.file_menu = FileMenu(self)
        QShortcut(QKeySequence("Escape"), self.side.rationale, self.setFocus, context=Qt.WidgetShortcut)
        self.resize(1400, 860)
        self._load_progress()
        self._count_remaining()
        self.show_next()

    def _count_remaining(self) -> None:
        path, rater_id = self.project.path, self.rater.id
        self._count_job = run_in_background(lambda: remaining_for(path, rater_id), self._remaining_counted)

    def open_project(self, path) -> None:
        """Switch the window to another project file, as the same rater; one that cannot be opened (not a
        project, from a newer PrefDesk, busy with a large import) is named in a message and the current stays."""
        try:
            new = Project.open(path)
        except ProjectError as exc:
            QMessageBox.warning(self, "Open project", str(exc))
            return
        remember(Path(path).resolve())
        old, self.project = self.project, new
        old.close()
        self.rater = new.ensure_rater(self.rater.name, self.rater.role, self.rater.level)
        self.session = new.start_session(self.rater)
        self.setWindowTitle(f"PrefDesk — {new.path.name} — {self.rater.name}")
        self.item, self.editing = None, None  # nothing of the old file stays on screen
        self._load_progress()
        self.after_import()

    def after_import(self) -> None:
        """New items may be waiting: recount and, if the queue was empty, show the next one."""
        self.queue = Queue(self.project, self.rater)
        self.remaining = None
        self._refresh_progress()
        self._count_remaining()
        if self.item is None:
            self.show_next()

    # -- actions ---------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        menus = {}
        for spec in ACTIONS:
            action = QAction(spec.help, self)
            action.setShortcutContext(Qt.WindowShortcut)
            action.triggered.connect(lambda checked=False, name=spec.name: self.dispatch(name))
            self.addAction(action)
            title = "&Label" if spec.view == GLOBAL else f"&{spec.view.capitalize()}"
            if title not in menus:
                menus[title] = self.menuBar().addMenu(title)
            menus[title].addAction(action)
            self.actions_by_name[spec.name] = action
        self._apply_bindings()

    def _apply_bindings(self) -> None:
        for name, action in self.actions_by_name.items():
            action.setShortcuts([QKeySequence(k) for k in self.bindings[name]])

    def _enable_for(self, view: str | None) -> None:
        """Only the current view's actions (and the global ones) listen, so keys may repeat across views."""
        for spec in ACTIONS:
            self.actions_by_name[spec.name].setEnabled(spec.view in (GLOBAL, view))

    def current_view(self) -> ItemView | None:
        return self.views.get(self.item.kind) if self.item else None

    def dispatch(self, name: str) -> None:
        """Every shortcut, menu entry and test ends here."""
        view = self.current_view()
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler()
            return
        if view is None:
            return
        commit = view.handle(name)
        if commit is not None:
            self.commit(commit)  # paints the next item and its hint, or says why nothing was saved
        else:
            self.statusBar().showMessage(view.hint())

    def _on_back(self) -> None:
        label = self.project.previous_label(self.rater, before=self.editing)
        if label is None:
            self.statusBar().showMessage("No earlier label of yours in this project.", 3000)
            return
        self.editing = label
        self._show(self.project.item(label.item_id))
        self.statusBar().showMessage("Re-doing an earlier label: what you give now supersedes it.", 5000)

    def _on_skip(self) -> None:
        if self.item:
            self.queue.skip(self.item.id)
            self.editing = None
            self.show_next()

    def _on_flag(self) -> None:
        if self.item:
            self.project.flag(self.item.id, self.rater, self.side.rationale.toPlainText() or None)
            self.side.show_item(self.item, flagged=True)
            self.statusBar().showMessage("Flagged for review.", 3000)

    def _on_guidelines(self) -> None:
        self.side.toggle_guidelines()

    def _on_rationale(self) -> None:
        self.side.rationale.setFocus()

    def _on_cheat_sheet(self) -> None:
        CheatSheet(self, self.item.kind.value if self.item else GLOBAL, self.bindings).exec()

    def _on_preferences(self) -> None:
        dialog = Preferences(self, self.bindings)
        if dialog.exec():
            self.set_bindings(dialog.bindings)

    def set_bindings(self, bindings: dict[str, tuple[str, ...]]) -> None:
        self.bindings = dict(bindings)
        save_bindings(self.bindings)
        self._apply_bindings()

    def _on_rewrite(self) -> None:
        if not self.item:
            return
        view = self.current_view()
        if isinstance(view, ProcessView):
            dialog = RewriteDialog(self, [(f"Step {view.cursor + 1}", self.item.steps[view.cursor].text)])
            if dialog.exec():
                view.set_replacement(dialog.editor.toPlainText())
            return
        order = view.display_order if isinstance(view, PairwiseView) else range(len(self.item.candidates))
        names = ["Left", "Right"] if isinstance(view, PairwiseView) else [f"Candidate {p + 1}" for p in order]
        choices = [(n, self.item.candidates[p].text) for n, p in zip(names, order)]
        dialog = RewriteDialog(self, choices)
        if dialog.exec() and dialog.editor.toPlainText().strip():
            original = list(order)[dialog.which.currentIndex()]
            cand = self.project.add_candidate(self.item.id, dialog.editor.toPlainText(), source="human-rewrite")
            self.project.commit_label(self.item.id, self.rater, LabelKind.REWRITE,
                                      {"original": original, "rewrite": cand.position}, session=self.session,
                                      duration_ms=self._elapsed_ms())
            self.item = self.project.item(self.item.id)
            self.statusBar().showMessage("Rewrite saved as a new candidate, preferred to the original.", 4000)

    # -- flow --------------------------------------------------------------------------------------
    def _elapsed_ms(self) -> int:
        return int((time.monotonic() - self.shown_at) * 1000)

    def commit(self, commit: Commit) -> None:
        """Store the label (fsynced), then paint the next item."""
        payload = dict(commit.payload)
        rationale = self.side.rationale.toPlainText().strip()
        if commit.kind is LabelKind.PAIRWISE:
            payload["rationale"] = rationale or None
            if (not rationale and self.item.risk_level == "high"
                    and self.project.settings["rationale_required_high_risk"]):
                self.statusBar().showMessage("High-risk item: write a rationale first (N), then give the verdict.", 6000)
                self.side.rationale.setFocus()
                return
        elif rationale:
            payload["rationale"] = rationale
        duration = self._elapsed_ms()
        try:
            self.project.commit_label(self.item.id, self.rater, commit.kind, payload, session=self.session,
                                      duration_ms=duration, display_order=commit.display_order,
                                      supersedes=self.editing)
        except sqlite3.OperationalError as exc:  # another writer (an import) held the file past busy_timeout
            self.statusBar().showMessage(f"Not saved: the project is busy ({exc}). The item stays; press the key "
                                         "again in a moment.", 10000)
            return
        if self.editing is None and self.remaining:
            self.remaining -= 1
        bisect.insort(self.durations, duration)
        self.editing = None
        self._refresh_progress()
        self.show_next()

    def show_next(self) -> None:
        self._show(self.queue.next_item())

    def _show(self, item: Item | None) -> None:
        self.item = item
        if item is None:
            self.stack.setCurrentWidget(self.empty)
            self.header.setText("Queue empty")
            self._enable_for(None)
            return
        view = self.views[item.kind]
        view.show_item(item, seed=self.rater.id)
        self.stack.setCurrentWidget(view)
        self._enable_for(item.kind.value)
        self.side.show_item(item)
        gold = "  ·  gold" if item.is_gold else ""
        editing = "  ·  EDITING an earlier label" if self.editing else ""
        self.header.setText(f"<b>{item.kind.value}</b>{gold}{editing}   {item.scenario or ''}")
        self.statusBar().showMessage(view.hint())
        self.setFocus()
        self.shown_at = time.monotonic()

    def _remaining_counted(self, count: int) -> None:
        """Arrives from the background count; may come after the project closed, so no query here."""
        self.remaining = count
        self._refresh_progress()

    def _load_progress(self) -> None:
        """Today's durations, read once; each commit then adds its own (no query on the key path)."""
        self.durations = sorted(self.project.durations_today(self.rater))
        self._refresh_progress()

    def _refresh_progress(self) -> None:
        median = self.durations[len(self.durations) // 2] / 1000 if self.durations else None
        self.side.show_progress(len(self.durations), median, self.remaining)
