"""Charts for training runs, on pyqtgraph: it draws thousands of points per curve without slowing the GUI
(QtCharts re-lays out every series on append) and ships as pure Python on top of PySide6. Imported only
when a chart is first shown (~0.4 s with numpy), never at the desk's start.

Colours follow the palette, so the charts read in the light and the dark theme.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

# distinguishable in light and dark (Okabe-Ito)
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9")


def _style(plot: pg.PlotWidget, title: str, x_label: str) -> None:
    palette = QApplication.palette()
    text = palette.color(QPalette.WindowText)
    plot.setBackground(palette.color(QPalette.Base))
    plot.setTitle(title, color=text.name(), size="10pt")
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setPen(pg.mkPen(text))
        axis.setTextPen(pg.mkPen(text))
    plot.setLabel("bottom", x_label)
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setMinimumSize(110, 120)


class LiveChart(pg.PlotWidget):
    """Curves that grow as a job's events arrive: `add(x, {name: value})`."""

    def __init__(self, title: str, names: tuple[str, ...], x_label: str = "step") -> None:
        super().__init__()
        _style(self, title, x_label)
        self.legend = self.addLegend(offset=(-10, 10), labelTextColor=QApplication.palette().color(QPalette.WindowText))
        self.names = names
        self.data: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in names}
        self.curves = {n: self.plot([], [], pen=pg.mkPen(COLOURS[i % len(COLOURS)], width=2))
                       for i, n in enumerate(names)}  # named in the legend once they have a point

    def add(self, x: float, values: dict) -> None:
        for name, (xs, ys) in self.data.items():
            value = values.get(name)
            if isinstance(value, (int, float)):
                if not xs:
                    self.legend.addItem(self.curves[name], name)
                xs.append(x)
                ys.append(float(value))
                self.curves[name].setData(xs, ys)

    def clear_data(self) -> None:
        for name, (xs, ys) in self.data.items():
            xs.clear()
            ys.clear()
            self.curves[name].setData([], [])
        self.legend.clear()

    def points(self, name: str) -> int:
        return len(self.data[name][0])


class HistogramChart(pg.PlotWidget):
    """The reward histogram of a run's held-out pairs: chosen against rejected."""

    def __init__(self, title: str = "Reward of held-out answers") -> None:
        super().__init__()
        _style(self, title, "reward")
        self.legend = self.addLegend(offset=(-10, 10), labelTextColor=QApplication.palette().color(QPalette.WindowText))
        self.bars: list[pg.PlotDataItem] = []

    def show_histogram(self, histogram: dict | None) -> None:
        for item in self.bars:
            self.removeItem(item)
        self.legend.clear()
        self.bars = []
        if not histogram:
            return
        edges = histogram["edges"]
        for i, name in enumerate(("chosen", "rejected")):
            colour = QColor(COLOURS[i])
            fill = QColor(colour)
            fill.setAlpha(90)
            self.bars.append(self.plot(edges, histogram[name], stepMode="center", fillLevel=0, brush=fill,
                                       pen=pg.mkPen(colour, width=2), name=name))


class BarChart(pg.PlotWidget):
    """Named values side by side (per-dimension accuracy of runs compared)."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title
        _style(self, title, "")
        self.legend = self.addLegend(offset=(-10, 10), labelTextColor=QApplication.palette().color(QPalette.WindowText))
        self.items: list = []

    def show_groups(self, categories: list[str], series: dict[str, list[float | None]]) -> None:
        for item in self.items:
            self.removeItem(item)
        self.legend.clear()
        self.items = []
        width = 0.8 / max(1, len(series))
        for i, (name, values) in enumerate(series.items()):
            xs = [c + i * width - 0.4 + width / 2 for c in range(len(categories))]
            bars = pg.BarGraphItem(x=xs, height=[v or 0 for v in values], width=width * 0.9,
                                   brush=COLOURS[i % len(COLOURS)], name=name)
            self.addItem(bars)  # named: the legend takes it
            self.items.append(bars)
        self.getAxis("bottom").setTicks([list(enumerate(categories))])
        self.setTitle(self.title_text if categories else f"{self.title_text}: no dimension verdicts in the data",
                      color=QApplication.palette().color(QPalette.WindowText).name(), size="10pt")
        self.setYRange(0, 1)


LINE_STYLES = ((Qt.SolidLine, "━━"), (Qt.DashLine, "╍╍"), (Qt.DotLine, "┈┈"))  # more series than colours


def series_style(i: int) -> tuple[str, Qt.PenStyle, str]:
    """The colour, pen style and legend glyph of the i-th series of a LineChart."""
    style, glyph = LINE_STYLES[i // len(COLOURS) % len(LINE_STYLES)]
    return COLOURS[i % len(COLOURS)], style, glyph


def legend_html(names: list[str]) -> str:
    """A legend for LineCharts as rich text, to sit above them: inside a plot, a team's names hide the lines."""
    from html import escape

    parts = []
    for i, name in enumerate(names):
        colour, _, glyph = series_style(i)
        parts.append(f'<span style="color:{colour}">{glyph}</span>&nbsp;{escape(name)}')
    return " &nbsp; ".join(parts)


class LineChart(pg.PlotWidget):
    """Named series over named points (a rater's agreement by week), a gap where a value is missing; the
    legend is `legend_html` of the same names, outside the chart."""

    def __init__(self, title: str, x_label: str = "") -> None:
        super().__init__()
        self.title_text = title
        _style(self, title, x_label)
        self.lines: list = []

    def show_series(self, categories: list[str], series: dict[str, list[float | None]],
                    intervals: dict[str, list[tuple[float | None, float | None]]] | None = None) -> None:
        """`intervals`: each value's (low, high), drawn as an error bar (a rate's 95% interval)."""
        for item in self.lines:
            self.removeItem(item)
        self.lines = []
        for i, (name, values) in enumerate(series.items()):
            if all(v is None for v in values):
                continue  # nothing to draw (its colour stays its own: the legend counts it)
            ys = [float("nan") if v is None else v for v in values]
            colour, style, _ = series_style(i)
            bars = [(k, lo, hi) for k, (lo, hi) in enumerate((intervals or {}).get(name, [])) if lo is not None]
            if bars:
                bar = pg.ErrorBarItem(x=np.array([k for k, _, _ in bars], dtype=float), y=np.array([ys[k] for k, _, _ in bars]),
                                      top=np.array([hi - ys[k] for k, _, hi in bars]),
                                      bottom=np.array([ys[k] - lo for k, lo, _ in bars]), beam=0.08,
                                      pen=pg.mkPen(colour, width=1))
                self.addItem(bar)
                self.lines.append(bar)
            self.lines.append(self.plot(list(range(len(ys))), ys, pen=pg.mkPen(colour, width=2, style=style),
                                        connect="finite", symbol="o", symbolSize=5, symbolBrush=colour, symbolPen=None))
        step = max(1, -(-len(categories) // 6))  # at most 6 tick labels: they stay readable at scale 2
        self.getAxis("bottom").setTicks([[(k, categories[k]) for k in range(0, len(categories), step)]])
        self.setXRange(-0.5, max(0.5, len(categories) - 0.5), padding=0)
        self.setYRange(-0.06, 1.08, padding=0)  # 0 and 1 keep their tick labels
        self.getAxis("left").setTicks([[(v / 5, f"{v / 5:.1f}") for v in range(6)]])


def no_bias_line(plot: pg.PlotWidget, y: float = 0.5) -> None:
    """A dashed line at `y` (0.5: no lean to either side)."""
    plot.addItem(pg.InfiniteLine(pos=y, angle=0, pen=pg.mkPen(QApplication.palette().color(QPalette.WindowText),
                                                              width=1, style=Qt.DashLine)))
