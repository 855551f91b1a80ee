"""The raters for the lead: labels today and in all, items left to each under the overlap rule, median time per
label and last activity (`quality.browse.raters_overview`, off the GUI thread); a rater's role and name, changed
here and recorded (`People.set_role`, `rename_rater`), with every change below."""

from __future__ import annotations

from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QInputDialog, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from prefdesk.domain import roles
from prefdesk.quality import browse
from prefdesk.store.project import Project, ProjectError
from prefdesk.ui import forms
from prefdesk.ui.operations import Change
from prefdesk.ui.worker import describe, run_in_background

HEADERS = ("Rater", "Role", "Level", "Today", "In all", "Left to them", "Median s / label", "Last activity (UTC)")
HISTORY = ("When (UTC)", "Rater", "Change", "From", "To", "By")
ROLES = [r.value for r in roles.PEOPLE]


def overview(path) -> tuple[list[browse.RaterRow], list[dict]]:
    with Project.open(path) as project:
        return browse.raters_overview(project), project.rater_changes()


def table(headers: tuple[str, ...]) -> QTableWidget:
    widget = QTableWidget(0, len(headers))
    widget.setHorizontalHeaderLabels(headers)
    widget.setEditTriggers(QAbstractItemView.NoEditTriggers)
    widget.setSelectionBehavior(QAbstractItemView.SelectRows)
    widget.setSelectionMode(QAbstractItemView.SingleSelection)
    widget.verticalHeader().setVisible(False)
    widget.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
    return widget


def fill(widget: QTableWidget, rows: list[tuple[str, ...]]) -> None:
    widget.setRowCount(len(rows))
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            widget.setItem(r, c, QTableWidgetItem(text))


class RatersView(QWidget):
    def __init__(self, desk) -> None:
        super().__init__()
        self.desk = desk
        self.table = table(HEADERS)
        self.role = QComboBox()
        self.role.addItems(ROLES)
        self.set_role_button = QPushButton("Set &role")
        self.set_role_button.clicked.connect(self.set_role)
        self.rename_button = QPushButton("Re&name…")
        self.rename_button.clicked.connect(self.rename)
        tools = QHBoxLayout()
        tools.addWidget(QLabel("Selected rater's role:"))
        for widget in (self.role, self.set_role_button, self.rename_button):
            tools.addWidget(widget)
        tools.addStretch(1)
        self.table.itemSelectionChanged.connect(self._follow)  # the box shows the selected rater's role
        self.history = table(HISTORY)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setMinimumHeight(self.fontMetrics().lineSpacing() * 3)
        column = QVBoxLayout(self)
        column.addWidget(self.table, 3)
        column.addLayout(tools)
        column.addWidget(QLabel("<b>Changes of roles and names</b> (recorded: who, when, from, to)"))
        column.addWidget(self.history, 1)
        column.addWidget(self.note)
        self.rows: list[browse.RaterRow] = []
        self._job = None
        desk.ops.changed.connect(self._changed)

    def _changed(self, change: Change) -> None:
        if change & (Change.RATERS | Change.LABELS) and self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        lead = roles.sees_others_labels(self.desk.rater.role)
        for widget in (self.role, self.set_role_button, self.rename_button):
            widget.setEnabled(lead)
        if not lead:
            self.note.setText("The raters' progress is for reviewers and experts.")
            return
        self.note.setText("Counting…")
        self._job = run_in_background(lambda: overview(self.desk.project.path), self._show,
                                      lambda exc: self.note.setText(f"Could not count: {describe(exc)}"))

    def _show(self, result: tuple[list[browse.RaterRow], list[dict]]) -> None:
        self.rows, changes = result
        fill(self.table, [(row.name, row.role, row.level or "", str(row.today), str(row.total), str(row.left),
                           "" if row.median_s is None else f"{row.median_s:.1f}", (row.last or "")[:19].replace("T", " "))
                          for row in self.rows])
        fill(self.history, [(c["at"][:19].replace("T", " "), c["rater"], c["field"], c["from"], c["to"], c["by"])
                            for c in reversed(changes)])
        overlap = self.desk.project.settings["overlap"]
        self.note.setText(f"Today and In all count verdicts (an edit is not a new label). Left to them: items the "
                          f"queue can still give them (short of the overlap of {overlap}, or gold, not yet labelled by "
                          "them). A new role counts from the rater's next sitting: labels keep the role they were "
                          "given in.")

    def _follow(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and self.rows[rows[0].row()].role in ROLES:
            self.role.setCurrentText(self.rows[rows[0].row()].role)

    def selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.rows[rows[0].row()].name if rows else None

    def set_role(self) -> None:
        self._change(lambda project, name: project.set_role(name, self.role.currentText(), self.desk.rater.name))

    def rename(self) -> None:
        name = self.selected()
        if name is None:
            return self.note.setText("Select a rater first.")
        new, ok = QInputDialog.getText(self, "Rename a rater", f"New name for {name} (their labels stay theirs):",
                                       text=name)
        if ok and new.strip() and new.strip() != name:
            self._change(lambda project, old: project.rename_rater(old, new, self.desk.rater.name))

    def _change(self, change) -> None:
        name = self.selected()
        if name is None:
            return self.note.setText("Select a rater first.")
        try:
            change(self.desk.project, name)
        except ProjectError as exc:
            return forms.tell(self, "PrefDesk", str(exc))
        self.desk.ops.changed.emit(Change.RATERS)
