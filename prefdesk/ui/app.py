"""Start the desk: pick the project (given, last, or the demo) and the rater, then show the window."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from prefdesk.domain import RaterRole
from prefdesk.store.project import Project, ProjectError
from prefdesk.ui import forms


def run_desk(project_path: str | None, rater_name: str | None, quit_after_ms: int | None = None) -> int:
    """Open the desk; returns the application's exit code. `quit_after_ms` is for smoke runs."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("PrefDesk")
    app.setOrganizationName("PrefDesk")
    from prefdesk.ui.theme import apply_theme

    apply_theme()
    if project_path is None:
        last = QSettings().value("last_project")
        if last and Path(last).exists():
            project_path = last
        else:
            from prefdesk.demo import ensure_demo

            project_path = str(ensure_demo())
    try:
        project = Project.open(project_path)
    except ProjectError as exc:
        forms.tell(None, "PrefDesk", str(exc), QMessageBox.Critical)
        return 2
    from prefdesk.ui.file_menu import remember

    remember(Path(project_path).resolve())
    if rater_name:
        rater = project.ensure_rater(rater_name.strip())
    else:
        from prefdesk.ui.dialogs import RaterDialog

        names = [r.name for r in project.raters() if r.role in (RaterRole.EXPERT, RaterRole.ANNOTATOR, RaterRole.REVIEWER)]
        dialog = RaterDialog(names)
        if not dialog.exec() or not dialog.name.currentText().strip():
            return 1
        rater = project.ensure_rater(dialog.name.currentText().strip(), RaterRole(dialog.role.currentText()),
                                     dialog.level.text() or None)
    from prefdesk.ui.main_window import MainWindow

    window = MainWindow(project, rater)
    window.show()
    if quit_after_ms is not None:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(quit_after_ms, app.quit)
    return app.exec()
