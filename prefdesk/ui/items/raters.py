"""The raters' progress for the lead: labels today and in all, items left to each under the overlap rule,
median time per label and last activity (`quality.browse.raters_overview`, off the GUI thread)."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from prefdesk.domain import roles
from prefdesk.quality import browse
from prefdesk.store.project import Project
from prefdesk.ui.worker import describe, run_in_background

HEADERS = ("Rater", "Role", "Level", "Today", "In all", "Left to them", "Median s / label", "Last activity (UTC)")


def overview(path) -> list[browse.RaterRow]:
    with Project.open(path) as project:
        return browse.raters_overview(project)


class RatersView(QWidget):
    def __init__(self, desk) -> None:
        super().__init__()
        self.desk = desk
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setMinimumHeight(self.fontMetrics().lineSpacing() * 3)
        column = QVBoxLayout(self)
        column.addWidget(self.table, 1)
        column.addWidget(self.note)
        self.rows: list[browse.RaterRow] = []
        self._job = None

    def refresh(self) -> None:
        if not roles.sees_others_labels(self.desk.rater.role):
            self.note.setText("The raters' progress is for reviewers and experts.")
            return
        self.note.setText("Counting…")
        self._job = run_in_background(lambda: overview(self.desk.project.path), self._show,
                                      lambda exc: self.note.setText(f"Could not count: {describe(exc)}"))

    def _show(self, rows: list[browse.RaterRow]) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            median = "" if row.median_s is None else f"{row.median_s:.1f}"
            cells = (row.name, row.role, row.level or "", str(row.today), str(row.total), str(row.left), median,
                     (row.last or "")[:19].replace("T", " "))
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        overlap = self.desk.project.settings["overlap"]
        self.note.setText(f"Today and In all count verdicts (an edit is not a new label). Left to them: items the "
                          f"queue can still give them (short of the overlap of {overlap}, or gold, not yet labelled by them).")
