"""Project › Items: every item of the project in one table, filtered, searched, opened and edited in bulk; and
the raters' progress beside it.

Which items match runs off the GUI thread on a connection of its own (a million rowids in ~0.2 s; the first
full-text search builds the index once); the table reads only the rows on screen. Edits run as project
operations and come back through the desk's `changed` signal, as every panel's data does. What an annotator
sees is their own: no other rater's names, verdicts, agreement or the model's scores (they would bias labels).
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QGridLayout, QHeaderView, QLabel, QLineEdit,
                               QTableView, QTabWidget, QVBoxLayout, QWidget)

from prefdesk.domain import ItemKind, roles
from prefdesk.quality import browse
from prefdesk.store import item_meta
from prefdesk.store import runs as store_runs
from prefdesk.store.project import Project
from prefdesk.ui.actions import action, keys_text
from prefdesk.ui.items.model import COLUMNS, ItemsModel
from prefdesk.ui.items.raters import RatersView
from prefdesk.ui.operations import Change
from prefdesk.ui.worker import describe, run_in_background

ANY = "Any"
NONE = "(not set)"
HEAD = 256  # rows read on the GUI thread when the panel opens, before the whole list
WIDEST = {"kind": "pairwise", "scenario": "customer-serv", "risk_level": "medium", "raters": "maya, tom",
          "status": "disputed"}  # what a column is sized to show (a tooltip shows the rest)
_REFRESH_ON = Change.ITEMS | Change.LABELS | Change.FLAGS | Change.SCORES | Change.SETTINGS | Change.PROJECT


def matching(path, query: browse.ItemQuery) -> tuple[list[int], str | None, int, int]:
    """Off the GUI thread: (rowids, the run scored last, items the search index had to take in first, items in
    the project)."""
    from prefdesk.store import search

    with Project.open(path) as project:
        indexed = search.catch_up(project) if query.search.strip() else 0
        return (browse.item_rowids(project, query), store_runs.last_scored_run(project), indexed,
                project.item_count())


class ItemsPanel(QWidget):
    key_scope = "items"

    def __init__(self, desk) -> None:
        super().__init__(desk, Qt.Window)
        self.desk = desk
        self.lead = roles.sees_others_labels(desk.rater.role)
        self.setWindowTitle(f"Items — {desk.project.path.name}")
        self.model = ItemsModel(desk.project)
        self.model.show_raters = self.lead
        self.sort = ("added", False)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)
        self.table.setSortingEnabled(True)  # a click on a header asks `_sort_requested` for a new query
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)  # the lead drags; the prompt gets 40 characters
        metrics = self.fontMetrics()
        for column, (title, field, _) in enumerate(COLUMNS):
            sample = "x" * 40 if field == "prompt" else max(title, WIDEST.get(field, ""), key=metrics.horizontalAdvance)
            header.resizeSection(column, metrics.horizontalAdvance(sample) + metrics.height() * 2)
            if not self.lead and field in ("agreement", "status", "score_gap"):
                self.table.setColumnHidden(column, True)
        self.table.doubleClicked.connect(lambda index: self.open_item())
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search prompts and answers (every word; the last one as a prefix)")
        self.search.setClearButtonEnabled(True)
        self.filters: dict[str, QComboBox] = {}
        grid = QGridLayout()
        grid.addWidget(QLabel("&Search"), 0, 0)
        grid.itemAtPosition(0, 0).widget().setBuddy(self.search)
        grid.addWidget(self.search, 0, 1, 1, 7)
        for n, (name, title) in enumerate((("kind", "Kind"), ("scenario", "Scenario"), ("risk_level", "Risk"),
                                           ("bucket", "Bucket"), ("gold", "Gold"), ("flagged", "Flagged"),
                                           ("raters", "Raters"), ("status", "Dispute"), ("labelled_by", "Labelled by"),
                                           ("not_labelled_by", "Not yet by"), ("scored", "Model scores"),
                                           ("held_back", "Held back"))):
            box = QComboBox()
            box.setSizeAdjustPolicy(QComboBox.AdjustToContents)
            box.currentIndexChanged.connect(self.requery)
            self.filters[name] = box
            row, col = 1 + n // 4, (n % 4) * 2
            grid.addWidget(QLabel(title), row, col)
            grid.addWidget(box, row, col + 1)
        self.filters["status"].setEnabled(self.lead)
        self.filters["scored"].setEnabled(self.lead)
        self.count = QLabel()
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        items_tab = QWidget()
        column = QVBoxLayout(items_tab)
        column.addLayout(grid)
        column.addWidget(self.table, 1)
        column.addWidget(self.count)
        column.addWidget(self.hint)
        self.raters = RatersView(desk)
        self.tabs = QTabWidget()
        self.tabs.addTab(items_tab, "&Items")
        self.tabs.addTab(self.raters, "&Raters")
        self.tabs.currentChanged.connect(lambda index: index == 1 and self.raters.refresh())
        QVBoxLayout(self).addWidget(self.tabs)
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.requery)
        self.search.textChanged.connect(self._search_timer.start)
        self._generation = 0
        self.finished = -1  # the last query whose rows are shown (tests and benchmarks wait for it)
        self.model.sort_requested = self._sort_requested
        self._job = None
        self.started_at = 0.0
        self.took_s: float | None = None  # how long the last query took, until its rows were on screen
        area = (self.screen() or desk.screen()).availableGeometry()
        self.resize(min(1300, int(area.width() * 0.92)), min(820, int(area.height() * 0.92)))
        self._fill_filters()
        self._read_choices()
        self._show_hint()
        desk.ops.changed.connect(self._changed)
        self.requery(head=True)

    # -- filters --------------------------------------------------------------------------------------
    def _read_choices(self) -> None:
        """The scenarios, risk levels and buckets in use (an index scan each: off the GUI thread)."""
        path = self.desk.project.path

        def work() -> dict[str, list[str]]:
            with Project.open(path) as project:
                return {name: browse.values(project, name) for name in ("scenario", "risk_level", "bucket")}

        self._choices_job = run_in_background(work, self._fill_filters)

    def _fill_filters(self, known: dict[str, list[str]] | None = None) -> None:
        project = self.desk.project
        self.known = known if known is not None else getattr(self, "known", {})
        people = [(r.name, r.id) for r in project.raters() if r.role in roles.PEOPLE]
        if not self.lead:
            people = [(self.desk.rater.name, self.desk.rater.id)]
        choices = {name: [(ANY, None), (NONE, browse.BLANK)] + [(v, v) for v in self.known.get(name, [])]
                   for name in ("scenario", "risk_level", "bucket")}
        choices["kind"] = [(ANY, None)] + [(k.value, k.value) for k in ItemKind]
        choices["gold"] = [(ANY, None), ("gold", True), ("not gold", False)]
        choices["flagged"] = [(ANY, None), ("flagged", True), ("not flagged", False)]
        overlap = int(project.settings["overlap"])
        choices["raters"] = [(ANY, None), ("none yet", (0, 0)), (f"under the overlap ({overlap})", (0, overlap - 1)),
                             ("at the overlap or more", (overlap, None))]
        choices["status"] = [(ANY, None), ("disputed", "disputed"), ("disputed, never decided", "undecided"),
                             ("decided", "decided")]
        choices["labelled_by"] = [(ANY, None)] + people
        choices["not_labelled_by"] = [(ANY, None)] + people
        choices["scored"] = [(ANY, None), ("scored", True), ("not scored", False)]
        choices["held_back"] = [(ANY, None), ("held back from people", True), ("served to people", False)]
        for name, box in self.filters.items():
            current = box.currentText()
            box.blockSignals(True)
            box.clear()
            for text, value in choices[name]:
                box.addItem(text, value)
            box.setCurrentIndex(max(0, box.findText(current)))
            box.blockSignals(False)

    def query(self) -> browse.ItemQuery:
        chosen = {name: box.currentData() for name, box in self.filters.items()}
        low, high = chosen.pop("raters") or (None, None)
        return browse.ItemQuery(**chosen, min_raters=low, max_raters=high, search=self.search.text(),
                                sort=self.sort[0], descending=self.sort[1])

    def set_filter(self, name: str, text: str) -> None:
        """Choose a filter's entry by its text (scripts and tests; people use the boxes)."""
        box = self.filters[name]
        index = box.findText(text)
        if index < 0:
            raise KeyError(f"{name}: no entry {text!r} (entries: {[box.itemText(i) for i in range(box.count())]})")
        box.setCurrentIndex(index)

    def _sort_requested(self, key: str | None, descending: bool) -> None:
        if key is None:
            self.hint.setText("That column is computed for the rows on screen: filter on it (Dispute, Raters) instead.")
            return
        self.sort = (key, descending)
        self.requery()

    # -- the query, off the GUI thread ----------------------------------------------------------------
    def requery(self, head: bool = False) -> None:
        """Find the matching items off the GUI thread. With `head` (opening, every item in the order added),
        the first rows are read here at once (a millisecond) and the whole list completes them."""
        self._generation += 1
        generation, query, path = self._generation, self.query(), self.desk.project.path
        self.started_at = time.perf_counter()
        if head and query == browse.ItemQuery():
            total = self.desk.project.item_count()
            rowids = browse.item_rowids(self.desk.project, query, limit=HEAD)
            self.model.set_rowids(rowids, None, total)
            self.took_s = time.perf_counter() - self.started_at
        self.count.setText("Finding the items…")
        if query.search.strip():
            self.count.setText("Searching (the first search builds the index, once per project)…")
        self._job = run_in_background(lambda: matching(path, query), lambda r: self._found(generation, r),
                                      lambda exc: self._failed(generation, exc))

    def _found(self, generation: int, result) -> None:
        if generation != self._generation:
            return  # a newer filter was chosen meanwhile
        rowids, scores_run, indexed, total = result
        self.finished = generation
        same = rowids == self.model.rowids  # a refresh after a change: keep the place and the selection
        if len(rowids) > len(self.model.rowids) and self.model.complete(rowids, scores_run if self.lead else None):
            pass  # the head shown at once is now the whole list
        elif same:
            self.model.scores_run = scores_run if self.lead else None
            self.model.reread()
        else:
            self.model.set_rowids(rowids, scores_run if self.lead else None)
        self.took_s = time.perf_counter() - self.started_at
        shown = f"{len(rowids):,} of {total:,} items" if len(rowids) != total else f"{total:,} items"
        built = f" · {indexed:,} items added to the search index" if indexed else ""
        self.count.setText(f"{shown} · {self.took_s:.2f} s{built}")

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation == self._generation:
            self.count.setText(f"Could not read the items: {describe(exc)}")

    def _changed(self, change: Change) -> None:
        if change & _REFRESH_ON:
            if change & (Change.ITEMS | Change.PROJECT | Change.SETTINGS):
                self._read_choices()
            self.requery()

    # -- selection and actions -------------------------------------------------------------------------
    def selected_rows(self) -> list[int]:
        rows: list[int] = []
        for block in self.table.selectionModel().selection():
            rows.extend(range(block.top(), block.bottom() + 1))
        return sorted(set(rows))

    def selected_ids(self) -> list[str]:
        return self.model.item_ids(self.selected_rows())

    @action("items_open", "items", ("Return", "Enter"), "Open the item: prompt, answers and every label on it")
    def open_item(self) -> None:
        from prefdesk.ui.items.dialogs import ItemDialog

        index = self.table.currentIndex()
        if not index.isValid():
            return
        row = self.model.row(index.row())
        ItemDialog(self, self.desk, row.id).exec()

    @action("items_edit", "items", "Ctrl+M", "Edit scenario, risk level, bucket, priority or gold of the selection…")
    def edit_selection(self) -> None:
        from prefdesk.ui.items.dialogs import BulkEditDialog

        if not roles.can_edit_items(self.desk.rater.role):
            self.hint.setText("Editing items is for reviewers and experts: a lead sets your role.")
            return
        ids = self.selected_ids()
        if not ids:
            self.hint.setText("Select the items to edit first (Shift+↓ extends, Ctrl+A selects all).")
            return
        dialog = BulkEditDialog(self, len(ids), self.known)
        if not dialog.exec() or not dialog.changes:
            return
        path, changes, by = self.desk.project.path, dialog.changes, self.desk.rater.name

        def work() -> int:
            with Project.open(path) as project:
                return item_meta.set_meta(project, ids, changes, by)

        self.desk.ops.run(work, Change.ITEMS,
                          lambda n: self.hint.setText(f"{n:,} items changed ({', '.join(changes)}); recorded as {by}'s edit."))

    @action("items_search", "items", ("Ctrl+F", "/"), "Search prompts and answers")
    def focus_search(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.search.setFocus()
        self.search.selectAll()

    @action("items_clear", "items", "Ctrl+Backspace", "Clear the search and every filter")
    def clear_filters(self) -> None:
        for box in self.filters.values():
            box.blockSignals(True)
            box.setCurrentIndex(0)
            box.blockSignals(False)
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.requery()

    @action("items_raters", "items", "Ctrl+2", "Show the raters' progress")
    def show_raters(self) -> None:
        self.tabs.setCurrentIndex(1)

    @action("items_table", "items", "Ctrl+1", "Show the items")
    def show_items(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.table.setFocus()

    @action("items_help", "items", ("?", "F1"), "Keyboard shortcuts of the Items window")
    def cheat_sheet(self) -> None:
        from prefdesk.ui.desk.dialogs import CheatSheet

        CheatSheet(self, "items", self.desk.bindings).exec()

    def _show_hint(self) -> None:
        bindings = self.desk.bindings
        self.hint.setText(f"{keys_text(bindings, 'items_open', 1)} opens an item · "
                          f"{keys_text(bindings, 'items_edit', 1)} edits the selection's metadata · "
                          f"{keys_text(bindings, 'items_search', 1)} searches · "
                          f"{keys_text(bindings, 'items_clear', 1)} clears the filters")
