"""The Train panel's history: the project's runs, a run's report, two compared, and a reward run's scores
brought into the project (a scoring job, then a project operation)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import shiboken6

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel, QProgressBar,
                               QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from prefdesk.jobs import KINDS, report, train
from prefdesk.jobs.runtime import NoRuntime
from prefdesk.store import runs as store_runs
from prefdesk.store.project import Project
from prefdesk.ui.charts import BarChart, HistogramChart
from prefdesk.ui import forms
from prefdesk.ui.operations import Change
from prefdesk.ui.worker import describe
from prefdesk.ui.train.setup import job_process
from training.protocol import RunStatus


class HistoryPart:
    """The history tab of `TrainPanel`."""

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
        self.rm_eval_button = QPushButton("&Judge on held-out pairs")  # prefdesk rm-eval
        self.rm_eval_button.setToolTip("The reward model's accuracy on decided pairs it never trained on, per "
                                       "dimension, bucket, agreement level and length; best-of-4")
        self.rm_eval_button.clicked.connect(self.judge_reward_model)
        for w in (self.score_button, self.unlabelled, self.score_progress, self.score_cancel, self.watch_button):
            buttons.addWidget(w)
        buttons.addStretch(1)
        judge_row = QHBoxLayout()  # a row of its own: at scale 2 one row of them all is wider than a 1600 screen
        judge_row.addWidget(self.rm_eval_button)
        self.import_button = QPushButton("&Import a finished bundle…")  # prefdesk runs import
        self.import_button.clicked.connect(lambda: self.import_bundle())
        self.import_status = QLabel()
        self.import_status.setWordWrap(True)
        self.import_status.setTextFormat(Qt.PlainText)
        judge_row.addWidget(self.import_button)
        judge_row.addWidget(self.import_status, 1)
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
        column.addLayout(judge_row)
        column.addWidget(lower, 2)
        return page

    def refresh_history(self) -> None:
        # training runs only: generation, judge and evaluation runs are the Generate panel's and the CLI's
        self.runs = [r for r in reversed(store_runs.runs(self.desk.project)) if r.kind in KINDS]
        selected = {r.id for r in self.selected_runs()} if hasattr(self, "runs_shown") else set()
        self.runs_shown = self.runs
        self.history.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            accuracy = run.as_json()["report"].get("accuracy")
            cells = (run.started_at[:19].replace("T", " "), run.kind, run.status.value,
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
            if run.status == RunStatus.FAILED:
                figures = [("error", str((run.report or {}).get("error"))), ("hint", str((run.report or {}).get("hint")))]
            if run.status == RunStatus.BUNDLED:
                bundle = run.spec.get("bundle", {})
                figures = [("bundle", str(bundle.get("folder"))), ("topology", str(bundle.get("topology"))),
                           ("next", "train it there, then Import a finished bundle")]
            self._fill_report([f"{run.kind} ({run.status.value})"], [(n, v) for n, v in figures])
            self.histogram.show_histogram(report.histogram(run.report))
            per = report.per_dimension(run.report)
            self.dimensions.show_groups(list(per), {"accuracy": list(per.values())})
        else:
            self._fill_report(["value"], [])
        can_score = len(chosen) == 1 and chosen[0].status == RunStatus.FINISHED and chosen[0].kind in ("reward", "reward-dims")
        self.score_button.setEnabled(can_score and self.scoring is None)
        self.rm_eval_button.setEnabled(can_score and self.scoring is None)
        self.watch_button.setEnabled(len(chosen) == 1 and chosen[0].status != RunStatus.BUNDLED)

    def judge_reward_model(self) -> None:
        """`prefdesk rm-eval` on the selected run, off the GUI thread (pairs it has not scored are scored first);
        its figures replace the run's report."""
        from prefdesk.quality.rm_eval_report import figures
        from prefdesk.jobs.rm_eval import rm_eval

        (run,) = self.selected_runs()[:1]
        path, python = self.desk.project.path, self.desk.train_python()
        self.rm_eval_button.setEnabled(False)

        def work() -> dict:
            with Project.open(path) as project:
                return rm_eval(project, run.id, python=python)

        def done(result: dict) -> None:
            self.rm_eval_button.setEnabled(True)
            self.rm_eval_result = result
            self._fill_report([f"{run.kind} on held-out pairs"], figures(result))

        def failed(exc: Exception) -> None:
            self.rm_eval_button.setEnabled(True)
            forms.tell(self, "Judging the reward model failed", describe(exc))
        self.desk.ops.run(work, Change.SCORES, done, failed)

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
        self.scoring = job_process(self, command, threads=self.threads.value())
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
        from training.protocol import Event, parse_event

        while self.scoring is not None and self.scoring.canReadLine():
            event = parse_event(bytes(self.scoring.readLine()).decode(errors="replace"))
            if event and event.kind is Event.PROGRESS:
                self.score_progress.setValue(int(event["step"]))
                self.score_rate = event.get("samples_per_s")  # candidates/s so far (the model loaded)

    def _scored(self, run_id: str, out: Path, code: int) -> None:
        proc, self.scoring = self.scoring, None
        for w in (self.score_progress, self.score_cancel):
            w.hide()
        if code == 0 and out.exists():
            self._store_scores(run_id, out)
            return
        if proc is not None and proc.property("cancelled"):
            self.status.setText("Scoring cancelled; no scores were stored.")
        else:
            err = bytes(proc.readAllStandardError()).decode(errors="replace").strip() if proc else ""
            self.status.setText(f"Scoring failed: {err.splitlines()[-1] if err else f'exit code {code}'}; "
                                "no scores were stored.")
            forms.tell(self, "Scoring failed", self.status.text())  # not only a line the lead may not be looking at
        self._scoring_done()

    def _store_scores(self, run_id: str, out: Path) -> None:
        """The scores into the project as a project operation (a million candidates: seconds), off the GUI thread."""
        path = self.desk.project.path
        self.status.setText("Storing the scores…")

        def work() -> train.Scored:
            with Project.open(path) as project:
                return train.store_scored(project, run_id, out)

        def stored(scored: train.Scored) -> None:
            if not shiboken6.isValid(self):
                return  # the panel was closed with its project meanwhile: the scores are stored all the same
            self.status.setText(f"{scored.summary().capitalize()}; reviewers and experts see them in the desk (M).")
            self._scoring_done()

        def failed(exc: Exception) -> None:
            if not shiboken6.isValid(self):
                return
            self.status.setText(f"The scores were not stored: {describe(exc)}")
            forms.tell(self, "Scoring failed", self.status.text())
            self._scoring_done()

        self.desk.ops.run(work, Change.SCORES, stored, failed)

    def _scoring_done(self) -> None:
        if self.score_tmp is not None:
            self.score_tmp.cleanup()
            self.score_tmp = None
        self.show_selected()

    def cancel_scoring(self) -> None:
        if self.scoring is not None:
            self.scoring.setProperty("cancelled", True)
            self.scoring.kill()

