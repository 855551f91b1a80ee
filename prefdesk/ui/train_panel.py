"""The Train panel: start a reward / DPO / PRM job on the project's labels, watch it live, look back at
past runs, compare two, and bring a reward model's scores into the desk.

A window of its own beside the desk (keys typed here never label an item), so labelling goes on while a
job runs. The job is a detached `QProcess` writing to its run folder (`jobs.watch`); a timer reads what
it wrote. So the desk never waits on it, a job outlives a desk closed with "leave it running", and a
killed runtime is seen as failed. The desk never imports torch; charts (pyqtgraph) load with the panel.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QIODevice, QProcess, QProcessEnvironment, Qt, QTimer
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPlainTextEdit, QProgressBar,
                               QPushButton, QScrollArea, QSpinBox, QSplitter, QTableWidget, QTableWidgetItem, QTabWidget,
                               QVBoxLayout, QWidget)

from prefdesk.jobs import KINDS, plan, report, train
from prefdesk.jobs.runtime import INSTALL_HINT, NoRuntime
from prefdesk.jobs.watch import EVENTS_FILE, LOG_FILE, RunWatch, log_tail, mark_launch, request_stop, run_folder
from prefdesk.quality.aggregate import POLICY_NAMES, policy_for, policy_for_version
from prefdesk.store import runs as store_runs
from prefdesk.ui.charts import BarChart, HistogramChart, LiveChart
from prefdesk.ui import forms
from prefdesk.ui.operations import Change
from prefdesk.ui.forms import browse_row
from prefdesk.ui.worker import describe, run_in_background

JOB_NAMES = {"reward": "Reward model (one head)", "reward-dims": "Reward model, a head per dimension",
             "dpo": "DPO (LoRA)", "prm": "Process reward model (PRM)"}
POLL_MS = 500
RECOUNT_MS = 1500  # after the last label of a burst
JOB_NICE = "10"  # the job yields the CPU to the desk: keys stay fast while it trains
LOSS = ("loss",)
ACCURACY = ("accuracy", "rewards/accuracies", "dim_accuracy")
MARGIN = ("margin", "rewards/chosen", "rewards/rejected", "rewards/margins")


def default_threads() -> int:
    """CPU threads a job gets by default: every core but one, which stays with the desk so keys stay fast."""
    return max(1, (os.cpu_count() or 2) - 1)


def _job_process(parent, command: list[str], events: Path | None = None, log: Path | None = None,
                 threads: int | None = None) -> QProcess:
    proc = QProcess(parent)
    proc.setProgram(command[0])
    proc.setArguments(command[1:])
    env = QProcessEnvironment.systemEnvironment()
    threads = str(threads or default_threads())
    for key, value in {**train.job_env(), "PREFDESK_JOB_NICE": JOB_NICE, "OMP_NUM_THREADS": threads}.items():
        env.insert(key, value)
    proc.setProcessEnvironment(env)
    if events is not None:
        proc.setStandardOutputFile(str(events), QIODevice.Append)
        proc.setStandardErrorFile(str(log), QIODevice.Append)
    return proc


class TrainPanel(QWidget):
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

    # -- a new run ------------------------------------------------------------------------------------
    def _setup_box(self) -> QGroupBox:
        box = QGroupBox("New run")
        form = QFormLayout(box)
        self.kind = QComboBox()
        for kind in KINDS:
            self.kind.addItem(JOB_NAMES[kind], kind)
        self.policy = QComboBox()  # the labels now under a policy, or a frozen dataset version
        self.fill_datasets()
        self.counts = QLabel("counting…")
        self.counts.setWordWrap(True)
        self.base = QLineEdit()
        self.base.setPlaceholderText("built-in MiniLM (offline)")
        self.device = QComboBox()
        for device in self.devices:
            self.device.addItem(device.label(), device)
        self.epochs = QDoubleSpinBox()
        self.epochs.setRange(0.1, 100)
        self.epochs.setSingleStep(0.5)
        self.batch = QSpinBox()
        self.batch.setRange(1, 1024)
        self.threads = QSpinBox()  # CPU threads: the job's, out of the machine's cores
        self.threads.setRange(1, os.cpu_count() or 1)
        self.threads.setValue(default_threads())
        self.threads.setToolTip("Threads the job uses on the CPU. By default one core stays with the desk, so your "
                                "keys stay fast while it trains; all of them trains faster while you wait.")
        self.threads.setSuffix(f" of {os.cpu_count() or 1} cores")
        self.eval_fraction = QDoubleSpinBox()
        self.eval_fraction.setRange(0.0, 0.5)
        self.eval_fraction.setSingleStep(0.05)
        self.eval_fraction.setValue(0.1)
        self.eval_fraction.setToolTip("The share of prompts held out for the run's report (split by prompt)")
        self.max_steps = QSpinBox()
        self.max_steps.setRange(0, 10_000_000)
        self.max_steps.setSpecialValueText("by epochs")
        self.max_steps.setToolTip("Stop after this many optimizer steps (0: train for the epochs above)")
        self.max_length = QSpinBox()
        self.max_length.setRange(16, 32768)
        self.max_length.setValue(512)
        self.max_length.setSuffix(" tokens")
        self.max_length.setToolTip("Longer pairs are cut to this: the prompt's oldest turns first, never the answer "
                                   "while it fits; the run reports how many were cut")
        self.precision = QComboBox()
        self.precision.addItems(["fp32", "bf16"])
        self.lora = QCheckBox("LoRA adapters")
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #d55e00;")
        self.problems.setTextFormat(Qt.PlainText)
        self.start_button = QPushButton("&Start")
        self.start_button.clicked.connect(self.start)
        form.addRow("Job", self.kind)
        form.addRow("Train on", self.policy)
        form.addRow(self.counts)
        form.addRow("Base model", browse_row(self.base, lambda current: QFileDialog.getExistingDirectory(
            self, "Base model folder", current)))
        form.addRow("Device", self.device)
        form.addRow("CPU threads", self.threads)
        form.addRow("Epochs", self.epochs)
        form.addRow("Max steps", self.max_steps)
        form.addRow("Batch size", self.batch)
        form.addRow("Max length", self.max_length)
        form.addRow("Held out", self.eval_fraction)
        form.addRow("Precision", self.precision)
        form.addRow("", self.lora)
        form.addRow(self.problems)
        form.addRow(self.start_button)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.device.currentIndexChanged.connect(self._device_changed)
        self.policy.currentIndexChanged.connect(self._count)
        for signal in (self.base.textChanged, self.kind.currentIndexChanged, self.max_steps.valueChanged,
                       self.max_length.valueChanged):
            signal.connect(self.check)
        self.eval_fraction.valueChanged.connect(self._count)
        box.setMaximumWidth(430)
        box.setMinimumWidth(260)
        return box

    def _kind_changed(self) -> None:
        self._device_changed()
        self._count()

    def _device_changed(self) -> None:
        device = self.device.currentData()
        shown = plan.defaults(self.kind.currentData(), device)
        self.batch.setValue(shown["batch_size"])
        self.precision.setCurrentText(shown["precision"])
        self.precision.setEnabled(device.id == "cuda" and device.bf16)
        self.lora.setChecked(shown["lora"])
        self.epochs.setValue(shown["epochs"])
        self.check()

    def _count(self) -> None:
        """The rows the job will see under this policy (an export dry run, off the GUI thread)."""
        fmt = "trl-stepwise" if self.kind.currentData() == "prm" else "trl-preference"
        path, (what, name) = self.desk.project.path, self.policy.currentData()
        self.counts.setText("counting…")
        self.counting = run_in_background(lambda: _dry_export(path, fmt, what, name), self._counted,
                                           lambda exc: self.counts.setText(describe(exc)))

    def _counted(self, result: tuple[int, dict]) -> None:
        written, left_out = result
        unit = "step-rated answers" if self.kind.currentData() == "prm" else "pairs"
        text = f"{written} {unit} ({self.eval_fraction.value():.0%} of prompts held out for the report)"
        if left_out:
            text += "; left out: " + ", ".join(f"{n} {why}" for why, n in sorted(left_out.items(), key=lambda x: -x[1]))
        self.counts.setText(text)
        self.rows_for_job = written
        self.check()

    def spec_choices(self) -> dict:
        device = self.device.currentData()
        hyper = {"epochs": self.epochs.value(), "batch_size": self.batch.value(), "lora": self.lora.isChecked(),
                 "max_length": self.max_length.value()}
        if self.max_steps.value():
            hyper["max_steps"] = self.max_steps.value()
        if device.id == "cuda":
            hyper["bf16"] = self.precision.currentText() == "bf16"
        what, name = self.policy.currentData()
        return {"kind": self.kind.currentData(), "base_model": self.base.text().strip() or None, "device": device.id,
                "aggregate": name if what == "policy" else "majority", "version": name if what == "version" else None,
                "hyper": hyper, "eval_fraction": round(self.eval_fraction.value(), 4), "threads": self.threads.value()}

    def fill_datasets(self, choose: str | None = None) -> None:
        """What a run can train on: the labels now under each policy, then each frozen version (newest first)."""
        from prefdesk.store import versions

        current = self.policy.currentData()  # kept when still there (a new version does not move the choice)
        self.policy.blockSignals(True)
        self.policy.clear()
        for name in POLICY_NAMES:
            self.policy.addItem(f"the labels now, {name}", ("policy", name))
        for v in reversed(versions.listing(self.desk.project)):
            self.policy.addItem(f"version {v['name']} ({v['labels']} labels, {v['aggregate']})", ("version", v["name"]))
            if v["name"] == choose:
                self.policy.setCurrentIndex(self.policy.count() - 1)
        if choose is None and current is not None:
            kept = [i for i in range(self.policy.count()) if self.policy.itemData(i) == current]
            self.policy.setCurrentIndex(kept[0] if kept else 0)
        self.policy.blockSignals(False)
        if choose is not None:
            self._count()  # what the job would see of the version chosen

    def check(self) -> list[str]:
        """Every problem with the choices, shown in the panel; Start is enabled when there is none."""
        choices = self.spec_choices()
        job = KINDS[choices["kind"]][0]
        problems = plan.base_model_problems(job, choices["base_model"])
        problems += plan.spec_problems({"kind": job, "output_dir": "-", "device": choices["device"],
                                        "base_model": None, "hyper": choices["hyper"],
                                        "eval_fraction": choices["eval_fraction"]})
        if self.rows_for_job == 0:
            problems.append("no labels to train on yet under this policy")
        if self.watch is not None and self.watch.status == "running":
            problems.append("a run is going: cancel it, or wait for it to end")
        try:
            train.training_command(self.desk.train_python())
        except NoRuntime as exc:
            problems.append(str(exc))
        self.problems.setText("\n".join(f"• {p}" for p in problems))
        self.start_button.setEnabled(not problems)
        return problems

    def start(self) -> None:
        if self.check():
            return
        choices = self.spec_choices()
        try:
            run_id, spec_path = train.prepare(self.desk.project, choices["kind"], base_model=choices["base_model"],
                                              device=choices["device"], aggregate=choices["aggregate"],
                                              hyper=choices["hyper"], version=choices["version"],
                                              eval_fraction=choices["eval_fraction"])
        except Exception as exc:  # noqa: BLE001 (shown in the panel)
            self.problems.setText(describe(exc))
            return
        self._launch(run_id, spec_path)

    def _launch(self, run_id: str, spec_path: Path, resumed: bool = False) -> None:
        folder = spec_path.parent
        mark_launch(folder, resumed)
        proc = _job_process(self, train.job_command(spec_path, self.desk.train_python()), folder / EVENTS_FILE,
                            folder / LOG_FILE, self.threads.value())
        if not proc.startDetached():
            store_runs.finish_run(self.desk.project, run_id, "failed",
                                  {"error": f"could not start {proc.program()}", "hint": INSTALL_HINT})
        self.attach(run_id)
        self.refresh_history()

    # -- the run being watched ------------------------------------------------------------------------
    def _live_tab(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        self.status = QLabel("No run yet.")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.PlainText)
        self.progress = QProgressBar()
        self.progress.setFormat("step %v / %m")
        self.stats = QLabel()
        self.loss_chart = LiveChart("Loss", LOSS + ("eval_loss",))
        self.accuracy_chart = LiveChart("Accuracy", ACCURACY)
        self.margin_chart = LiveChart("Margin and rewards", MARGIN)
        charts = QSplitter(Qt.Horizontal)
        for chart in (self.loss_chart, self.accuracy_chart, self.margin_chart):
            charts.addWidget(chart)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(400)
        self.log.setFocusPolicy(Qt.ClickFocus)
        buttons = QHBoxLayout()
        self.cancel_button = QPushButton("&Cancel run")
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button = QPushButton("&Resume")
        self.resume_button.clicked.connect(self.resume)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.resume_button)
        buttons.addStretch(1)
        for w in (self.status, self.progress, self.stats):
            column.addWidget(w)
        column.addWidget(charts, 3)
        column.addWidget(QLabel("Log"))
        column.addWidget(self.log, 1)
        column.addLayout(buttons)
        self._buttons()
        return page

    def attach(self, run_id: str) -> None:
        """Watch a run: its events so far drawn at once, then followed live."""
        self.watch = RunWatch(self.desk.project, run_id)
        self.log_size = -1
        for chart in (self.loss_chart, self.accuracy_chart, self.margin_chart):
            chart.clear_data()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.stats.clear()
        self.poll(replay=True)
        self.timer.start()

    def poll(self, replay: bool = False) -> None:
        watch = self.watch
        if watch is None:
            return
        fresh = watch.poll()
        for event in watch.events if replay else fresh:
            self._show_event(event)
        self._show_log()
        if watch.status != "running":
            self.timer.stop()
            self._ended(store_runs.run(self.desk.project, watch.run_id))
        self._buttons()

    def _show_event(self, event: dict) -> None:
        kind = event["event"]
        if kind == "launched":
            self.status.setText("Starting the training runtime…")
        elif kind == "started":
            self.device_kind = event.get("device_kind")
            resumed = f", resumed from {Path(event['resumed_from']).name}" if event.get("resumed_from") else ""
            self.status.setText(f"Training {event.get('job')} on {event.get('device')}{resumed}: "
                                f"{event.get('train_pairs', event.get('train_examples', '?'))} training rows, "
                                f"{event.get('parameters_trainable', 0):,} trainable parameters.")
        elif kind == "progress":
            self.progress.setRange(0, max(1, int(event.get("total_steps") or 1)))
            self.progress.setValue(int(event.get("step") or 0))
            eta = event.get("eta_s")
            memory = plan.gpu_memory_used() if self.device_kind == "cuda" else None
            self.stats.setText(f"epoch {event.get('epoch', 0):.2f}   ·   ETA {_duration(eta)}   ·   "
                               f"{event.get('samples_per_s', 0)} samples/s"
                               + (f"   ·   GPU memory {memory / 1024:.1f} GB" if memory else ""))
        elif kind == "metrics":
            step = event.get("step", 0)
            for chart in (self.loss_chart, self.accuracy_chart, self.margin_chart):
                chart.add(step, event)
        elif kind == "eval":
            self.loss_chart.add(event.get("step", 0), event)

    def _show_log(self) -> None:
        path = run_folder(self.desk.project, self.watch.run_id) / LOG_FILE
        size = path.stat().st_size if path.exists() else 0
        if size != self.log_size:
            self.log_size = size
            self.log.setPlainText(log_tail(path.parent, 200))
            self.log.verticalScrollBar().setValue(self.log.verticalScrollBar().maximum())

    def _ended(self, run: store_runs.Run) -> None:
        rep = run.report or {}
        if run.status == "finished":
            accuracy = rep.get("eval", {}).get("accuracy")
            self.status.setText(f"Finished. Held-out accuracy {accuracy:.3f}." if isinstance(accuracy, float)
                                else "Finished.")
            self.progress.setValue(self.progress.maximum())
        elif run.status == "cancelled":
            self.status.setText(f"Cancelled at step {rep.get('step')}; Resume goes on from "
                                f"{Path(rep['checkpoint']).name if rep.get('checkpoint') else 'the start'}.")
        else:
            self.status.setText(f"Failed: {rep.get('error')}\nHint: {rep.get('hint')}")
        self.refresh_history()
        self.check()

    def _buttons(self) -> None:
        running = self.watch is not None and self.watch.status == "running"
        self.cancel_button.setEnabled(running)
        self.resume_button.setEnabled(self.watch is not None and self.watch.status in ("cancelled", "failed") and
                                      (run_folder(self.desk.project, self.watch.run_id) / "model" / "checkpoints").is_dir())

    def running(self) -> bool:
        return self.watch is not None and self.watch.status == "running"

    def cancel(self) -> None:
        """Stop at the next step, with a checkpoint to resume from."""
        if self.running():
            request_stop(run_folder(self.desk.project, self.watch.run_id))
            self.status.setText("Stopping at the next step, with a checkpoint…")

    def resume(self) -> None:
        if self.watch is None:
            return
        spec_path = train.prepare_resume(self.desk.project, self.watch.run_id)
        self._launch(self.watch.run_id, spec_path, resumed=True)

    def _running(self) -> list[str]:
        return [r.id for r in store_runs.runs(self.desk.project) if r.status == "running"]

    # -- history, report, compare, score --------------------------------------------------------------
    def _history_tab(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        self.history = QTableWidget(0, 6)
        self.history.setHorizontalHeaderLabels(["Started", "Job", "Status", "Accuracy", "Train on", "Base model"])
        self.history.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.history.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.history.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.history.horizontalHeader().setStretchLastSection(True)
        self.history.verticalHeader().hide()
        self.history.itemSelectionChanged.connect(self.show_selected)
        buttons = QHBoxLayout()
        self.score_button = QPushButton("S&core the project")
        self.score_button.clicked.connect(self.score)
        self.unlabelled = QCheckBox("unlabelled items only")
        self.score_progress = QProgressBar()
        self.score_progress.hide()
        self.score_cancel = QPushButton("Cancel scoring")
        self.score_cancel.clicked.connect(self.cancel_scoring)
        self.score_cancel.hide()
        self.watch_button = QPushButton("Show &live")
        self.watch_button.clicked.connect(self._watch_selected)
        for w in (self.score_button, self.unlabelled, self.score_progress, self.score_cancel, self.watch_button):
            buttons.addWidget(w)
        buttons.addStretch(1)
        self.report = QTableWidget(0, 2)
        self.report.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.report.verticalHeader().hide()
        self.report.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.report.horizontalHeader().setStretchLastSection(True)
        self.histogram = HistogramChart()
        self.dimensions = BarChart("Held-out accuracy per dimension")
        charts = QSplitter(Qt.Vertical)
        charts.addWidget(self.histogram)
        charts.addWidget(self.dimensions)
        lower = QSplitter(Qt.Horizontal)
        lower.addWidget(self.report)
        lower.addWidget(charts)
        lower.setSizes([420, 380])
        column.addWidget(QLabel("Runs (select one for its report, two to compare them)"))
        column.addWidget(self.history, 1)
        column.addLayout(buttons)
        column.addWidget(lower, 2)
        return page

    def refresh_history(self) -> None:
        self.runs = list(reversed(store_runs.runs(self.desk.project)))
        selected = {r.id for r in self.selected_runs()} if hasattr(self, "runs_shown") else set()
        self.runs_shown = self.runs
        self.history.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            accuracy = run.as_json()["report"].get("accuracy")
            cells = (run.started_at[:19].replace("T", " "), run.kind, run.status,
                     f"{accuracy:.3f}" if isinstance(accuracy, float) else "",
                     f"version {run.spec['version']}" if run.spec.get("version") else run.spec.get("aggregate", ""),
                     Path(run.spec["base_model"]).name if run.spec.get("base_model")
                     else "MiniLM")
            for col, text in enumerate(cells):
                self.history.setItem(row, col, QTableWidgetItem(text))
            if run.id in selected:
                self.history.selectRow(row)
        if not selected and self.runs:
            self.history.selectRow(0)
        self.show_selected()

    def selected_runs(self) -> list[store_runs.Run]:
        rows = sorted({i.row() for i in self.history.selectedIndexes()})
        return [self.runs_shown[r] for r in rows if r < len(self.runs_shown)]

    def show_selected(self) -> None:
        chosen = self.selected_runs()
        if len(chosen) >= 2:
            a, b = chosen[:2]
            table = report.compare(a, b)
            self._fill_report([f"{a.kind} {a.started_at[:16]}", f"{b.kind} {b.started_at[:16]}"], table)
            dims = sorted(set(report.per_dimension(a.report)) | set(report.per_dimension(b.report)))
            self.dimensions.show_groups(dims, {f"run {i + 1}": [report.per_dimension(r.report).get(d) for d in dims]
                                               for i, r in enumerate((a, b))})
            self.histogram.show_histogram(report.histogram(a.report))
        elif chosen:
            run = chosen[0]
            figures = report.rows(run.report)
            if run.status == "failed":
                figures = [("error", str((run.report or {}).get("error"))), ("hint", str((run.report or {}).get("hint")))]
            self._fill_report([f"{run.kind} ({run.status})"], [(n, v) for n, v in figures])
            self.histogram.show_histogram(report.histogram(run.report))
            per = report.per_dimension(run.report)
            self.dimensions.show_groups(list(per), {"accuracy": list(per.values())})
        else:
            self._fill_report(["value"], [])
        can_score = len(chosen) == 1 and chosen[0].status == "finished" and chosen[0].kind in ("reward", "reward-dims")
        self.score_button.setEnabled(can_score and self.scoring is None)
        self.watch_button.setEnabled(len(chosen) == 1)

    def _fill_report(self, columns: list[str], table: list[tuple]) -> None:
        self.report.setColumnCount(1 + len(columns))
        self.report.setHorizontalHeaderLabels(["figure", *columns])
        self.report.setRowCount(len(table))
        for row, cells in enumerate(table):
            for col, text in enumerate(cells):
                self.report.setItem(row, col, QTableWidgetItem(text))

    def _watch_selected(self) -> None:
        chosen = self.selected_runs()
        if chosen:
            self.attach(chosen[0].id)
            self.tabs.setCurrentIndex(0)

    def score(self) -> None:
        """Score every candidate (or the unlabelled items' ones) with the selected reward run, in a subprocess
        with progress; stored in the project when it ends, nothing stored when cancelled."""
        (run,) = self.selected_runs()[:1]
        self.score_tmp = tempfile.TemporaryDirectory(prefix="prefdesk-score-")
        try:
            command, out, n = train.scoring_job(self.desk.project, run.id, Path(self.score_tmp.name),
                                                self.desk.train_python(), self.unlabelled.isChecked())
        except (ValueError, NoRuntime) as exc:
            self.status.setText(describe(exc))
            return
        self.scoring = _job_process(self, command, threads=self.threads.value())
        self.scoring.readyReadStandardOutput.connect(self._score_progress)
        self.scoring.finished.connect(lambda code, _status, r=run.id, o=out: self._scored(r, o, code))
        self.score_progress.setRange(0, max(1, n))
        self.score_progress.setValue(0)
        self.score_progress.setFormat("scored %v / %m")
        for w in (self.score_progress, self.score_cancel):
            w.show()
        self.score_button.setEnabled(False)
        self.scoring.start()

    def _score_progress(self) -> None:
        from training.protocol import parse_event

        while self.scoring is not None and self.scoring.canReadLine():
            event = parse_event(bytes(self.scoring.readLine()).decode(errors="replace"))
            if event and event["event"] == "progress":
                self.score_progress.setValue(int(event["step"]))
                self.score_rate = event.get("samples_per_s")  # candidates/s so far (the model loaded)

    def _scored(self, run_id: str, out: Path, code: int) -> None:
        proc, self.scoring = self.scoring, None
        for w in (self.score_progress, self.score_cancel):
            w.hide()
        if code == 0 and out.exists():
            scored = train.store_scored(self.desk.project, run_id, out)
            self.status.setText(f"{scored.summary().capitalize()}; reviewers and experts see them in the desk (M).")
            self.desk.ops.changed.emit(Change.SCORES)
        elif proc is not None and proc.property("cancelled"):
            self.status.setText("Scoring cancelled; no scores were stored.")
        else:
            err = bytes(proc.readAllStandardError()).decode(errors="replace").strip() if proc else ""
            self.status.setText(f"Scoring failed: {err.splitlines()[-1] if err else f'exit code {code}'}; "
                                "no scores were stored.")
            forms.tell(self, "Scoring failed", self.status.text())  # not only a line the lead may not be looking at
        if self.score_tmp is not None:
            self.score_tmp.cleanup()
            self.score_tmp = None
        self.show_selected()

    def cancel_scoring(self) -> None:
        if self.scoring is not None:
            self.scoring.setProperty("cancelled", True)
            self.scoring.kill()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if self.running():  # shown again (Ctrl+T) after being closed during a run: follow it again
            self.poll()
            self.timer.start()
        super().showEvent(event)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.timer.stop()  # a run goes on; the desk settles it when it next looks
        self.cancel_scoring()
        super().closeEvent(event)


def _dry_export(path: Path, fmt: str, what: str, name: str) -> tuple[int, dict]:
    """How many rows an export would give (under a policy, or of a version), and what it would leave out
    (a connection of its own; it only reads)."""
    from prefdesk.formats.export import export_dataset
    from prefdesk.store import versions
    from prefdesk.store.project import Project

    with tempfile.TemporaryDirectory(prefix="prefdesk-count-") as tmp, Project.open(path) as project:
        version = versions.get(project, name) if what == "version" else None
        policy = policy_for_version(project, version) if version else policy_for(project, name)
        done = export_dataset(project, fmt, Path(tmp) / "out", policy, workers=0, version=version)
    return done.written, dict(done.left_out)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
