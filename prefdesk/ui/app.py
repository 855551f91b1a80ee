"""Start the desk: pick the project (given, last, or the demo) and the rater, then show the window."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QInputDialog

from prefdesk.store.project import Project


def run_desk(project_path: str | None, rater_name: str | None) -> int:
    """Open the desk; returns the application's exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("PrefDesk")
    app.setOrganizationName("PrefDesk")
    settings = QSettings()
    if project_path is None:
        last = settings.value("last_project")
        if last and Path(last).exists():
            project_path = last
        else:
            from prefdesk.demo import ensure_demo

            project_path = str(ensure_demo())
    project = Project.open(project_path)
    settings.setValue("last_project", str(Path(project_path).resolve()))
    if not rater_name:
        names = [r.name for r in project.raters() if r.role.value in ("expert", "annotator", "reviewer")]
        rater_name, ok = QInputDialog.getItem(None, "PrefDesk", "Rater (type a new name to add one):", names or ["me"], 0, True)
        if not ok or not rater_name.strip():
            return 1
    from prefdesk.ui.main_window import MainWindow

    window = MainWindow(project, project.ensure_rater(rater_name.strip()))
    window.show()
    return app.exec()
