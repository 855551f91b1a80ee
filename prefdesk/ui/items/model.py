"""A table model over a list of item rowids: rows are read a page at a time, as the view asks for them.

The list itself (a million ints) comes from `quality.browse.item_rowids`, built off the GUI thread; the
view paints only what is on screen, so a page is read when it first comes into view and kept in a small
cache (scrolling back is free, scrolling on reads the next page: ~1 ms).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from prefdesk.quality import browse
from prefdesk.store.project import Project

PAGE = 128
CACHED_PAGES = 64
# (header, the ItemRow field, the sort key in `browse.SORTS` or None where a column is computed per page)
COLUMNS = (("Kind", "kind", "kind"), ("Prompt", "prompt", None), ("Scenario", "scenario", "scenario"),
           ("Risk", "risk_level", "risk_level"), ("Bucket", "bucket", "bucket"), ("Gold", "gold", "gold"),
           ("Flagged", "flagged", None), ("Labels", "labels", None), ("Raters", "raters", "raters"),
           ("Agreement", "agreement", None), ("Dispute", "status", None), ("Score gap (A−B)", "score_gap", None))


def cell_text(row: browse.ItemRow, field: str) -> str:
    value = getattr(row, field)
    if field == "gold":
        return "gold" if value else ""
    if field == "flagged":
        return f"⚑ {value}" if value else ""
    if field == "raters":
        return ", ".join(value)
    if field == "agreement":
        return "" if value is None else f"{value:.0%}"
    if field == "score_gap":
        return "" if value is None else f"{value:+.2f}"
    return "" if value is None else str(value)


class ItemsModel(QAbstractTableModel):
    def __init__(self, project: Project) -> None:
        super().__init__()
        self.project = project
        self.rowids: list[int] = []
        self.total = 0  # rows: len(rowids) once the whole list is known
        self.scores_run: str | None = None
        self.show_raters = True
        self._pages: OrderedDict[int, list[browse.ItemRow]] = OrderedDict()
        self.sort_requested = None  # set by the panel: (sort key, descending) -> None

    def set_rowids(self, rowids: list[int], scores_run: str | None = None, total: int | None = None) -> None:
        """Show these rows; `total` (more than given) when only the head of the list is known yet."""
        self.beginResetModel()
        self.rowids, self.scores_run = rowids, scores_run
        self.total = len(rowids) if total is None else total
        self._pages.clear()
        self.endResetModel()

    def complete(self, rowids: list[int], scores_run: str | None) -> bool:
        """The whole list after its head: the rows on screen stay where they are. False if it is another list."""
        if self.total != len(rowids) or rowids[:len(self.rowids)] != self.rowids:
            return False
        self.rowids, self.scores_run = rowids, scores_run
        self._pages.clear()
        if rowids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(rowids) - 1, len(COLUMNS) - 1))
        return True

    def reread(self) -> None:
        """The same rows, read again (labels or metadata changed under them)."""
        self._pages.clear()
        if self.rowids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rowids) - 1, len(COLUMNS) - 1))

    def row(self, index: int) -> browse.ItemRow | None:
        if index >= len(self.rowids):
            return None  # past the head shown first: the whole list is on its way
        number = index // PAGE
        page = self._pages.get(number)
        if page is None:
            page = browse.page(self.project, self.rowids[number * PAGE:(number + 1) * PAGE], self.scores_run)
            self._pages[number] = page
            while len(self._pages) > CACHED_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(number)
        offset = index - number * PAGE
        return page[offset] if offset < len(page) else None

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 (Qt override)
        return 0 if parent.isValid() else self.total

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 (Qt override)
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section][0]
        if orientation == Qt.Horizontal and role == Qt.ToolTipRole and COLUMNS[section][2] is None:
            return "Computed for the rows on screen: filter on it, sorting by it is not offered on a whole project"
        return None

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid() or role not in (Qt.DisplayRole, Qt.ToolTipRole, Qt.UserRole):
            return None
        row = self.row(index.row())
        if row is None:
            return None
        if role == Qt.UserRole:
            return row
        field = COLUMNS[index.column()][1]
        if field == "raters" and not self.show_raters:
            return f"{row.n_raters}"
        text = cell_text(row, field)
        if role == Qt.ToolTipRole:
            return text if field in ("prompt", "raters", "scenario", "bucket") else None
        return text

    def sort(self, column: int, order: Qt.SortOrder = Qt.AscendingOrder) -> None:
        key = COLUMNS[column][2] if column >= 0 else "added"
        if self.sort_requested is not None:
            self.sort_requested(key, order == Qt.DescendingOrder)

    def item_ids(self, rows: list[int]) -> list[str]:
        """The ids of the items at these row numbers (read by rowid: no page is loaded)."""
        return browse.ids_of(self.project, [self.rowids[r] for r in rows])
