"""The Train panel's setup: which job, on which labels (a policy or a frozen version), on which device, with
which settings; the rows it would see, counted off the GUI thread and again as labels arrive; starting it as a
detached process (the one place a job's command and environment are put together for the desk)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QIODevice, QProcess, QProcessEnvironment, Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QLabel,
                               QLineEdit, QPushButton, QSpinBox)

from prefdesk.jobs import KINDS, plan, train
from prefdesk.jobs.runtime import INSTALL_HINT, NoRuntime
from prefdesk.jobs.watch import EVENTS_FILE, LOG_FILE, mark_launch
from prefdesk.domain.policies import POLICY_NAMES
from prefdesk.quality.export_policy import export_policy
from prefdesk.store import runs as store_runs
from prefdesk.ui.forms import browse_row
from prefdesk.ui.worker import describe, run_in_background
from training.protocol import RunStatus


JOB_NAMES = {"reward": "Reward model (one head)", "reward-dims": "Reward model, a head per dimension",
             "dpo": "DPO (LoRA)", "kto": "KTO (LoRA; each answer of a pair on its own)",
             "prm": "Process reward model (PRM)"}
JOB_NICE = 10  # the job yields the CPU to the desk: keys stay fast while it trains


def default_threads() -> int:
    """CPU threads a job gets by default: every core but one, which stays with the desk so keys stay fast."""
    return max(1, (os.cpu_count() or 2) - 1)


def job_process(parent, command: list[str], events: Path | None = None, log: Path | None = None,
                threads: int | None = None) -> QProcess:
    """A job (training or scoring) as a process of the desk, in the environment `jobs.train.job_env` gives the
    CLI's jobs too, with a CPU thread budget and a lower priority so keys stay fast."""
    proc = QProcess(parent)
    proc.setProgram(command[0])
    proc.setArguments(command[1:])
    env = QProcessEnvironment()
    for key, value in train.job_env(threads or default_threads(), JOB_NICE).items():
        env.insert(key, value)
    proc.setProcessEnvironment(env)
    if events is not None:
        proc.setStandardOutputFile(str(events), QIODevice.Append)
        proc.setStandardErrorFile(str(log), QIODevice.Append)
    return proc


def _dry_export(path: Path, fmt: str, what: str, name: str) -> tuple[int, dict]:
    """How many rows an export would give (under a policy, or of a version), and what it would leave out
    (a connection of its own; it only reads)."""
    from prefdesk.formats.export import export_dataset
    from prefdesk.store import versions
    from prefdesk.store.project import Project

    with tempfile.TemporaryDirectory(prefix="prefdesk-count-") as tmp, Project.open(path) as project:
        version = versions.get(project, name) if what == "version" else None
        policy = export_policy(project, version, None if version else name)
        done = export_dataset(project, fmt, Path(tmp) / "out", policy, workers=0, version=version)
    return done.written, dict(done.left_out)


class SetupPart:
    """The setup column of `TrainPanel` (a part of it: the panel holds the state)."""

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
        self.bundle_button = QPushButton("Write a &bundle for a cluster…")  # prefdesk train --bundle
        self.bundle_button.setToolTip("This run as a folder that trains on another machine or a SLURM cluster "
                                      "(accelerate, DeepSpeed, FSDP); no training runtime needed here")
        self.bundle_button.clicked.connect(self.write_bundle)
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
        form.addRow(self.bundle_button)
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
        if self.watch is not None and self.watch.status == RunStatus.RUNNING:
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
        proc = job_process(self, train.job_command(spec_path, self.desk.train_python()), folder / EVENTS_FILE,
                            folder / LOG_FILE, self.threads.value())
        if not proc.startDetached():
            store_runs.finish_run(self.desk.project, run_id, "failed",
                                  {"error": f"could not start {proc.program()}", "hint": INSTALL_HINT})
        self.attach(run_id)
        self.refresh_history()
