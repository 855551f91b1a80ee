"""The File menu's actions: new, open, recent, import and export (off the GUI thread, with progress and
the error list), preferences, quit. Handlers take the desk window.

The importers and exporters are imported when first used: together they cost ~65 ms of the desk's start.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QLineEdit, QMenu, QMessageBox,
                               QProgressDialog, QWidget)

from prefdesk.store.project import Project
from prefdesk.ui.actions import GLOBAL, action
from prefdesk.ui.forms import browse_row, dialog_buttons
from prefdesk.ui.operations import Change
from prefdesk.ui.worker import describe
from prefdesk.ui import forms


def remember(path: Path) -> None:
    """Put a project at the top of the recent list and make it the one `prefdesk` opens next."""
    settings = QSettings()
    recent = [p for p in (settings.value("recent_projects") or []) if p != str(path)]
    settings.setValue("recent_projects", [str(path), *recent][:8])
    settings.setValue("last_project", str(path))


def recent_menu(window) -> QMenu:
    menu = QMenu("Open &recent", window)

    def fill() -> None:
        menu.clear()
        for path in QSettings().value("recent_projects") or []:
            menu.addAction(path, lambda p=path: window.open_project(Path(p)))
    menu.aboutToShow.connect(fill)
    return menu


@action("new_project", GLOBAL, "Ctrl+N", "New project…", menu="&File")
def new_project(window) -> None:
    path, _ = QFileDialog.getSaveFileName(window, "New project", str(window.project.path.parent),
                                          "PrefDesk projects (*.prefdesk)")
    if path:
        path = Path(path if path.endswith(".prefdesk") else path + ".prefdesk")
        try:
            Project.create(path).close()
        except Exception as exc:  # noqa: BLE001 (shown to the person who chose the name)
            forms.tell(window, "New project", describe(exc))
            return
        window.open_project(path)


@action("open_project", GLOBAL, "Ctrl+O", "Open project…", menu="&File")
def open_project(window) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Open project", str(window.project.path.parent),
                                          "PrefDesk projects (*.prefdesk)")
    if path:
        window.open_project(Path(path))


class _Progress(QObject):
    moved = Signal(int, int)


class ImportDialog(QDialog):
    """The CLI's import options: the file, its format (or detected), a column mapping, skip bad records."""

    def __init__(self, parent: QWidget, start: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import")
        self.path = QLineEdit()
        row = browse_row(self.path, lambda current: QFileDialog.getOpenFileName(
            self, "Import", current or start, "Data (*.jsonl *.json *.csv *.parquet)")[0])
        from prefdesk.formats.registry import BY_NAME

        self.format = QComboBox()
        self.format.addItems(["detect from the first record", *BY_NAME])
        self.mapping = QLineEdit()
        self.mapping.setPlaceholderText("TARGET=COLUMN …  e.g. prompt=question response_a=left")
        self.skip_bad = QCheckBox("Import the good records; write the bad ones to FILE.rejects.jsonl")
        form = QFormLayout(self)
        form.addRow("File", row)
        form.addRow("Format", self.format)
        form.addRow("Column mapping", self.mapping)
        form.addRow("", self.skip_bad)
        form.addRow(dialog_buttons(self))

    def format_name(self) -> str | None:
        return self.format.currentText() if self.format.currentIndex() > 0 else None


@action("import", GLOBAL, "Ctrl+I", "Import a file…", menu="&File")
def import_dialog(window) -> None:
    from prefdesk.domain.key_values import words
    from prefdesk.formats.importer import parse_mapping

    dialog = ImportDialog(window, str(window.project.path.parent))
    if dialog.exec() and dialog.path.text().strip():
        try:
            mapping = parse_mapping(words(dialog.mapping.text(), "Columns"))
        except ValueError as exc:
            forms.tell(window, "Import", str(exc))
            return
        import_path(window, Path(dialog.path.text().strip()), dialog.format_name(), dialog.skip_bad.isChecked(), mapping)


def import_path(window, path: Path, format_name: str | None = None, skip_bad: bool = False,
                mapping: dict[str, str] | None = None) -> None:
    """Import in the background with its own connection; the window keeps painting. Errors are listed."""
    from prefdesk.formats.errors import ImportRefused
    from prefdesk.formats.importer import import_file

    project_path = window.project.path
    dialog = QProgressDialog(f"Importing {path.name}…", None, 0, 1000, window)
    dialog.setMinimumDuration(300)
    progress = _Progress()
    progress.moved.connect(lambda done, total: dialog.setValue(int(1000 * done / max(total, 1))))

    def work():
        with Project.open(project_path) as project:
            return import_file(project, path, format_name, skip_bad, mapping, progress=progress.moved.emit)

    def done(report) -> None:
        dialog.close()
        window.statusBar().showMessage(report.summary(), 10000)

    def failed(exc: Exception) -> None:
        dialog.close()
        forms.tell(window, "Import refused" if isinstance(exc, ImportRefused) else "Import failed",
                            describe(exc))

    window.ops.run(work, Change.ITEMS | Change.LABELS, done, failed)


class ExportDialog(QDialog):
    """Every export format and aggregation policy; the folder starts beside the project."""

    def __init__(self, parent: QWidget, start: Path) -> None:
        super().__init__(parent)
        from prefdesk.formats.export_rows import EXPORT_FORMATS
        from prefdesk.domain.policies import POLICY_NAMES

        self.setWindowTitle("Export")
        self.format = QComboBox()
        self.format.addItems(EXPORT_FORMATS)
        self.aggregate = QComboBox()
        self.aggregate.addItems(POLICY_NAMES)
        self.conversational = QCheckBox("Prompt and responses as chat messages (trl-preference)")
        self.folder = QLineEdit(str(start))
        row = browse_row(self.folder, lambda current: QFileDialog.getExistingDirectory(self, "Export to folder", current))
        form = QFormLayout(self)
        form.addRow("Format", self.format)
        form.addRow("Aggregation", self.aggregate)
        form.addRow("", self.conversational)
        form.addRow("Folder", row)
        self.split = forms.SplitOptions(form)
        form.addRow(dialog_buttons(self))


@action("export", GLOBAL, "Ctrl+E", "Export…", menu="&File")
def export_dialog(window) -> None:
    from prefdesk.formats.export import export_dataset
    from prefdesk.quality.export_policy import export_policy

    project_path = window.project.path
    dialog = ExportDialog(window, project_path.parent / f"{project_path.stem}-export")
    if not dialog.exec() or not dialog.folder.text().strip():
        return
    fmt, folder = dialog.format.currentText(), dialog.folder.text().strip()
    policy, conversational = dialog.aggregate.currentText(), dialog.conversational.isChecked()
    split = dialog.split.chosen()

    def work():
        with Project.open(project_path) as project:
            return export_dataset(project, fmt, folder, export_policy(project, aggregate=policy), conversational,
                                  **split)

    window.ops.run(work, Change(0), lambda r: forms.tell(window, "Exported", r.summary(), QMessageBox.Information),
                   lambda exc: forms.tell(window, "Export failed", describe(exc)))


@action("merge", GLOBAL, "Ctrl+Shift+M", "Merge raters' project files into this one…", menu="&File")
def merge_dialog(window) -> None:
    """Merge rater files (from `prefdesk split`, or made apart) in the background; then what came in and
    every conflict, which the lead resolves (nothing was overwritten)."""
    paths, _ = QFileDialog.getOpenFileNames(window, "Merge raters' project files", str(window.project.path.parent),
                                            "PrefDesk projects (*.prefdesk)")
    if paths:
        merge_paths(window, [Path(p) for p in paths])


def merge_paths(window, paths: list[Path]) -> None:
    from prefdesk.store.merge import merge, merge_summary

    project_path = window.project.path

    def work():
        with Project.open(project_path) as project:
            return merge(project, paths)

    def done(out: dict) -> None:
        window.merged = out
        forms.tell(window, "Merged", merge_summary(out), QMessageBox.Information)

    window.ops.run(work, Change.ITEMS | Change.LABELS | Change.SETTINGS, done,
                   lambda exc: forms.tell(window, "Merge refused", describe(exc)))


@action("preferences", GLOBAL, "Ctrl+,", "Preferences: keys and theme…", menu="&File")
def preferences(window) -> None:
    from prefdesk.ui.desk.dialogs import Preferences
    from prefdesk.ui.theme import apply_theme

    dialog = Preferences(window, window.bindings)
    if dialog.exec():
        window.set_bindings(dialog.bindings)
        apply_theme(dialog.theme)
        if window.item is not None:
            window.show_item(window.item, window.draft)  # repaint the texts in the new palette's colours


@action("quit", GLOBAL, "Ctrl+Q", "Quit", menu="&File")
def quit_desk(window) -> None:
    window.close()
