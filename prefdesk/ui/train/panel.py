"""The Train panel: start a reward / DPO / PRM job on the project's labels, watch it live, look back at
past runs, compare two, and bring a reward model's scores into the desk.

A window of its own beside the desk (keys typed here never label an item), so labelling goes on while a
job runs. The job is a detached `QProcess` writing to its run folder (`jobs.watch`); a timer reads what
it wrote. So the desk never waits on it, a job outlives a desk closed with "leave it running", and a
killed runtime is seen as failed. The desk never imports torch; charts (pyqtgraph) load with the panel.

The panel is parts on one state: `setup` (a new run), `live` (the run being watched), `history`, and `bundle`
(a run written for a cluster, and brought back).
"""

from __future__ import annotations

import tempfile

from PySide6.QtCore import QProcess, Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QScrollArea, QSplitter, QTabWidget, QWidget

from prefdesk.jobs import plan
from prefdesk.jobs.watch import RunWatch
from prefdesk.ui.operations import Change
from prefdesk.ui.train.bundle import BundlePart
from prefdesk.ui.train.history import HistoryPart
from prefdesk.ui.train.live import LivePart
from prefdesk.ui.train.setup import SetupPart

POLL_MS = 500
RECOUNT_MS = 1500  # after the last label of a burst


class TrainPanel(SetupPart, LivePart, HistoryPart, BundlePart, QWidget):
    def __init__(self, desk) -> None:
        super().__init__(desk, Qt.Window)
        self.desk = desk
        self.setWindowTitle(f"Train — {desk.project.path.name}")
        self.watch: RunWatch | None = None
        self.scoring: QProcess | None = None
        self.score_tmp: tempfile.TemporaryDirectory | None = None
        self.counting = None
        self.rows_for_job: int | None = None  # what the job would see under the chosen policy (None: counting)
        self.device_kind: str | None = None  # the watched run's device (cuda: GPU memory is read)
        self.log_size = -1
        self.score_rate: float | None = None
        self.devices = plan.devices()
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.recount = QTimer(self)  # labels arriving: the rows the job would see, counted again after a burst
        self.recount.setSingleShot(True)
        self.recount.setInterval(RECOUNT_MS)
        self.recount.timeout.connect(self._count)

        tabs = QTabWidget()
        tabs.addTab(self._live_tab(), "&Live")
        tabs.addTab(self._history_tab(), "&History")
        self.tabs = tabs
        setup = QScrollArea()
        box = self._setup_box()
        setup.setWidget(box)
        setup.setWidgetResizable(True)
        setup.setFrameShape(QScrollArea.NoFrame)
        setup.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        setup.setMinimumWidth(box.minimumWidth() + setup.verticalScrollBar().sizeHint().width())
        split = QSplitter(Qt.Horizontal)
        split.addWidget(setup)
        split.addWidget(tabs)
        split.setStretchFactor(1, 1)
        row = QHBoxLayout(self)
        row.addWidget(split)
        area = (self.screen() or desk.screen()).availableGeometry()  # fits a small screen at scale 2 too
        self.resize(min(1200, int(area.width() * 0.92)), min(760, int(area.height() * 0.92)))
        self.refresh_history()
        self._kind_changed()
        for run_id in self._running():
            self.attach(run_id)  # a run left going by an earlier desk: its curves so far, then live
            break
        desk.ops.changed.connect(self._changed)

    def _changed(self, change: Change) -> None:
        """The one way the panel hears of the project: versions listed again, rows counted again."""
        if change & (Change.VERSIONS | Change.PROJECT):
            self.fill_datasets()
        if change & (Change.LABELS | Change.ITEMS | Change.SETTINGS):
            self.recount.start()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if self.running():  # shown again (Ctrl+T) after being closed during a run: follow it again
            self.poll()
            self.timer.start()
        super().showEvent(event)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.timer.stop()  # a run goes on; the desk settles it when it next looks
        self.cancel_scoring()
        super().closeEvent(event)
