"""The Train panel's way past one workstation: the run set up in the panel written as a bundle for a cluster
(`jobs.bundle.write_bundle`, as `prefdesk train --bundle`), and a finished bundle brought back
(`prefdesk runs import`). Both work on a connection of their own off the GUI thread (an export and a model's copy
can take a while); the history is read again when they end. No training runtime is needed on this machine."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QLabel, QLineEdit,
                               QSpinBox)

from prefdesk.jobs.topology import TOPOLOGIES, Topology
from prefdesk.store.project import Project
from prefdesk.ui.forms import browse_row
from prefdesk.ui.worker import describe, run_in_background

TOPOLOGY_NAMES = {"single": "one GPU", "multi-gpu": "several GPUs, one machine",
                  "multi-node": "several machines", "deepspeed-zero3": "DeepSpeed ZeRO-3 (large models)",
                  "fsdp": "FSDP (large models)"}


class BundleDialog(QDialog):
    """Where the bundle trains and where it is written; OK only when the topology can run."""

    def __init__(self, parent) -> None:
        super().__init__(parent)
        self.setWindowTitle("Write a bundle for a cluster")
        form = QFormLayout(self)
        self.topology = QComboBox()
        for name in TOPOLOGIES:
            self.topology.addItem(f"{name}: {TOPOLOGY_NAMES[name]}", name)
        self.machines = QSpinBox()
        self.machines.setRange(1, 4096)
        self.processes = QSpinBox()
        self.processes.setRange(1, 65536)
        self.processes.setToolTip("Processes on all machines together, one a GPU (accelerate's num_processes)")
        self.host = QLineEdit()
        self.host.setPlaceholderText("named by SLURM (sbatch), or give the first machine's address")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(29500)
        self.base_at = QLineEdit()
        self.base_at.setPlaceholderText("empty: the base model is copied into the bundle")
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("a new or empty folder")
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #d55e00;")
        self.problems.setTextFormat(Qt.PlainText)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("&Write bundle")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow("&Topology", self.topology)
        form.addRow("&Machines", self.machines)
        form.addRow("&Processes (all machines)", self.processes)
        form.addRow("First machine", self.host)
        form.addRow("Port", self.port)
        form.addRow("Base model there", self.base_at)
        form.addRow("Folder", browse_row(self.folder, lambda current: QFileDialog.getExistingDirectory(
            self, "Bundle folder (new or empty)", current)))
        form.addRow(self.problems)
        form.addRow(self.buttons)
        self.topology.currentIndexChanged.connect(self._defaults)
        for signal in (self.machines.valueChanged, self.processes.valueChanged, self.folder.textChanged):
            signal.connect(self.check)
        self._defaults()

    def _defaults(self) -> None:
        """A topology's usual shape: one process alone, 8 GPUs a machine, two machines for multi-node."""
        name = self.topology.currentData()
        machines = 2 if name == "multi-node" else 1
        self.machines.setValue(machines)
        self.processes.setValue(1 if name == "single" else 8 * machines)
        self.check()

    def chosen(self) -> Topology:
        return Topology(self.topology.currentData(), self.machines.value(), self.processes.value(),
                        self.host.text().strip() or None, self.port.value())

    def check(self) -> list[str]:
        problems = self.chosen().problems()
        folder = Path(self.folder.text().strip()) if self.folder.text().strip() else None
        if folder is None:
            problems.append("name the folder to write the bundle into")
        elif folder.is_file() or (folder.is_dir() and any(folder.iterdir())):
            problems.append(f"{folder} already holds files: name a new or empty folder")
        self.problems.setText("\n".join(f"• {p}" for p in problems))
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(not problems)
        return problems


class BundlePart:
    """The bundle buttons of `TrainPanel` (the panel holds the state)."""

    def write_bundle(self) -> BundleDialog | None:
        """Ask where the run set up in the panel trains, then write it there (its run recorded as bundled)."""
        dialog = BundleDialog(self)
        self.bundle_dialog = dialog  # a test drives it; a person sees it open
        dialog.accepted.connect(lambda: self._write_bundle(dialog))
        dialog.open()
        return dialog

    def _write_bundle(self, dialog: BundleDialog) -> None:
        from prefdesk.jobs.bundle import write_bundle

        choices, topology = self.spec_choices(), dialog.chosen()
        folder, base_at = Path(dialog.folder.text().strip()), dialog.base_at.text().strip() or None
        path = self.desk.project.path
        self.problems.setText("writing the bundle…")

        def work():
            with Project.open(path) as project:
                return write_bundle(project, choices["kind"], folder, topology, base_model=choices["base_model"],
                                    base_model_at=base_at, device="auto", aggregate=choices["aggregate"],
                                    hyper=choices["hyper"], version=choices["version"],
                                    eval_fraction=choices["eval_fraction"])

        def done(bundle) -> None:
            self.problems.setText(f"bundled as run {bundle.run_id[-8:]} in {bundle.folder} ({bundle.rows} rows): "
                                  "bash run.sh there, or sbatch slurm.sbatch; then Import a finished bundle")
            self.refresh_history()

        self.bundling = run_in_background(work, done, lambda exc: self.problems.setText(describe(exc)))

    def import_bundle(self, folder: str | None = None) -> None:
        """Bring a finished bundle's run back (`prefdesk runs import`): refused, with why, unless it is this
        project's bundle, its snapshot unchanged and its job finished."""
        from prefdesk.jobs.bundle import import_run

        folder = folder or QFileDialog.getExistingDirectory(self, "A finished bundle's folder")
        if not folder:
            return
        path = self.desk.project.path
        self.import_status.setText(f"importing {folder}…")

        def work():
            with Project.open(path) as project:
                return import_run(project, Path(folder))

        def done(imported) -> None:
            changed = "; its training code was edited there" if imported.code_changed else ""
            self.import_status.setText(f"run {imported.run.id[-8:]} imported from {folder}{changed}")
            self.refresh_history()

        self.importing = run_in_background(work, done, lambda exc: self.import_status.setText(describe(exc)))
