"""The File menu: new, open, recent, import (off the GUI thread, with progress and the error list), export."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMainWindow, QMessageBox, QProgressDialog

from prefdesk.formats.errors import ImportRefused
from prefdesk.formats.export import export_dataset
from prefdesk.formats.importer import import_file
from prefdesk.quality.aggregate import Policy
from prefdesk.store.project import Project
from prefdesk.ui.worker import run_in_background

EXPORT_FORMATS = ("trl-preference", "trl-stepwise", "scalar", "seed")


def remember(path: Path) -> None:
    """Put a project at the top of the recent list and make it the one `prefdesk` opens next."""
    settings = QSettings()
    recent = [p for p in (settings.value("recent_projects") or []) if p != str(path)]
    settings.setValue("recent_projects", [str(path), *recent][:8])
    settings.setValue("last_project", str(path))


class _Progress(QObject):
    moved = Signal(int, int)


class FileMenu:
    """Builds the File menu on a window that has `project` and `open_project(path)`."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        menu = window.menuBar().addMenu("&File")
        window.menuBar().insertMenu(window.menuBar().actions()[0], menu)
        menu.addAction("New project…", QKeySequence.New, self.new_project)
        menu.addAction("Open project…", QKeySequence.Open, self.open_project)
        self.recent = menu.addMenu("Open recent")
        self.recent.aboutToShow.connect(self._fill_recent)
        menu.addSeparator()
        menu.addAction("Import file…", QKeySequence("Ctrl+I"), self.import_dialog)
        menu.addAction("Export…", QKeySequence("Ctrl+E"), self.export_dialog)
        self.last_error: str | None = None

    def _fill_recent(self) -> None:
        self.recent.clear()
        for path in QSettings().value("recent_projects") or []:
            self.recent.addAction(path, lambda p=path: self.window.open_project(Path(p)))

    def new_project(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "New project", "", "PrefDesk projects (*.prefdesk)")
        if path:
            path = Path(path if path.endswith(".prefdesk") else path + ".prefdesk")
            Project.create(path).close()
            self.window.open_project(path)

    def open_project(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project", "", "PrefDesk projects (*.prefdesk)")
        if path:
            self.window.open_project(Path(path))

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import", "", "Data (*.jsonl *.json *.csv *.parquet)")
        if path:
            self.import_path(Path(path))

    def import_path(self, path: Path, format_name: str | None = None) -> None:
        """Import in a worker with its own connection; the window keeps painting. Errors are listed."""
        project_path = self.window.project.path
        dialog = QProgressDialog(f"Importing {path.name}…", None, 0, 1000, self.window)
        dialog.setMinimumDuration(300)
        progress = _Progress()
        progress.moved.connect(lambda done, total: dialog.setValue(int(1000 * done / max(total, 1))))

        def work():
            with Project.open(project_path) as project:
                return import_file(project, path, format_name, progress=progress.moved.emit)

        def done(report) -> None:
            dialog.close()
            self.window.statusBar().showMessage(report.summary(), 10000)
            self.window.after_import()

        def failed(message: str) -> None:
            dialog.close()
            self.last_error = message
            QMessageBox.warning(self.window, "Import refused", message)

        self._job = run_in_background(work, done, failed, expected=(ImportRefused,))

    def export_dialog(self) -> None:
        fmt, ok = QInputDialog.getItem(self.window, "Export", "Format", EXPORT_FORMATS, 0, False)
        if not ok:
            return
        folder = QFileDialog.getExistingDirectory(self.window, "Export to folder")
        if folder:
            project_path = self.window.project.path

            def work():
                with Project.open(project_path) as project:
                    return export_dataset(project, fmt, folder, Policy("majority"))

            self._job = run_in_background(work, lambda r: QMessageBox.information(self.window, "Exported", r.summary()),
                                          lambda m: QMessageBox.warning(self.window, "Export failed", m))
