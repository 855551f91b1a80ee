"""The Versions panel: frozen dataset versions (`store.versions`) listed, created with the CLI's options,
two compared, one exported or trained on; and the Pareto view of the multi-head reward runs trained on one
version: per-dimension accuracy, the runs no other run beats on every dimension marked.

Creating, comparing and exporting read every label of the version: they run off the GUI thread on a
connection of their own.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox, QPlainTextEdit, QPushButton,
                               QSplitter, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from prefdesk.formats import version_verdicts
from prefdesk.store import versions
from prefdesk.domain.key_values import words
from prefdesk.store.project import Project, ProjectError
from prefdesk.ui import forms
from prefdesk.ui.charts import BarChart, LineChart, legend_html
from prefdesk.ui.forms import browse_row, dialog_buttons
from prefdesk.ui.operations import Change
from prefdesk.ui.worker import describe
from training.protocol import RunStatus

COLUMNS = ("Version", "Created", "Labels", "Items", "Aggregation", "From", "Filters", "Layer weights", "Quotas")


class NewVersionDialog(QDialog):
    """`prefdesk version create`'s options."""

    def __init__(self, parent: QWidget, names: list[str]) -> None:
        super().__init__(parent)
        from prefdesk.domain.policies import POLICY_NAMES

        self.setWindowTitle("New dataset version")
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. 2026-11-release")
        self.parent_version = QComboBox()
        self.parent_version.addItems(["(none)", *reversed(names)])
        self.aggregate = QComboBox()
        self.aggregate.addItems(POLICY_NAMES)
        self.where = QLineEdit()
        self.where.setPlaceholderText("scenario=medical|legal risk_level=high bucket=…  (empty: every item)")
        self.layers = {}
        form = QFormLayout(self)
        form.addRow("&Name", self.name)
        form.addRow("&From version", self.parent_version)
        form.addRow("&Aggregation", self.aggregate)
        form.addRow("&Where", self.where)
        for layer in versions.LAYERS:
            box = QDoubleSpinBox()
            box.setRange(0, 100)
            box.setSingleStep(0.1)
            box.setValue(1.0)
            box.setToolTip("0 leaves the layer out")
            self.layers[layer] = box
            form.addRow(f"Weight of the {layer} layer", box)
        self.quotas = QLineEdit()
        self.quotas.setPlaceholderText("BUCKET=N …  at most N items of a bucket")
        form.addRow("&Quotas", self.quotas)
        form.addRow(dialog_buttons(self, "ok"))

    def options(self) -> dict:
        """The choices as `versions.create` takes them; ProjectError names a bad one."""
        parent = self.parent_version.currentText()
        return {"name": self.name.text().strip(), "parent": None if parent == "(none)" else parent,
                "aggregate": self.aggregate.currentText(), "filters": versions.parse_filters(
                    words(self.where.text(), "Where", ProjectError)),
                "layers": {layer: box.value() for layer, box in self.layers.items()},
                "quotas": versions.parse_quotas(words(self.quotas.text(), "Quotas", ProjectError))}


class VersionsPanel(QWidget):
    def __init__(self, desk) -> None:
        super().__init__(desk, Qt.Window)
        self.desk = desk
        self.setWindowTitle(f"Dataset versions — {desk.project.path.name}")
        self.listed: list[dict] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._selected)
        self.new_button = QPushButton("&New version…")
        self.diff_button = QPushButton("&Compare the two selected")
        self.export_button = QPushButton("&Export…")
        self.train_button = QPushButton("&Train on it…")
        for button, slot in ((self.new_button, self.new_version), (self.diff_button, self.compare),
                             (self.export_button, self.export), (self.train_button, self.train)):
            button.clicked.connect(slot)
        buttons = QHBoxLayout()
        for button in (self.new_button, self.diff_button, self.export_button, self.train_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.diff_text = QPlainTextEdit()
        self.diff_text.setReadOnly(True)
        self.shift = BarChart("Per-dimension win-rate change (B − A)")
        diff = QSplitter(Qt.Vertical)
        diff.addWidget(self.diff_text)
        diff.addWidget(self.shift)
        self.pareto_version = QComboBox()
        self.pareto_version.currentIndexChanged.connect(self.show_pareto)
        self.pareto_legend = QLabel()
        self.pareto_legend.setTextFormat(Qt.RichText)
        self.pareto_legend.setWordWrap(True)
        self.pareto_chart = LineChart("Per-dimension accuracy of each reward run (solid: on the frontier)", "dimension")
        self.pareto_table = QTableWidget(0, 0)
        self.pareto_table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.pareto_table.verticalHeader().setVisible(False)
        pareto = QWidget()
        column = QVBoxLayout(pareto)
        row = QHBoxLayout()
        row.addWidget(QLabel("Runs trained on"))
        row.addWidget(self.pareto_version, 1)
        column.addLayout(row)
        column.addWidget(self.pareto_legend)
        column.addWidget(self.pareto_chart, 3)
        column.addWidget(self.pareto_table, 2)
        self.tabs = QTabWidget()
        self.tabs.addTab(diff, "&Diff")
        self.tabs.addTab(pareto, "&Pareto")
        self.status = QLabel()
        self.status.setWordWrap(True)
        split = QSplitter(Qt.Vertical)
        top = QWidget()
        top_column = QVBoxLayout(top)
        top_column.setContentsMargins(0, 0, 0, 0)
        top_column.addWidget(self.table)
        top_column.addLayout(buttons)
        split.addWidget(top)
        split.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        area = (self.screen() or desk.screen()).availableGeometry()
        self.resize(min(1200, int(area.width() * 0.92)), min(780, int(area.height() * 0.92)))
        self.select_next: str | None = None
        self.refresh()
        desk.ops.changed.connect(self._changed)

    # -- the list -------------------------------------------------------------------------------------
    def refresh(self, select: str | None = None) -> None:
        self.listed = versions.listing(self.desk.project)
        self.table.setRowCount(len(self.listed))
        for row, v in enumerate(self.listed):
            cells = (v["name"], v["created_at"][:19].replace("T", " "), str(v["labels"]), str(v["items"]), v["aggregate"],
                     v["parent"] or "", ", ".join(f"{k}={'|'.join(x)}" for k, x in v["filters"].items()),
                     ", ".join(f"{k} {w:g}" for k, w in v["layers"].items() if w != 1) or "all 1",
                     ", ".join(f"{k}={n}" for k, n in v["quotas"].items()))
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))
            if v["name"] == select:
                self.table.selectRow(row)
        self.pareto_version.blockSignals(True)
        current = self.pareto_version.currentText()
        self.pareto_version.clear()
        self.pareto_version.addItems([v["name"] for v in reversed(self.listed)])
        if current:
            self.pareto_version.setCurrentText(current)
        self.pareto_version.blockSignals(False)
        self._selected()
        self.show_pareto()

    def selected(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self.listed[r]["name"] for r in rows]

    def _selected(self) -> None:
        chosen = self.selected()
        self.diff_button.setEnabled(len(chosen) == 2)
        self.export_button.setEnabled(len(chosen) == 1)
        self.train_button.setEnabled(len(chosen) == 1)
        self.status.setText("" if self.listed else "No versions yet: New version freezes the labels as they are now.")

    # -- actions --------------------------------------------------------------------------------------
    def new_version(self) -> None:
        dialog = NewVersionDialog(self, [v["name"] for v in self.listed])
        if not dialog.exec():
            return
        try:
            options = dialog.options()
        except Exception as exc:  # noqa: BLE001 (a bad option, named)
            forms.tell(self, "New version", describe(exc))
            return
        path = self.desk.project.path
        self.status.setText(f"Freezing {options['name']}…")

        def work():
            from prefdesk.quality.reliability import frozen_decisions

            with Project.open(path) as project:
                return versions.create(project, **options, decide=lambda v: frozen_decisions(project, v)).manifest

        self.desk.ops.run(work, Change.VERSIONS, lambda m: self._created(m),
                          lambda exc: (self.status.setText(""), forms.tell(self, "New version", describe(exc))))

    def _created(self, manifest: dict) -> None:
        self.status.setText(f"Version {manifest['name']}: {manifest['labels']} labels on {manifest['items']} items, "
                            f"frozen.")
        self.select_next = manifest["name"]  # selected when the list is refreshed for Change.VERSIONS, next

    def _changed(self, change: Change) -> None:
        if change & (Change.VERSIONS | Change.PROJECT):
            self.refresh(select=self.select_next)
            self.select_next = None

    def compare(self) -> None:
        chosen = self.selected()
        if len(chosen) != 2:
            return
        a, b = sorted(chosen, key=lambda n: [v["name"] for v in self.listed].index(n))  # older first
        path = self.desk.project.path

        def work():
            with Project.open(path) as project:
                return version_verdicts.diff(project, a, b)

        self.desk.ops.run(work, Change(0), self._show_diff, lambda exc: forms.tell(self, "Compare", describe(exc)))

    def _show_diff(self, d: dict) -> None:
        self.diff_text.setPlainText(version_verdicts.diff_text(d))
        shift = dict(d["dimension_win_rate_shift"])
        moved = d["verdicts"]
        exported = max(1, moved["items_exported_a"])  # the exported answers' moves, as a share of a's items
        shift["exported answer"] = {"flipped": moved["flipped"] / exported, "changed": moved["changed"] / exported}
        dims = list(shift)
        verdicts = sorted({v for s in shift.values() for v in s})
        self.shift.show_groups(dims, {f"{v} wins" if v not in ("flipped", "changed") else v:
                                      [shift[dim].get(v, 0.0) for dim in dims] for v in verdicts})
        low = min([0.0, *(x for s in shift.values() for x in s.values())])
        high = max([0.0, *(x for s in shift.values() for x in s.values())])
        self.shift.setYRange(min(-0.05, low * 1.2), max(0.05, high * 1.2))
        self.tabs.setCurrentIndex(0)

    def export(self) -> None:
        from prefdesk.formats.export import export_dataset
        from prefdesk.formats.export_rows import EXPORT_FORMATS
        from prefdesk.quality.export_policy import export_policy

        (name,) = self.selected()
        dialog = QDialog(self)
        dialog.setWindowTitle(f"Export version {name}")
        fmt = QComboBox()
        fmt.addItems(EXPORT_FORMATS)
        folder = QLineEdit(str(self.desk.project.path.parent / f"{self.desk.project.path.stem}-{name}"))
        form = QFormLayout(dialog)
        form.addRow("Format", fmt)
        form.addRow("Folder", browse_row(folder, lambda current: QFileDialog.getExistingDirectory(dialog, "Folder", current)))
        split = forms.SplitOptions(form)
        form.addRow(dialog_buttons(dialog))
        self.export_dialog = dialog
        if not dialog.exec() or not folder.text().strip():
            return
        path, chosen, out, options = self.desk.project.path, fmt.currentText(), folder.text().strip(), split.chosen()

        def work():
            with Project.open(path) as project:
                version = versions.get(project, name)
                return export_dataset(project, chosen, out, export_policy(project, version), version=version, **options)

        self.desk.ops.run(work, Change(0), lambda r: forms.tell(self, "Exported", r.summary(), QMessageBox.Information),
                          lambda exc: forms.tell(self, "Export failed", describe(exc)))

    def train(self) -> None:
        (name,) = self.selected()
        self.desk.train_on_version(name)

    # -- Pareto ---------------------------------------------------------------------------------------
    def show_pareto(self) -> None:
        from prefdesk.jobs.report import pareto
        from prefdesk.store import runs as store_runs

        name = self.pareto_version.currentText()
        runs = [r for r in store_runs.runs(self.desk.project)
                if r.status == RunStatus.FINISHED and (r.spec or {}).get("version") == name and r.kind == "reward-dims"]
        points = pareto(runs)
        dims = sorted({d for p in points for d in p["accuracy"]})
        series = {}
        for p in points:
            series[f"{p['run'][-8:]}{' ★' if p['frontier'] else ''}"] = [p["accuracy"].get(d) for d in dims]
        self.pareto_chart.show_series(dims, series)
        for line, p in zip(self.pareto_chart.lines, points):
            if not p["frontier"]:
                pen = line.opts["pen"]
                pen.setStyle(Qt.DotLine)
                line.setPen(pen)
        self.pareto_legend.setText(legend_html(list(series)) if series else
                                   f"No finished multi-head reward runs on version {html.escape(name or '')} yet: Train "
                                   "on it (job \"Reward model, a head per dimension\") to compare runs per dimension."
                                   if name else "")
        self.pareto_table.setColumnCount(len(dims) + 3)
        self.pareto_table.setHorizontalHeaderLabels(["Run", *dims, "On the frontier", "Beaten by"])
        self.pareto_table.setRowCount(len(points))
        for row, p in enumerate(points):
            cells = (p["run"][-8:], *(f"{p['accuracy'][d]:.3f}" for d in dims), "yes" if p["frontier"] else "no",
                     ", ".join(r[-8:] for r in p["dominated_by"]))
            for col, text in enumerate(cells):
                self.pareto_table.setItem(row, col, QTableWidgetItem(text))
        self.points = points
