"""The Train panel's live view: the watched run's curves, GPU memory, log and progress, read from its run folder
on a timer; cancel (with a checkpoint) and resume."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QPushButton, QSplitter,
                               QVBoxLayout, QWidget)

from prefdesk.jobs import KINDS, plan, train
from prefdesk.jobs.watch import LOG_FILE, RunWatch, log_tail, request_stop
from prefdesk.store.runs import run_folder
from prefdesk.store import runs as store_runs
from prefdesk.ui.charts import LiveChart
from training.protocol import Event, JobEvent, RunStatus
from prefdesk.jobs.progress import duration_text

LOSS = ("loss",)
ACCURACY = ("accuracy", "rewards/accuracies", "dim_accuracy")
MARGIN = ("margin", "rewards/chosen", "rewards/rejected", "rewards/margins")


class LivePart:
    """The live tab of `TrainPanel`."""

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
        if watch.status != RunStatus.RUNNING:
            self.timer.stop()
            self._ended(store_runs.run(self.desk.project, watch.run_id))
        self._buttons()

    def _show_event(self, event: JobEvent) -> None:
        kind = event.kind
        if kind is Event.LAUNCHED:
            self.status.setText("Starting the training runtime…")
        elif kind is Event.STARTED:
            self.device_kind = event.get("device_kind")
            resumed = f", resumed from {Path(event['resumed_from']).name}" if event.get("resumed_from") else ""
            self.status.setText(f"Training {event.get('job')} on {event.get('device')}{resumed}: "
                                f"{event.get('train_pairs', event.get('train_examples', '?'))} training rows, "
                                f"{event.get('parameters_trainable', 0):,} trainable parameters.")
        elif kind is Event.PROGRESS:
            self.progress.setRange(0, max(1, int(event.get("total_steps") or 1)))
            self.progress.setValue(int(event.get("step") or 0))
            eta = event.get("eta_s")
            memory = plan.gpu_memory_used() if self.device_kind == "cuda" else None
            self.stats.setText(f"epoch {event.get('epoch', 0):.2f}   ·   ETA {duration_text(eta)}   ·   "
                               f"{event.get('samples_per_s', 0)} samples/s"
                               + (f"   ·   GPU memory {memory / 1024:.1f} GB" if memory else ""))
        elif kind is Event.METRICS:
            step = event.get("step", 0)
            for chart in (self.loss_chart, self.accuracy_chart, self.margin_chart):
                chart.add(step, event)
        elif kind is Event.EVAL:
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
        if run.status == RunStatus.FINISHED:
            accuracy = rep.get("eval", {}).get("accuracy")
            self.status.setText(f"Finished. Held-out accuracy {accuracy:.3f}." if isinstance(accuracy, float)
                                else "Finished.")
            self.progress.setValue(self.progress.maximum())
        elif run.status == RunStatus.CANCELLED:
            self.status.setText(f"Cancelled at step {rep.get('step')}; Resume goes on from "
                                f"{Path(rep['checkpoint']).name if rep.get('checkpoint') else 'the start'}.")
        else:
            self.status.setText(f"Failed: {rep.get('error')}\nHint: {rep.get('hint')}")
        self.refresh_history()
        self.check()

    def _buttons(self) -> None:
        running = self.watch is not None and self.watch.status == RunStatus.RUNNING
        self.cancel_button.setEnabled(running)
        self.resume_button.setEnabled(self.watch is not None and self.watch.status in (RunStatus.CANCELLED, RunStatus.FAILED) and
                                      (run_folder(self.desk.project, self.watch.run_id) / "model" / "checkpoints").is_dir())

    def running(self) -> bool:
        return self.watch is not None and self.watch.status == RunStatus.RUNNING

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
        return [r.id for r in store_runs.runs(self.desk.project) if r.status == RunStatus.RUNNING and r.kind in KINDS]
