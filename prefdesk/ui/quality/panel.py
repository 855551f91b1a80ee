"""The Quality panel: who agrees with whom, whose labels lean left or long, who drifts, what waits for
arbitration. The figures are `prefdesk quality`'s (`quality.report`), computed off the GUI thread on a
connection of their own, again a moment after labels change.

Leads (reviewers and experts) see every rater; an annotator sees only their own row, drift and
calibration: another rater's accuracy is not theirs to see, and project-wide agreement would tell them
how their labels compare before they are done.
"""

from __future__ import annotations

import html
import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from prefdesk.domain import roles
from prefdesk.ui.charts import COLOURS, BarChart, LineChart, legend_html, no_bias_line
from prefdesk.ui.operations import Change
from prefdesk.ui.worker import describe, run_in_background

REFRESH_AFTER_MS = 1500  # labels come one a second at most: one report after a burst, not one a label
FLAG = "#d55e00"
RATER_COLUMNS = ("Rater", "Role", "Labels", "Gold\naccuracy", "Estimated\naccuracy", "Agrees with\nthe others",
                 "Left\nwins", "Position\nbias", "Longer\nchosen", "Length\nbias", "Flip\nrate", "Median\nseconds",
                 "Too\nfast")


def _short_date(iso_day: str) -> str:
    """2026-10-05 -> 5 Oct (a week's Monday, short enough for an axis at scale 2)."""
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    year, month, day = iso_day.split("-")
    return f"{int(day)} {months[int(month) - 1]}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def compute(path) -> dict:
    """The report on a connection of its own (it runs in a worker thread)."""
    from prefdesk.quality.report import quality_report
    from prefdesk.store.project import Project

    with Project.open(path) as project:
        return quality_report(project)


class QualityPanel(QWidget):
    def __init__(self, desk) -> None:
        super().__init__(desk, Qt.Window)
        self.desk = desk
        self.lead = desk.rater.role in roles.LEADS
        self.setWindowTitle(f"Quality — {desk.project.path.name}" + ("" if self.lead else f" — {desk.rater.name}"))
        self.report: dict | None = None
        self.job = None
        self.started = 0.0
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(REFRESH_AFTER_MS)
        self.timer.timeout.connect(self.refresh)

        self.summary = QLabel("Computing…")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.RichText)
        self.arbitrate = QPushButton("Arbitrate…")
        self.arbitrate.clicked.connect(lambda: desk.run_named("arbitrate"))
        self.arbitrate.setVisible(self.lead)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.arbitrate)

        self.raters = self._table(RATER_COLUMNS)
        self.heat = self._table(())
        self.drift_by = QComboBox()
        self.drift_by.addItems(["by week", "by blocks of labels"])
        self.drift_by.currentIndexChanged.connect(self._show_drift)
        self.drift_agreement = LineChart("Agreement with the others", "")
        self.drift_gold = LineChart("Gold accuracy", "")
        self.bias = BarChart("Left wins and longer chosen (dashed: no lean)")
        no_bias_line(self.bias)
        self.dims = BarChart("Per-dimension win rates")
        self.dims_table = self._table(("Dimension", "Verdicts", "Items (2+ raters)", "Agreement", "Krippendorff α",
                                       "Matches the overall verdict"))
        self.sources = self._table(("Source", "Labels", "Agrees with others", "Gold accuracy", "Trust"))
        self.calibration = self._table(("Rater", "Confidence", "Labels", "Mean confidence", "Accuracy"))
        self.tabs = QTabWidget()
        self.tabs.addTab(self.raters, "&Raters")
        if self.lead:
            self.tabs.addTab(self.heat, "&Agreement")
        drift = QWidget()
        column = QVBoxLayout(drift)
        self.drift_legend = QLabel()
        self.drift_legend.setTextFormat(Qt.RichText)
        self.drift_legend.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.drift_by)
        row.addWidget(self.drift_legend, 1)
        column.addLayout(row)
        column.addWidget(self.drift_agreement, 1)  # stacked: a time line reads best wide
        column.addWidget(self.drift_gold, 1)
        self.tabs.addTab(drift, "&Drift")
        self.tabs.addTab(self.bias, "&Bias")
        if self.lead:
            dims = QWidget()
            column = QVBoxLayout(dims)
            column.addWidget(self.dims, 3)
            column.addWidget(self.dims_table, 2)
            self.tabs.addTab(dims, "Di&mensions")
            self.tabs.addTab(self.sources, "&Sources")
        self.tabs.addTab(self.calibration, "&Calibration")
        self.status = QLabel()
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)
        area = (self.screen() or desk.screen()).availableGeometry()
        self.resize(min(1200, int(area.width() * 0.92)), min(720, int(area.height() * 0.92)))
        desk.ops.changed.connect(self._changed)
        self.refresh()

    @staticmethod
    def _table(columns: tuple[str, ...]) -> QTableWidget:
        table = QTableWidget(0, len(columns))
        table.setHorizontalHeaderLabels(columns)
        table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        return table

    # -- computing ------------------------------------------------------------------------------------
    def _changed(self, change: Change) -> None:
        if change & (Change.LABELS | Change.ITEMS | Change.SETTINGS):
            self.timer.start()  # restarted by each change: one report after a burst

    def refresh(self) -> None:
        if self.job is not None:  # one at a time: the next starts when this one is in
            self.timer.start()
            return
        self.status.setText("Computing…")
        self.started = time.monotonic()
        self.job = run_in_background(lambda path=self.desk.project.path: compute(path), self._computed, self._failed)

    def _failed(self, exc: Exception) -> None:
        self.job = None
        self.status.setText(f"The report failed: {describe(exc)}")

    def _computed(self, report: dict) -> None:
        self.job = None
        if not self.lead:
            report = mine_only(report, self.desk.rater.name)
        self.report = report
        self._show_summary()
        self._show_raters()
        if self.lead:
            self._show_heat()
            self._show_dims()
            self._show_sources()
        self._show_drift()
        self._show_bias()
        self._show_calibration()
        self.status.setText(f"Updated {time.strftime('%H:%M:%S')} ({time.monotonic() - self.started:.1f} s); "
                            "it updates by itself as labels come in.")

    # -- showing --------------------------------------------------------------------------------------
    def _show_summary(self) -> None:
        r = self.report
        if not self.lead:
            self.summary.setText(f"<b>Your figures</b> ({html.escape(self.desk.rater.name)}). Leads see the whole team's.")
            return
        a, arb = r["agreement"], r["arbitration"]
        kappa = "–" if a["fleiss_kappa"] is None else f"{a['fleiss_kappa']:.2f}"
        alpha = "–" if a["krippendorff_alpha"] is None else f"{a['krippendorff_alpha']:.2f}"
        self.summary.setText(
            f"<b>{r['labels']}</b> labels on <b>{r['items_labelled']}</b> items · agreement {_pct(a['percent'])} · "
            f"Fleiss κ {kappa} · Krippendorff α {alpha} · flip rate {_pct(r['flip_rate'])} · "
            f"<b>{arb['waiting']}</b> waiting for arbitration ({arb['high_risk']} high-risk, "
            f"{arb['gold_misses']} gold misses), {arb['decided']} decided")
        scalar = r["scalar_agreement"]
        if scalar.get("ordinal_alpha") is not None:
            self.summary.setText(self.summary.text() + f" · scalar scores: ordinal α {scalar['ordinal_alpha']:.2f} "
                                 f"on {scalar['items']} items")
        steps = r["step_agreement"]
        if steps["units"]:
            alpha = "–" if steps["ordinal_alpha"] is None else f"{steps['ordinal_alpha']:.2f}"
            self.summary.setText(self.summary.text() + f" · steps and turns: ordinal α {alpha}, agreement "
                                 f"{_pct(steps['percent'])} on {steps['units']} turns of {steps['items']} items")
        self.arbitrate.setText(f"Arbitrate {arb['waiting']}… (Ctrl+Shift+A)")

    def _show_raters(self) -> None:
        rows = list(self.report["raters"].items())
        self.raters.setRowCount(len(rows))
        for i, (name, f) in enumerate(rows):
            median = "–" if f["median_ms"] is None else f"{f['median_ms'] / 1000:.1f}"
            cells = (name, f["role"], str(f["labels"]), _pct(f["gold_accuracy"]), _pct(f["estimated_accuracy"]),
                     _pct(f["agreement_with_consensus"]), _pct(f["left_rate"]),
                     "⚑ leans left" if f["position_bias"] else "no", _pct(f["longer_rate"]),
                     "⚑ leans long" if f["length_bias"] else "no", _pct(f["flip_rate"]), median, str(f["too_fast"]))
            for col, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if text.startswith("⚑"):
                    cell.setForeground(QBrush(QColor(FLAG)))
                    cell.setToolTip(f"p = {f['left_p' if 'left' in text else 'length_p']:.2g} (corrected for the "
                                    "number of raters)")
                if col >= 2:
                    cell.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.raters.setItem(i, col, cell)

    def _show_heat(self) -> None:
        """Cohen's kappa of every pair of raters who share items, as a heat map (darker: more agreement)."""
        names = list(self.report["raters"])
        self.heat.setColumnCount(len(names))
        self.heat.setRowCount(len(names))
        self.heat.setHorizontalHeaderLabels(names)
        self.heat.setVerticalHeaderLabels(names)
        self.heat.verticalHeader().setVisible(True)
        base = self.palette().base().color()
        strong = QColor(COLOURS[0])
        pairs = self.report["agreement"]["cohen_kappa"]
        for i, a in enumerate(names):
            for j, b in enumerate(names):
                entry = pairs.get(f"{a}|{b}") or pairs.get(f"{b}|{a}")
                cell = QTableWidgetItem("" if i == j else "–" if entry is None or entry["kappa"] is None
                                        else f"{entry['kappa']:.2f} ({entry['items']})")
                cell.setTextAlignment(Qt.AlignCenter)
                if entry and entry["kappa"] is not None and i != j:
                    t = max(0.0, min(1.0, entry["kappa"]))
                    colour = QColor.fromRgbF(*(base.getRgbF()[c] * (1 - t) + strong.getRgbF()[c] * t for c in range(3)))
                    cell.setBackground(QBrush(colour))
                    if t > 0.55:
                        cell.setForeground(QBrush(QColor("white")))
                    cell.setToolTip(f"Cohen's κ of {a} and {b} on {entry['items']} shared items")
                self.heat.setItem(i, j, cell)

    def _show_drift(self) -> None:
        if self.report is None:
            return
        key = "by_week" if self.drift_by.currentIndex() == 0 else "by_labels"
        drift = self.report["drift"]
        points = sorted({p["week"] if key == "by_week" else p["first_label"] for d in drift.values() for p in d[key]
                         if p["agreement_with_consensus"] is not None or p["gold_accuracy"] is not None},
                        key=str if key == "by_week" else int)
        at = {p: k for k, p in enumerate(points)}
        names = [_short_date(p) if key == "by_week" else f"#{p}" for p in points]
        for chart, field in ((self.drift_agreement, "agreement_with_consensus"), (self.drift_gold, "gold_accuracy")):
            series = {}
            for rater, d in drift.items():
                values: list[float | None] = [None] * len(points)
                for p in d[key]:
                    point = p["week"] if key == "by_week" else p["first_label"]
                    if point in at:
                        values[at[point]] = p[field]
                series[rater] = values
            chart.show_series(names, series)
        self.drift_legend.setText(legend_html(list(drift)))
        label = "week from Monday" if key == "by_week" else "a rater's labels from"
        for chart in (self.drift_agreement, self.drift_gold):
            chart.setLabel("bottom", label)

    def _show_bias(self) -> None:
        raters = self.report["raters"]
        names = list(raters)
        shown = [f"{n} ⚑" if raters[n]["position_bias"] or raters[n]["length_bias"] else n for n in names]
        self.bias.show_groups(shown, {"left wins": [raters[n]["left_rate"] for n in names],
                                      "longer chosen": [raters[n]["longer_rate"] for n in names]})

    def _show_dims(self) -> None:
        dims = self.report["by_dimension"]
        names = list(dims)
        self.dims.show_groups(names, {f"{v} wins": [dims[d][f"{v}_rate"] for d in names] for v in ("A", "B", "tie")})
        agreement = self.report["agreement_by_dimension"]
        self.dims_table.setRowCount(len(names))
        for i, name in enumerate(names):
            a = agreement.get(name, {})
            alpha = a.get("krippendorff_alpha")
            for col, text in enumerate((name, str(dims[name]["n"]), str(a.get("items", 0)), _pct(a.get("percent")),
                                        "–" if alpha is None else f"{alpha:.2f}", _pct(dims[name]["matches_overall"]))):
                self.dims_table.setItem(i, col, QTableWidgetItem(text))

    def _show_sources(self) -> None:
        rows = list(self.report["by_source"].items())
        self.sources.setRowCount(len(rows))
        for i, (name, s) in enumerate(rows):
            for col, text in enumerate((name, str(s["labels"]), _pct(s["agreement_with_consensus"]),
                                        _pct(s["gold_accuracy"]), f"{s['trust']:g}")):
                self.sources.setItem(i, col, QTableWidgetItem(text))

    def _show_calibration(self) -> None:
        rows = [(rater, b) for rater, c in self.report["calibration"].items() for b in c["bins"]]
        self.calibration.setRowCount(len(rows))
        for i, (rater, b) in enumerate(rows):
            for col, text in enumerate((rater, b["bin"], str(b["labels"]), f"{b['mean_confidence']:.2f}",
                                        _pct(b["accuracy"]))):
                self.calibration.setItem(i, col, QTableWidgetItem(text))

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.timer.stop()
        super().closeEvent(event)


def mine_only(report: dict, name: str) -> dict:
    """What an annotator may see of the report: their own row, drift and calibration."""
    return {"raters": {n: r for n, r in report["raters"].items() if n == name},
            "drift": {n: d for n, d in report["drift"].items() if n == name},
            "calibration": {n: c for n, c in report["calibration"].items() if n == name}}
