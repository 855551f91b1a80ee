"""The Generate panel's judge: pre-label the project's pairs with a model judge, as `prefdesk judge` does — a
finished reward run, or an LLM judge (a model folder, a template versioned in the project, K readings in both
orders). It runs as a project operation off the GUI thread, on a connection of its own, and what it wrote is
announced on the one change signal. Its labels are the weak layer: never on gold items, never a rater of an
item, never shown to annotators."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QLabel, QLineEdit,
                               QPushButton, QSpinBox)

from prefdesk.store import runs as store_runs
from prefdesk.ui.forms import browse_row, compact
from prefdesk.ui.operations import Change
from prefdesk.ui.worker import describe
from training.gen_spec import model_folder_problems
from training.protocol import RunStatus


def _judge(path: Path, choices: dict, python: str | None):
    """The judge run, on a connection of its own (an operation off the GUI thread); its report."""
    from prefdesk.jobs import judge
    from prefdesk.domain.key_values import words
    from prefdesk.store.project import Project, ProjectError
    from prefdesk.store.versions import parse_filters

    with Project.open(path) as project:
        where = parse_filters(words(choices["where"], "Only items", ProjectError))
        if choices["kind"] == "reward":
            return judge.rm_judge(project, choices["run"], where, python=python)
        return judge.llm_judge(project, choices["model"], template_name=choices["template"], samples=choices["samples"],
                               temperature=choices["temperature"], where=where, python=python)


class JudgeBox(QGroupBox):
    def __init__(self, desk) -> None:
        super().__init__("Pre-label the pairs with a model judge (the weak layer: never shown to annotators)")
        self.desk = desk
        form = QFormLayout(self)
        self.kind = QComboBox()
        self.kind.addItem("a finished reward run", "reward")
        self.kind.addItem("an LLM judge (a model folder)", "llm")
        form.addRow("Judge", self.kind)
        self.run = QComboBox()
        self.run.setPlaceholderText("no finished reward run yet")
        form.addRow("Reward run", self.run)
        self.model = QLineEdit()
        self.model.setPlaceholderText("a local causal LM folder")
        form.addRow("Judge model", browse_row(self.model, lambda cur: QFileDialog.getExistingDirectory(self, "Judge", cur)))
        self.template = QLineEdit("default")
        form.addRow("Template", self.template)
        self.samples = QSpinBox()
        self.samples.setRange(1, 16)
        form.addRow("Readings per order", self.samples)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        form.addRow("Temperature", self.temperature)
        self.where = QLineEdit()
        self.where.setPlaceholderText("optional: risk_level=low bucket=general")
        form.addRow("Only items", self.where)
        self.button = QPushButton("Judge the pairs")
        self.button.clicked.connect(self.start)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.PlainText)
        form.addRow(self.button)
        form.addRow(self.status)
        for widget in (self.kind, self.run):
            widget.currentIndexChanged.connect(self.check)
            compact(widget)
        for widget in (self.model, self.where):
            widget.textChanged.connect(self.check)
        self.samples.valueChanged.connect(self.check)
        self.temperature.valueChanged.connect(self.check)
        self.busy = False
        self.refresh()

    def refresh(self) -> None:
        current = self.run.currentData()
        self.run.clear()
        for run in reversed(store_runs.runs(self.desk.project)):
            if run.kind in ("reward", "reward-dims") and run.status == RunStatus.FINISHED:
                self.run.addItem(f"{run.kind} {run.id[-8:]} ({run.started_at[:16]})", run.id)
        if current is not None and (i := self.run.findData(current)) >= 0:
            self.run.setCurrentIndex(i)
        self.check()

    def choices(self) -> dict:
        return {"kind": self.kind.currentData(), "run": self.run.currentData(), "model": self.model.text().strip(),
                "template": self.template.text().strip() or "default", "samples": self.samples.value(),
                "temperature": round(self.temperature.value(), 4), "where": self.where.text().strip() or None}

    def check(self) -> list[str]:
        c = self.choices()
        llm = c["kind"] == "llm"
        for widget in (self.model, self.template, self.samples, self.temperature):
            widget.setEnabled(llm)
        self.run.setEnabled(not llm)
        problems = []
        if not llm and c["run"] is None:
            problems.append("train a reward model first (Project › Train), or use an LLM judge")
        if llm:
            problems += model_folder_problems(c["model"]) if c["model"] else ["choose the judge model's folder"]
            if c["samples"] > 1 and c["temperature"] <= 0:
                problems.append("several readings need a temperature above 0")
        if self.busy:
            problems.append("judging…")
        self.button.setEnabled(not problems)
        if problems and not self.busy:
            self.status.setText("\n".join(f"• {p}" for p in problems))
        return problems

    def start(self) -> None:
        if self.check():
            return
        self.busy = True
        self.status.setText("Judging: the job reads every pair in both orders…")
        self.check()
        choices, path, python = self.choices(), self.desk.project.path, self.desk.train_python()
        self.desk.ops.run(lambda: _judge(path, choices, python), Change.LABELS | Change.ITEMS | Change.RUNS,
                          self._done, self._failed)

    def _done(self, report) -> None:
        self.busy = False
        self.status.setText(report.summary())
        self.check()
        self.status.setText(report.summary())

    def _failed(self, exc: Exception) -> None:
        self.busy = False
        self.check()
        self.status.setText(f"The judge did not run: {describe(exc)}")
