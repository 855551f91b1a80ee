"""A rater's desk for the ledger soak (tests/soak.py): the real window, offscreen, driven by key events as a
keyboard sends them, with panels opened and closed on the way. Every label the desk acknowledges (written,
or held on disk while the file was busy) is appended to the ledger, fsynced, before the next key.

    python tests/soak_desk.py PROJECT RATER LEDGER SEED COUNT
"""

import json
import os
import random
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from prefdesk.domain import RaterRole  # noqa: E402
from prefdesk.store.project import Project  # noqa: E402
from prefdesk.ui.desk.window import MainWindow  # noqa: E402

NONE, SHIFT = Qt.NoModifier, Qt.ShiftModifier
VERDICT_KEYS = [(Qt.Key_1, NONE), (Qt.Key_2, NONE), (Qt.Key_T, NONE), (Qt.Key_B, NONE), (Qt.Key_Left, NONE),
                (Qt.Key_Exclam, SHIFT), (Qt.Key_At, SHIFT), (Qt.Key_Right, SHIFT)]  # Shift+1 arrives as "!"
PANEL_KEYS = [(Qt.Key_Q, Qt.ControlModifier | Qt.ShiftModifier), (Qt.Key_V, Qt.ControlModifier | Qt.ShiftModifier),
              (Qt.Key_T, Qt.ControlModifier), (Qt.Key_I, Qt.ControlModifier | Qt.ShiftModifier)]


def ledger_line(path: str, label) -> bytes:
    return (json.dumps({"file": path, "id": label.id, "item_id": label.item_id, "rater_id": label.rater_id,
                        "kind": label.kind.value, "payload": label.payload, "guideline_version": label.guideline_version,
                        "display_order": list(label.display_order) if label.display_order else None,
                        "supersedes": label.supersedes, "source": label.source.value}) + "\n").encode()


def answer_dialog(dialog) -> None:
    """Answer as a rater going on with the day: the accepting button (a run left running), else Esc."""
    if dialog is not None:
        text = getattr(dialog, "text", lambda: "")()
        print(f"dialog: {dialog.windowTitle()}: {text}", file=sys.stderr, flush=True)
        accept = [b for b in getattr(dialog, "buttons", list)() if dialog.buttonRole(b) == QMessageBox.AcceptRole]
        if accept:
            accept[0].click()
        else:
            dialog.reject()


def main() -> int:
    path, rater, ledger, seed, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    rng = random.Random(seed)
    app = QApplication(sys.argv[:1])
    project = Project.open(path)
    window = MainWindow(project, project.ensure_rater(rater, RaterRole.EXPERT if rater == "lena" else RaterRole.ANNOTATOR))
    window.show()
    window.activateWindow()
    app.processEvents()
    out = os.open(ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    answer = QTimer()  # a rater answers a dialog (Esc); what it said goes to stderr for the soak's report
    answer.timeout.connect(lambda: answer_dialog(QApplication.activeModalWidget()))
    answer.start(100)
    last = None
    for _ in range(count):
        if window.item is None:
            break
        roll = rng.random()
        if roll < 0.08:  # a panel opened (it opens the project again in this process), then closed
            key, mods = rng.choice(PANEL_KEYS)
            QTest.keyClick(window.windowHandle(), key, mods)
            if window.items_panel is not None and rng.random() < 0.6:  # a search: the index is written meanwhile
                window.items_panel.search.setText(rng.choice(["prompt", "answer", "the", "a b"]))
            for _ in range(rng.randint(1, 20)):
                app.processEvents()
            for widget in QApplication.topLevelWidgets():
                if widget is not window and widget.isVisible() and rng.random() < 0.7:
                    widget.close()
            window.activateWindow()
        elif roll < 0.14:  # back to the previous label (the next verdict supersedes it)
            QTest.keyClick(window.windowHandle(), Qt.Key_Backspace)
        else:
            QTest.keyClick(window.windowHandle(), *rng.choice(VERDICT_KEYS))
        app.processEvents()
        if window.work.last_label is not None and window.work.last_label is not last:
            last = window.work.last_label
            os.write(out, ledger_line(path, last))
            os.fsync(out)
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
