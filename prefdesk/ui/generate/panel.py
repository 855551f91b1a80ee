"""The Generate panel (Project › Generate): from a prompt file or the pool and a model folder to a queue of
pre-filtered, pre-judged pairs, without leaving the desk (the judge: `judge_box`). The model folder is checked
before start, every sampling parameter is on the form, and the job (`python -m training generate`) runs as a
detached process followed on a timer like a training run (prompts done, tokens/s, ETA, the last answers); Cancel
stops it, Resume goes on. Its samples become items off the GUI thread (the project's rules run on them in the same
transaction), said through the one change signal. The desk never imports torch.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPlainTextEdit, QProgressBar, QPushButton, QScrollArea, QSpinBox, QSplitter,
                               QTabWidget, QVBoxLayout, QWidget)

from prefdesk.jobs import generate
from prefdesk.jobs.runtime import runtime_problems
from prefdesk.jobs.watch import EVENTS_FILE, LOG_FILE, RunWatch, log_tail, mark_launch, request_stop
from prefdesk.jobs.progress import progress_text
from prefdesk.store import prompts as pool, runs as store_runs
from prefdesk.store.versions import parse_quotas
from prefdesk.ui.forms import browse_row, compact, fit_to_screen
from prefdesk.ui.generate.judge_box import JudgeBox
from prefdesk.ui.operations import Change
from prefdesk.ui.train.setup import default_threads, job_process
from prefdesk.ui.worker import describe
from training.gen_spec import chat_template_of, model_folder_problems, url_problems
from training.protocol import Event, RunStatus

POLL_MS = 500


def _ingest(path: Path, run_id: str) -> dict:
    """A finished run's samples into items, on a connection of its own (an operation off the GUI thread)."""
    from prefdesk.store.project import Project

    with Project.open(path) as project:
        return generate.ingest(project, run_id)


def model_summary(folder: str) -> tuple[list[str], str]:
    """(problems, a line on what the folder holds), from its files alone."""
    if not folder:
        return ["choose the model folder (a causal LM saved with save_pretrained)"], ""
    problems = model_folder_problems(folder)
    if problems:
        return problems, ""
    import json

    arch = ", ".join(json.loads((Path(folder) / "config.json").read_text()).get("architectures") or [])
    template = "a chat template (applied to chat prompts)" if chat_template_of(folder) else \
        "no chat template (chat prompts are joined as text)"
    return [], f"✓ {arch}; tokenizer; {template}"


def _buddy(text: str, field: QWidget) -> QLabel:
    """A form label whose Alt+letter goes to `field` (a row whose field is a layout gets no buddy of its own)."""
    label = QLabel(text)
    label.setBuddy(field)
    return label


class GeneratePanel(QWidget):
    def __init__(self, desk) -> None:
        super().__init__(desk, Qt.Window)
        self.desk = desk
        self.setWindowTitle(f"Generate — {desk.project.path.name}")
        self.watch: RunWatch | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        form = QWidget()
        form.setLayout(self._form())
        scroll = QScrollArea()  # the form scrolls on a small screen (scale 2 on a laptop); the live view keeps room
        scroll.setWidget(form)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(form.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
        live = QWidget()
        live.setLayout(self._live())
        split = QSplitter(Qt.Horizontal)
        split.addWidget(scroll)
        split.addWidget(live)
        split.setStretchFactor(1, 1)
        self.judge = JudgeBox(self.desk)
        judge_page = QWidget()
        column = QVBoxLayout(judge_page)
        column.addWidget(self.judge)
        column.addStretch(1)
        tabs = QTabWidget()  # the judge on a page of its own: each page fits a small screen at scale 2
        tabs.addTab(split, "&Generate")
        tabs.addTab(judge_page, "&Judge the pairs")
        self.tabs = tabs
        QHBoxLayout(self).addWidget(tabs)
        fit_to_screen(self, 1200, 760)
        self._refresh()
        going = [r for r in store_runs.runs(desk.project) if r.kind == generate.KIND and r.status == RunStatus.RUNNING]
        if going:  # a run left going by an earlier desk: followed again
            self.watch = RunWatch(desk.project, going[-1].id)
            self.timer.start()
            self._buttons()
        self.check()
        desk.ops.changed.connect(self._changed)

    # -- the form -----------------------------------------------------------------------------------
    def _form(self) -> QVBoxLayout:
        form = QFormLayout()
        self.model = QLineEdit()
        self.model.setPlaceholderText("a local causal LM folder")
        form.addRow(_buddy("&Model folder", self.model),
                    browse_row(self.model, lambda cur: QFileDialog.getExistingDirectory(self, "Model folder", cur)))
        self.model_info = QLabel()
        self.model_info.setWordWrap(True)
        self.model_info.setTextFormat(Qt.PlainText)
        form.addRow("", self.model_info)
        self.adapter = QLineEdit()
        self.adapter.setPlaceholderText("optional: a PEFT adapter folder")
        form.addRow(_buddy("Ada&pter", self.adapter),
                    browse_row(self.adapter, lambda cur: QFileDialog.getExistingDirectory(self, "Adapter", cur)))
        self.source = QComboBox()
        self.source.addItem("the prompt pool", "pool")
        self.source.addItem("a prompt file", "file")
        form.addRow("P&rompts from", self.source)
        self.prompts_file = QLineEdit()
        self.prompts_file.setPlaceholderText("JSONL (prompt, scenario, risk_level, bucket, source) or one prompt a line")
        form.addRow(_buddy("Prompt &file", self.prompts_file),
                    browse_row(self.prompts_file, lambda cur: QFileDialog.getOpenFileName(self, "Prompts", cur)[0]))
        self.pool_info = QLabel()
        form.addRow("", self.pool_info)
        self.sample = QSpinBox()
        self.sample.setRange(0, 10_000_000)
        self.sample.setSpecialValueText("all")
        form.addRow("&Sample", self.sample)
        self.by = QComboBox()
        for label, value in (("no strata", None), ("by bucket", "bucket"), ("by scenario", "scenario"),
                             ("by risk level", "risk_level")):
            self.by.addItem(label, value)
        form.addRow("Stratif&y", self.by)
        self.quota = QLineEdit()
        self.quota.setPlaceholderText("e.g. high-risk=20 general=80")
        form.addRow("&Quotas", self.quota)
        self.reuse = QCheckBox("draw prompts a run has sampled before too")
        form.addRow("", self.reuse)
        self.n = self._spin(form, "&Answers a prompt", 2, 2, 16)
        self.temperature = self._real(form, "&Temperature", 0.8, 0.0, 5.0, 0.05)
        self.top_p = self._real(form, "Top-&p", 0.95, 0.01, 1.0, 0.01)
        self.max_new = self._spin(form, "Max &new tokens", 256, 1, 32768)
        self.keep_cut = QCheckBox("keep cut answers")  # short: the panel fits an 800 px screen at scale 2
        self.keep_cut.setToolTip("Keep answers cut at the token limit (else resampled, then the prompt held back)")
        form.addRow("", self.keep_cut)
        self.seed = self._spin(form, "S&eed", 0, 0, 2 ** 31 - 1)
        self.batch = self._spin(form, "&Batch (prompts)", 16, 1, 512)
        self.device = QComboBox()
        for d in ("auto", "cpu", "cuda", "mps"):
            self.device.addItem(d, d)
        form.addRow("&Device", self.device)
        self.backend = QComboBox()
        self.backend.addItem("transformers (batched, local)", "transformers")
        self.backend.addItem("OpenAI-compatible server on this machine", "openai")
        form.addRow("Bac&kend", self.backend)
        self.url = QLineEdit()
        self.url.setPlaceholderText("http://127.0.0.1:8080/v1 (llama.cpp, Ollama, vLLM's server)")
        form.addRow("Server &URL", self.url)
        self.pair = QComboBox()
        for label, value in (("every answer (2: a pair, more: a ranking)", None), ("one random pair", "random"),
                             ("spread: best against worst (easy)", "spread"),
                             ("closest: the two nearest scores (informative)", "closest")):
            self.pair.addItem(label, value)
        form.addRow("Pa&iring", self.pair)
        self.reward_run = QComboBox()
        self.reward_run.setPlaceholderText("no finished reward run yet")
        form.addRow("Re&ward run", self.reward_run)
        for widget in (self.model, self.adapter, self.prompts_file, self.quota, self.url):
            widget.textChanged.connect(self.check)
        for widget in (self.source, self.by, self.backend, self.pair, self.reward_run, self.device):
            widget.currentIndexChanged.connect(self.check)
            compact(widget)
        for widget in (self.n, self.sample):
            widget.valueChanged.connect(self.check)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setTextFormat(Qt.PlainText)
        self.start_button = QPushButton("&Start")
        self.start_button.clicked.connect(self.start)
        self.start_button.setDefault(True)
        column = QVBoxLayout()
        column.addLayout(form)
        column.addWidget(self.problems)
        column.addWidget(self.start_button)
        column.addStretch(1)
        return column

    def _spin(self, form: QFormLayout, label: str, value: int, lo: int, hi: int) -> QSpinBox:
        box = QSpinBox()
        box.setRange(lo, hi)
        box.setValue(value)
        form.addRow(label, box)
        return box

    def _real(self, form: QFormLayout, label: str, value: float, lo: float, hi: float, step: float) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(lo, hi)
        box.setSingleStep(step)
        box.setValue(value)
        form.addRow(label, box)
        return box

    def _live(self) -> QVBoxLayout:
        column = QVBoxLayout()
        self.status = QLabel("No generation run yet.")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.PlainText)
        self.progress = QProgressBar()
        self.progress.setFormat("prompts %v / %m")
        self.stats = QLabel()
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setFocusPolicy(Qt.ClickFocus)
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
        column.addWidget(QLabel("The last answers"))
        column.addWidget(self.preview, 1)
        column.addLayout(buttons)
        self._buttons()
        return column

    # -- what the form says -------------------------------------------------------------------------------
    def _changed(self, change: Change) -> None:
        """The one way the panel hears of the project: reward runs and the pool listed again."""
        if change & (Change.RUNS | Change.PROJECT | Change.ITEMS):
            self._refresh()
            self.judge.refresh()

    def _refresh(self) -> None:
        project = self.desk.project
        counts = pool.counts(project)
        self.pool_info.setText(f"{counts['prompts']} prompts in the pool, {counts['not_generated']} not sampled yet"
                               + (f", {counts['in_eval_sets']} kept for evaluation" if counts["in_eval_sets"] else ""))
        current = self.reward_run.currentData()
        self.reward_run.clear()
        for run in reversed(store_runs.runs(project)):
            if run.kind in ("reward", "reward-dims") and run.status == RunStatus.FINISHED:
                self.reward_run.addItem(f"{run.kind} {run.id[-8:]} ({run.started_at[:16]})", run.id)
        if current is not None and (i := self.reward_run.findData(current)) >= 0:
            self.reward_run.setCurrentIndex(i)

    def choices(self) -> dict:
        return {"adapter": self.adapter.text().strip() or None, "n": self.n.value(),
                "temperature": round(self.temperature.value(), 4), "top_p": round(self.top_p.value(), 4),
                "max_new_tokens": self.max_new.value(), "seed": self.seed.value(), "device": self.device.currentData(),
                "backend": self.backend.currentData(), "url": self.url.text().strip() or None,
                "batch_size": self.batch.value(), "pair": self.pair.currentData(),
                "cut_answers": "keep" if self.keep_cut.isChecked() else "resample"}

    def check(self) -> list[str]:
        """Every problem with the choices, shown; Start is enabled when there is none."""
        choices = self.choices()
        from_file = self.source.currentData() == "file"
        self.prompts_file.setEnabled(from_file)
        self.reuse.setEnabled(not from_file)
        self.url.setEnabled(choices["backend"] == "openai")
        self.adapter.setEnabled(choices["backend"] == "transformers")
        self.reward_run.setEnabled(choices["pair"] in ("spread", "closest"))
        problems: list[str] = []
        if choices["backend"] == "openai":
            problems += url_problems(choices["url"], False)
            self.model_info.setText("")
            if not self.model.text().strip():
                problems.append("name the model the server serves")
        else:
            found, info = model_summary(self.model.text().strip())
            problems += found
            self.model_info.setText(info)
        if self.source.currentData() == "file" and not Path(self.prompts_file.text().strip()).is_file():
            problems.append("choose the prompt file")
        if choices["pair"] and self.n.value() < 3:
            problems.append("one pair out of the answers needs 3 answers a prompt or more")
        if choices["pair"] in ("spread", "closest") and self.reward_run.currentData() is None:
            problems.append("spread and closest rank the answers with a finished reward run: train one first")
        try:
            parse_quotas(self.quota.text().split())
        except Exception as exc:  # noqa: BLE001 (shown in the panel)
            problems.append(describe(exc))
        if self.running():
            problems.append("a generation run is going: cancel it, or wait for it to end")
        problems += runtime_problems(self.desk.train_python())
        self.problems.setText("\n".join(f"• {p}" for p in problems))
        self.start_button.setEnabled(not problems)
        return problems

    def running(self) -> bool:
        return self.watch is not None and self.watch.status == RunStatus.RUNNING

    def start(self) -> None:
        if self.check():
            return
        choices = self.choices()
        reward = None
        if choices["pair"] in ("spread", "closest"):
            reward = store_runs.run(self.desk.project, self.reward_run.currentData()).model_dir
        by = self.by.currentData()
        try:
            run_id, spec = generate.prepare(
                self.desk.project, self.model.text().strip(),
                prompts_file=self.prompts_file.text().strip() if self.source.currentData() == "file" else None,
                sample=self.sample.value() or None, by=by, quotas=parse_quotas(self.quota.text().split()),
                reuse=self.reuse.isChecked(), reward_model=reward, **choices)
        except Exception as exc:  # noqa: BLE001 (shown in the panel)
            self.problems.setText(describe(exc))
            return
        self._launch(run_id, spec)
        self.desk.ops.changed.emit(Change.RUNS)

    def _launch(self, run_id: str, spec: Path, resumed: bool = False) -> None:
        folder = spec.parent
        mark_launch(folder, resumed)
        proc = job_process(self, generate.command(spec, self.desk.train_python()), folder / EVENTS_FILE,
                           folder / LOG_FILE, default_threads())
        if not proc.startDetached():
            store_runs.finish_run(self.desk.project, run_id, RunStatus.FAILED, {"error": f"could not start {proc.program()}"})
        self.watch = RunWatch(self.desk.project, run_id)
        self.preview.clear()
        self.status.setText(f"Run {run_id[-8:]}: starting the model…")
        self.timer.start()
        self._buttons()
        self.check()

    def poll(self) -> None:
        if self.watch is None:
            return
        for event in self.watch.poll():
            if event.kind is Event.STARTED:
                self.progress.setRange(0, max(1, event.get("prompts", 1)))
                self.progress.setValue(event.get("already_done", 0))
                self.status.setText(f"Sampling on {event.get('device')} with {event.get('backend')}"
                                    + (f"; {event['already_done']} prompts already done" if event.get("already_done") else ""))
            elif event.kind is Event.PROGRESS:
                self.progress.setRange(0, event["total_steps"])
                self.progress.setValue(event["step"])
                self.stats.setText(progress_text(event, "prompts"))
                for text in event.get("preview") or []:
                    self.preview.appendPlainText(text.strip() + "\n—")
        if self.watch.status == RunStatus.RUNNING:
            return
        self.timer.stop()
        run_id, status = self.watch.run_id, self.watch.status
        if status == RunStatus.FINISHED:
            self.status.setText("Finished: making the items and running the rules…")
            self.desk.ops.run(lambda: _ingest(self.desk.project.path, run_id), Change.ITEMS | Change.LABELS | Change.FLAGS
                              | Change.RUNS, self._ingested)
        else:
            report = store_runs.run(self.desk.project, run_id).report or {}
            self.status.setText(f"{status.value.capitalize()}: {report.get('error') or 'stopped'}"
                                f"{' — ' + report['hint'] if report.get('hint') else ''}\n"
                                f"{log_tail(store_runs.run_folder(self.desk.project, run_id), 3)}")
            self.desk.ops.changed.emit(Change.RUNS)
        self._buttons()
        self.check()

    def _ingested(self, counts: dict) -> None:
        self.status.setText(f"Done: {counts['items_added']} items added ({counts['already_items']} already there), "
                            f"{counts['duplicate_prompts']} prompts gave only near-duplicate answers and "
                            f"{counts['unfit_prompts']} empty or cut ones after resampling (no item); "
                            f"rules: {counts['rule_hits']} hits, {counts['held_back']} items held back from people.")

    def cancel(self) -> None:
        if self.running():
            request_stop(store_runs.run_folder(self.desk.project, self.watch.run_id))
            self.status.setText("Stopping after this batch…")

    def resume(self) -> None:
        if self.watch is None or self.running():
            return
        try:
            spec = generate.resume(self.desk.project, self.watch.run_id)
        except Exception as exc:  # noqa: BLE001 (shown in the panel)
            self.problems.setText(describe(exc))
            return
        self._launch(self.watch.run_id, spec, resumed=True)

    def _buttons(self) -> None:
        going = self.running()
        self.cancel_button.setEnabled(going)
        self.resume_button.setEnabled(self.watch is not None and not going
                                      and self.watch.status in (RunStatus.CANCELLED, RunStatus.FAILED))

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.timer.stop()  # a run goes on; reopening the panel or `prefdesk runs` settles it
        super().closeEvent(event)
