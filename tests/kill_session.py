"""A rater's session for the kill -9 test (test_hardening.py): the desk offscreen labels items as fast as it
can and prints the id of each label it acknowledged (written, or held on disk while the file was busy).

    python tests/kill_session.py PROJECT RATER
"""

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from prefdesk.store.project import Project  # noqa: E402
from prefdesk.ui.desk.window import MainWindow  # noqa: E402


def main() -> int:
    app = QApplication(sys.argv[:1])
    project = Project.open(sys.argv[1])
    window = MainWindow(project, project.ensure_rater(sys.argv[2]))
    n = 0
    while window.item is not None:
        window.run_named("left_better" if n % 2 else "right_clearly")
        print(window.work.last_label.id, flush=True)
        n += 1
        app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
