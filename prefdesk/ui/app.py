"""Start the desk: pick the project (given, last, or the demo) and the rater, then show the window."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from prefdesk.domain import RaterRole, roles
from prefdesk.store.project import Project, ProjectBusy, ProjectError
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
        return _open_and_run(app, project_path, rater_name, quit_after_ms)
    except ProjectBusy as exc:  # a merge or large import holds the file for longer than the busy timeout
        forms.tell(None, "PrefDesk", f"{project_path} is busy: another program (a merge or an import) is writing it. "
                   f"Open it again when that is done.\n\n({exc})", QMessageBox.Critical)
        return 2
    except ProjectError as exc:
        forms.tell(None, "PrefDesk", str(exc), QMessageBox.Critical)
        return 2


def _open_and_run(app, project_path: str, rater_name: str | None, quit_after_ms: int | None) -> int:
    project = Project.open(project_path)
    try:
        window = _window(project, project_path, rater_name)
    except BaseException:
        project.close()
        raise
    if window is None:
        project.close()
        return 1
    window.show()
    if quit_after_ms is not None:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(quit_after_ms, app.quit)
    return app.exec()


def _window(project: Project, project_path: str, rater_name: str | None):
    """The desk window for the rater named, or chosen in the rater dialog (None: the dialog was cancelled)."""
    from prefdesk.ui.desk.file_menu import remember

    remember(Path(project_path).resolve())
    people = [r for r in project.raters() if r.role in roles.PEOPLE]
    if rater_name:
        name, role, level = rater_name.strip(), RaterRole.ANNOTATOR, None
    else:
        from prefdesk.ui.desk.dialogs import RaterDialog

        # a new rater names their own role only while the project has no lead: after that, a lead gives roles
        dialog = RaterDialog([r.name for r in people], choose_role=not any(r.role in roles.LEADS for r in people))
        if not dialog.exec() or not dialog.name.currentText().strip():
            return None
        name, role = dialog.name.currentText().strip(), RaterRole(dialog.role.currentText())
        level = dialog.level.text() or None
    new = project.rater(name) is None
    rater = project.ensure_rater(name, role, level)
    from prefdesk.ui.desk.window import MainWindow

    window = MainWindow(project, rater)
    if new:
        window.statusBar().showMessage(f"{name} joined this project as {rater.role.value}. A reviewer or expert "
                                       "changes roles in Project › Items › Raters, or: prefdesk raters set-role", 0)
    return window
