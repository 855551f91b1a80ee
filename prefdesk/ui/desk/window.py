"""The desk's main window: one item at a time; a key commits a label and the next item is painted.

The window is a shell: views render drafts, the registry (`actions.py`) maps keys to handlers, and
`set_project` plus the `changed` signal are the one path by which a project (or its settings) reaches
every widget, so nothing of another project can stay on screen.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QThreadPool, QTimer
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QMessageBox, QStackedWidget, QVBoxLayout, QWidget

from prefdesk.domain import Item, ItemKind, Rater
from prefdesk.labeling import Draft, Incomplete, ReadyLabel, rationale_needed
from prefdesk.labeling.session import HELD, ITEM_SHOWN, LABELLED, MESSAGE, PROGRESS, DeskSession
from prefdesk.store import runs as store_runs
from prefdesk.store.project import Project, ProjectError
from prefdesk.store.queue import remaining_for
from prefdesk.ui.actions import (GLOBAL, PANEL_SCOPES, ActionSpec, all_actions, by_name, keymaps, keys_text,
                                 load_bindings, save_bindings)
from prefdesk.ui.keys import KeyDispatcher
import prefdesk.ui.arbitration.panel  # noqa: F401  (declares the Arbitration panel's actions)
import prefdesk.ui.items.panel  # noqa: F401  (declares the Items panel's actions)
from prefdesk.ui.operations import Change, Operations
from prefdesk.ui.desk.side_pane import SidePane
from prefdesk.ui.desk.views import ItemView, PairwiseView, ProcessView, RankingView, ScalarView
from prefdesk.ui.desk.views.base import escaped
from prefdesk.ui.worker import describe
from prefdesk.ui import forms

DESK_LOCK_WAIT_MS = 150  # a write waits this long for an import's lock, then the label is held on disk
VIEW_CLASSES = {ItemKind.PAIRWISE: PairwiseView, ItemKind.RANKING: RankingView,
                ItemKind.SCALAR: ScalarView, ItemKind.PROCESS: ProcessView}
MENUS = {"pairwise": "&Pairwise", "ranking": "&Ranking", "scalar": "&Scalar", "process": "P&rocess", GLOBAL: "&Label"}
CLOSE_WAIT_MS = 60_000  # how long closing waits for work off the GUI thread (a 1M-item quality report: ~15 s)
PANELS = ("train_panel", "quality_panel", "arbitration_panel", "versions_panel", "items_panel", "generate_panel",
          "evaluate_panel", "feedback_panel")  # windows beside the desk
MENU_ORDER = ("&File", "&Label", "&Pairwise", "&Ranking", "&Scalar", "P&rocess", "Pro&ject", "&Help")


class MainWindow(QMainWindow):
    def __init__(self, project: Project, rater: Rater) -> None:
        super().__init__()
        self.project: Project | None = None
        self.rater = rater
        self.ops = Operations(self)
        self.ops.changed.connect(self.on_changed)
        self.views: dict[ItemKind, ItemView] = {kind: cls() for kind, cls in VIEW_CLASSES.items()}
        self.empty = QLabel()
        self.empty.setAlignment(Qt.AlignCenter)
        self.empty.setWordWrap(True)
        self.stack = QStackedWidget()
        for w in (*self.views.values(), self.empty):
            self.stack.addWidget(w)
        self.header = QLabel()
        self.header.setTextFormat(Qt.RichText)
        self.header.setStyleSheet("QLabel { padding: 4px 8px; background: palette(alternate-base); border-radius: 4px; }")
        self.side = SidePane()
        self.side.rationale.textChanged.connect(self._rationale_typed)
        main = QWidget()
        column = QVBoxLayout(main)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.header)
        column.addWidget(self.stack, 1)
        central = QWidget()
        central.setFocusPolicy(Qt.StrongFocus)  # the desk's keys arrive here when no text box is in use
        row = QHBoxLayout(central)
        row.addWidget(main, 1)
        row.addWidget(self.side)
        self.setCentralWidget(central)
        self.work: DeskSession | None = None  # the rater's session: what is shown, held, counted
        self.train_panel = None
        self.quality_panel = None
        self.arbitration_panel = None
        self.versions_panel = None
        self.items_panel = None
        self.generate_panel = None
        self.evaluate_panel = None
        self.feedback_panel = None
        self.retry = QTimer(self)
        self.retry.setInterval(1000)
        self.retry.timeout.connect(self._write_held)
        self.bindings = load_bindings()
        self._keymaps = keymaps(self.bindings)
        for view in self.views.values():
            view.set_bindings(self.bindings)
        self.menu_actions: dict[str, QAction] = {}
        self._build_menus()
        self.keys = KeyDispatcher(self, lambda: self._keymaps[self.item.kind.value if self.item else None],
                                  self.run_action, lambda: [p for a in PANELS if (p := getattr(self, a)) is not None],
                                  lambda scope: self._keymaps[scope])
        self._fit_screen()
        self.set_project(project, rater)

    # -- the one way a project reaches the window --------------------------------------------------
    def set_project(self, project: Project, rater: Rater) -> None:
        """Show `project` as `rater`: a new session, queue and settings; every panel refreshes through `changed`."""
        old = self.project
        if self.work is not None:
            self.work.end()
        if old is not None and old is not project:
            old.close()
        self.project = project
        project.wait_for_lock(DESK_LOCK_WAIT_MS)
        self.rater = project.ensure_rater(rater.name, rater.role, rater.level)
        order = str(QSettings().value(self.order_key(), "default"))
        self.work = DeskSession(project, self.rater, order)
        for event, callback in ((ITEM_SHOWN, self._paint), (PROGRESS, self.side.show_progress),
                                (MESSAGE, self.statusBar().showMessage), (HELD, self.retry.start),
                                (LABELLED, lambda label: self.ops.changed.emit(Change.LABELS))):
            self.work.connect(event, callback)
        if self.work.held:
            self.retry.start()
        for attribute in PANELS:  # each belongs to the project it was opened on
            panel = getattr(self, attribute)
            if panel is not None:
                panel.close()
                panel.deleteLater()
                setattr(self, attribute, None)
        from prefdesk.jobs.watch import settle_running_runs

        settle_running_runs(project)  # runs that ended, or were killed, while no desk was watching
        self.on_changed(Change.ALL)
        if project.double_votes:  # a file from before the one-vote rule (`store.votes`)
            self.statusBar().showMessage(f"This project holds {len(project.double_votes)} double vote(s), a rater "
                                         "with two current votes on an item: prefdesk check --repair mends them", 0)

    def on_changed(self, change: Change) -> None:
        """Refresh what `change` touched. Every write (here or in an operation) ends here."""
        work = self.work
        if change & Change.PROJECT:
            self.setWindowTitle(f"PrefDesk — {self.project.path.name} — {self.rater.name}")
            # rendered just after the item is painted (the first Markdown document builds the parser, ~80 ms);
            # another project's stay on screen not even that long
            self.side.guidelines.clear()
            QTimer.singleShot(0, self._show_guidelines)
        elif change & Change.SETTINGS:
            self._show_guidelines()
        if change & (Change.ITEMS | Change.PROJECT):
            work.renew_queue()
            queue = work.queue
            self.ops.run(lambda: remaining_for(queue.project.path, queue.rater.id), Change(0),
                         lambda count: work.remaining_counted(queue, count))
        work.report_progress()
        if change & Change.PROJECT or (change & Change.ITEMS and self.item is None):
            work.show_next()
        if change & Change.SCORES and not change & Change.PROJECT:
            work.scores_stored(store_runs.last_scored_run(self.project))
        elif change & Change.FLAGS and self.item is not None:
            self._show_side()

    def _write_held(self) -> None:
        """Every second while labels wait: write them in once the file is free."""
        if self.work.write_held():
            self.retry.stop()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if self.train_panel is not None and self.train_panel.running() and not self._leave_run():
            event.ignore()
            return
        for attribute in PANELS:  # the train panel stops watching; a run left going is read back by the next desk
            if getattr(self, attribute) is not None:
                getattr(self, attribute).close()
        # work started off the GUI thread (a decision being written, a report being read) ends before the desk
        # does: a write is never cut by the process exiting, nor a worker left emitting into a deleted app
        QThreadPool.globalInstance().waitForDone(CLOSE_WAIT_MS)
        if self.work is not None:
            self.work.end()
            self.work = None
        super().closeEvent(event)

    def _leave_run(self) -> bool:
        """A run is going and the desk closes: cancel it (with a checkpoint), leave it running, or stay open."""
        box = QMessageBox(QMessageBox.Question, "A training run is going",
                          "Cancel the run (it keeps a checkpoint to resume from), or leave it running? The desk "
                          "reads its result back when it opens again.", parent=self)
        cancel = box.addButton("Cancel the run", QMessageBox.DestructiveRole)
        leave = box.addButton("Leave it running", QMessageBox.AcceptRole)
        box.addButton("Don't close", QMessageBox.RejectRole)
        box.exec()
        if box.clickedButton() is cancel:
            self.train_panel.cancel()
        return box.clickedButton() in (cancel, leave)

    def _fit_screen(self) -> None:
        """1400x860 where it fits, else 92% of the screen, whatever the scale factor."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        area = screen.availableGeometry()
        self.resize(min(1400, int(area.width() * 0.92)), min(860, int(area.height() * 0.92)))

    # -- keys and menus ------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        menus = {title: self.menuBar().addMenu(title) for title in MENU_ORDER}
        for spec in all_actions():
            if spec.scope in PANEL_SCOPES:
                continue  # a panel's own keys: its cheat sheet lists them
            entry = QAction(spec.help, self)
            entry.triggered.connect(lambda checked=False, s=spec: self.run_action(s))
            menus[spec.menu or MENUS[spec.scope]].addAction(entry)
            self.menu_actions[spec.name] = entry
            if spec.name == "open_project":
                from prefdesk.ui.desk.file_menu import recent_menu

                menus["&File"].addMenu(recent_menu(self))
        self._label_menus()

    def _label_menus(self) -> None:
        """Menu entries show the live keys (as text: the keys themselves are read by `KeyDispatcher`)."""
        for spec in all_actions():
            if spec.scope in PANEL_SCOPES:
                continue
            keys = f"\t{keys_text(self.bindings, spec.name, 1)}" if self.bindings.get(spec.name) else ""
            self.menu_actions[spec.name].setText(spec.help + keys)

    def set_bindings(self, bindings: dict[str, tuple[str, ...]]) -> None:
        self.bindings = dict(bindings)
        save_bindings(self.bindings)
        self._label_menus()
        for view in self.views.values():
            view.set_bindings(self.bindings)
        self._keymaps = keymaps(self.bindings)
        self.side.set_keys(keys_text(self.bindings, "rationale", 1))
        self._show_guidelines()
        self._hint()

    def _show_guidelines(self) -> None:
        if self.project is not None and not self.project.closed:
            version, text = self.project.guidelines()
            self.side.show_guidelines(version, text, keys_text(self.bindings, "guidelines", 1))

    @property
    def item(self) -> Item | None:
        """The item on screen: the draft's."""
        return self.work.item if self.work is not None else None

    @property
    def draft(self) -> Draft | None:
        return self.work.draft if self.work is not None else None

    def current_view(self) -> ItemView | None:
        return self.views.get(self.item.kind) if self.item else None

    def run_action(self, spec: ActionSpec) -> None:
        """Every key, menu entry and test ends here: the action's handler, then a commit or a repaint."""
        if spec.scope == GLOBAL:
            target = self
        elif self.item is not None and spec.scope == self.item.kind.value:
            target = self.current_view()
        else:
            return  # a menu entry of another view
        try:
            result = spec.run(target)
        except Incomplete as exc:
            if self.draft is not None and rationale_needed(self.project.settings, self.item) and not self.draft.rationale.strip():
                # the box takes the keys now: say so, and name no key that would be typed into it
                self.side.rationale.setFocus()
                self.statusBar().showMessage("This item needs a rationale: type it now in the Rationale box, press "
                                             "Esc, then give the label again.", 12000)
            else:
                self.statusBar().showMessage(str(exc), 6000)
            return
        except ProjectError as exc:
            forms.tell(self, "PrefDesk", describe(exc))
            return
        if isinstance(result, ReadyLabel):
            self.commit(result)
        elif target is not self and self.draft is not None:
            target.render()
            self._hint()

    def run_named(self, name: str) -> None:
        """Run an action by name (the smoke test and scripts; keys go through `run_action`)."""
        self.run_action(by_name()[name])

    def _hint(self) -> None:
        view = self.current_view()
        if view is not None and self.draft is not None:
            self.statusBar().showMessage(view.hint())

    # -- flow -----------------------------------------------------------------------------------------
    def commit(self, ready: ReadyLabel) -> None:
        """Store the label (fsynced), then paint the next item; a label that could not be stored stays on screen."""
        try:
            self.work.commit(ready)
        except (ProjectError, OSError) as exc:  # a full or read-only disk: not stored, and the rater is told
            self.statusBar().showMessage("NOT stored: the label is still on screen; give it again once the disk "
                                         "has room.", 0)
            forms.tell(self, "The label was not stored", describe(exc))

    def train_on_version(self, name: str) -> None:
        """The Train panel, open on a dataset version (the Versions panel asks the desk, not the panel)."""
        self.run_named("train")
        self.train_panel.fill_datasets(choose=name)

    def raise_panel(self, attribute: str, cls) -> None:
        """Show the project's panel of this kind (made once per project), in front."""
        panel = getattr(self, attribute)
        if panel is None:
            panel = cls(self)
            setattr(self, attribute, panel)
        panel.show()
        panel.raise_()
        panel.activateWindow()

    def train_python(self) -> str | None:
        """The Python that runs training jobs, as set in Preferences (None: found by `jobs.runtime`)."""
        return str(QSettings().value("train_python", "") or "") or None

    def order_key(self) -> str:
        return f"queue_order/{self.project.path.resolve()}/{self.rater.name}"

    def show_item(self, item: Item | None, draft: Draft | None = None) -> None:
        """Paint `item` with `draft` again (a theme switch, a test); the session decides what is shown."""
        self.work.show(item, draft)

    def _paint(self, item: Item | None, draft: Draft | None) -> None:
        """The session showed an item (or nothing): lay it out."""
        if item is None:
            has_items = self.project.has_items()
            self.empty.setText("Nothing left in your queue. Thank you!" if has_items else
                               f"This project has no items yet.\n\nFile › Import ({keys_text(self.bindings, 'import', 1)}) "
                               "adds prompts and responses to label.")
            self.stack.setCurrentWidget(self.empty)
            self.header.setText("Queue empty" if has_items else "No items")
            self.side.show_item(None)
            self.side.rationale.clear()
            self.statusBar().clearMessage()
            return
        view = self.views[item.kind]
        if isinstance(view, PairwiseView):
            view.model_scores = self.work.model_scores(item)
            view.judge_verdicts = self.work.judge_verdicts(item)
        view.show_draft(draft)
        self.stack.setCurrentWidget(view)
        self.side.rationale.setPlainText(draft.rationale)
        self.side.set_keys(keys_text(self.bindings, "rationale", 1))
        self._show_side()
        editing = "  ·  <b>re-doing an earlier label</b>" if self.work.editing else ""
        scenario = f"   {escaped(item.scenario)}" if item.scenario else ""
        self.header.setText(f"<b>{escaped(item.kind.value)}</b>{editing}{scenario}")
        self._hint()
        self.centralWidget().setFocus()

    def _show_side(self) -> None:
        self.side.show_item(self.item, self.project.flag_note(self.item.id, self.rater),
                            rationale_needed(self.project.settings, self.item))

    def _rationale_typed(self) -> None:
        if self.draft is not None:
            self.draft.rationale = self.side.rationale.toPlainText()

    def open_project(self, path: str | Path) -> None:
        """Switch to another project file, as the same rater; one that cannot be opened (not a project, from
        a newer PrefDesk, busy with a large import) is named in a message and the current one stays."""
        try:
            new = Project.open(path)
        except ProjectError as exc:
            forms.tell(self, "Open project", str(exc))
            return
        from prefdesk.ui.desk.file_menu import remember

        remember(Path(path).resolve())
        self.set_project(new, self.rater)


import prefdesk.ui.desk.file_menu  # noqa: E402,F401  (declares the File menu's actions)
import prefdesk.ui.desk.label_menu  # noqa: E402,F401  (declares the Label menu's actions)
import prefdesk.ui.desk.project_menu  # noqa: E402,F401  (declares the Project menu's actions)
