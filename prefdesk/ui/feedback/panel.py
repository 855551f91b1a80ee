"""The Feedback panel: what production said (online signals), how its rates move, and what goes back to people.

A chart of one rate (thumbs-down, retry, handoff) per day or week, a line per model version, model, bucket,
scenario or tool, each point with its 95% interval; below it the points with the events and conversations behind
each (`feedback.trends`, read from the per-conversation counts: a million events come back in milliseconds).
Leads import a tool's export and send conversations with bad or conflicting feedback back to the prompt pool and to
people (`feedback.backflow`). Everything runs on a connection of its own, off the GUI thread; the panel listens to
the one change signal.
"""

from __future__ import annotations

import html
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QInputDialog,
                               QLabel, QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from prefdesk.domain import roles
from prefdesk.ui import forms
from prefdesk.ui.charts import LineChart, legend_html
from prefdesk.ui.operations import Change
from prefdesk.ui.worker import describe, run_in_background

RATES = {"thumbs-down rate": "thumbs_down", "retry rate": "retry", "handoff rate": "handoff"}
GROUPS = {"by model version": "model_version", "by model": "model", "by bucket": "bucket", "by scenario": "scenario",
          "by tool": "tool", "all together": None}
COLUMNS = ("Period", "Group", "Events", "Conversations", "Thumbs", "Rate", "95% interval", "Behind it")


def compute(path, period: str, by: str | None) -> dict:
    """The trends and the summary, on a connection of their own (a worker thread)."""
    from prefdesk.feedback import trends
    from prefdesk.store.project import Project

    with Project.open(path) as project:
        return {"points": trends.trends(project.conn, period, by), "summary": trends.summary(project.conn)}


class FeedbackPanel(QWidget):
    def __init__(self, desk) -> None:
        super().__init__(desk, Qt.Window)
        self.desk = desk
        self.lead = desk.rater.role in roles.LEADS
        self.setWindowTitle(f"Feedback — {desk.project.path.name}")
        self.result: dict | None = None
        self.job = None
        self.stale = False
        self.started = 0.0
        self.summary = QLabel("Reading…")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.RichText)
        self.period = self._combo(["per day", "per week"])
        self.group = self._combo(list(GROUPS))
        self.rate = QComboBox()
        self.rate.addItems(list(RATES))
        self.rate.currentIndexChanged.connect(self._show)
        self.import_button = QPushButton("Import feedback…")
        self.import_button.clicked.connect(lambda: self.import_feedback())
        self.backflow_button = QPushButton("Send back to people…")
        self.backflow_button.clicked.connect(self.send_back)
        for button in (self.import_button, self.backflow_button):
            button.setVisible(self.lead)
        controls = QHBoxLayout()
        for w in (self.period, self.group, self.rate):
            controls.addWidget(w)
        controls.addStretch(1)
        controls.addWidget(self.import_button)
        controls.addWidget(self.backflow_button)
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.RichText)
        self.legend.setWordWrap(True)
        self.chart = LineChart("thumbs-down rate", "")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.status = QLabel()
        self.outcome = QLabel()  # what the last import or backflow did (the status line is the reading's)
        self.outcome.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(controls)
        layout.addWidget(self.legend)
        split = QSplitter(Qt.Vertical)  # the lead drags the line between chart and table
        split.addWidget(self.chart)
        split.addWidget(self.table)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.chart.setMinimumHeight(160)
        self.table.setMinimumHeight(110)
        layout.addWidget(split, 1)
        layout.addWidget(self.outcome)
        layout.addWidget(self.status)
        area = (self.screen() or desk.screen()).availableGeometry()
        self.resize(min(1100, int(area.width() * 0.9)), min(760, int(area.height() * 0.9)))
        desk.ops.changed.connect(self._changed)
        self.refresh()

    def _combo(self, names: list[str]) -> QComboBox:
        box = QComboBox()
        box.addItems(names)
        box.currentIndexChanged.connect(self.refresh)
        return box

    # -- reading ------------------------------------------------------------------------------------------
    def _changed(self, change: Change) -> None:
        if change & (Change.FEEDBACK | Change.PROJECT):
            self.refresh()

    def refresh(self) -> None:
        if self.job is not None:  # one at a time: another once this one is in
            self.stale = True
            return
        self.started = time.monotonic()
        self.status.setText("Reading…")
        period = "day" if self.period.currentIndex() == 0 else "week"
        by = GROUPS[self.group.currentText()]
        self.job = run_in_background(lambda path=self.desk.project.path: compute(path, period, by), self._read,
                                     self._failed)

    def _failed(self, exc: Exception) -> None:
        self.job = None
        self.status.setText(f"Reading the feedback failed: {describe(exc)}")

    def _read(self, result: dict) -> None:
        self.job = None
        if self.stale:
            self.stale = False
            self.refresh()
            return
        self.result = result
        s = result["summary"]
        tools = ", ".join(sorted({row["tool"] for row in s["by_tool"]})) or "none yet"
        self.summary.setText(
            f"<b>{s['events']}</b> online events ({html.escape(tools)}) from {(s['first'] or '–')[:10]} to "
            f"{(s['last'] or '–')[:10]} · <b>{s['online_labels']}</b> weak online labels (source online-feedback: never "
            "votes, never gold, weighed by source trust). Online signals are selection-biased: trends, not truth.")
        self._show()
        self.status.setText(f"Read in {time.monotonic() - self.started:.2f} s at {time.strftime('%H:%M:%S')}.")

    # -- showing ------------------------------------------------------------------------------------------
    def _show(self) -> None:
        if self.result is None:
            return
        rate = RATES[self.rate.currentText()]
        points = self.result["points"]
        periods = sorted({p["period"] for p in points})
        groups = sorted({p["group"] for p in points})
        at = {(p["period"], p["group"]): p for p in points}
        series = {g: [at[(d, g)][rate]["rate"] if (d, g) in at else None for d in periods] for g in groups}
        intervals = {g: [(at[(d, g)][rate]["low"], at[(d, g)][rate]["high"]) if (d, g) in at else (None, None)
                         for d in periods] for g in groups}
        self.chart.setTitle(f"{self.rate.currentText()} {self.period.currentText()}, with 95% intervals")
        self.chart.show_series(periods, series, intervals)
        self.legend.setText(legend_html(groups))
        self.table.setRowCount(len(points))
        for row, p in enumerate(points):
            r = p[rate]
            cells = (p["period"], p["group"], str(p["events"]), str(p["conversations"]), str(p["thumbs"]),
                     "–" if r["rate"] is None else f"{r['rate']:.1%}",
                     "–" if r["low"] is None else f"{r['low']:.1%} – {r['high']:.1%}", f"{r['k']} of {r['n']}")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col >= 2:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(row, col, item)

    # -- what leads do ------------------------------------------------------------------------------------
    def import_feedback(self, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Import feedback", str(self.desk.project.path.parent),
                                                  "Feedback exports (*.json *.jsonl *.csv *.parquet)")
        if not path:
            return
        from prefdesk.feedback.importer import import_feedback
        from prefdesk.formats.errors import ImportRefused
        from prefdesk.store.project import Project

        def work():
            with Project.open(self.desk.project.path) as project:
                return import_feedback(project, path)
        self.outcome.setText(f"Importing {path}…")
        self.desk.ops.run(work, Change.FEEDBACK | Change.ITEMS | Change.LABELS,
                          lambda report: self.outcome.setText(report.summary()),
                          lambda exc: forms.tell(self, "Import refused" if isinstance(exc, ImportRefused)
                                                 else "Import failed", describe(exc)))

    def send_back(self) -> None:
        n, ok = QInputDialog.getInt(self, "Send back to people", "Conversations with negative or conflicting feedback "
                                    "to send (an even share of each bucket):", 50, 1, 1_000_000)
        if not ok:
            return
        from prefdesk.feedback.backflow import backflow
        from prefdesk.store.project import Project

        def work():
            with Project.open(self.desk.project.path) as project:
                return backflow(project, None, n, "bucket")
        self.desk.ops.run(work, Change.FEEDBACK | Change.ITEMS, lambda report: self.outcome.setText(report.summary()),
                          lambda exc: forms.tell(self, "Backflow failed", describe(exc)))
