"""Run inside Xvfb by test_desk_x11.py: open the desk on a project (QT_QPA_PLATFORM=xcb) and type the given
keys with xdotool, which sends real X11 key events (Shift+2 arrives as `@` with Shift held), then quit.

    python tests/x11_session.py PROJECT RATER SCREENSHOT.png KEY [KEY ...]

A KEY may also be `type:TEXT` (typed character by character), `focus:PANEL` (the X input focus given to
a panel's window, as a window manager gives it to a window that opens; a bare Xvfb has none), `wait:MS`, or
`shot:NAME` (a screenshot beside SCREENSHOT, and a `SCROLL NAME` line: where the prompt and the answers are
scrolled, as value/maximum, and the prompt's share of the height). `X11_SIZE=1280x800` sizes the window.
"""

import os

import subprocess
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from prefdesk.store.project import Project
from prefdesk.ui.desk.window import MainWindow

PANELS = ("train_panel", "quality_panel", "arbitration_panel", "versions_panel", "items_panel", "generate_panel",
          "evaluate_panel", "feedback_panel")


def answer_panes(view) -> list:
    """The panes of the answers (or the response, or the steps) of a view, left to right."""
    for names in (("left", "right"), ("response",), ("steps",), ("browsers",)):
        if all(hasattr(view, n) for n in names):
            panes = [getattr(view, n) for n in names]
            return panes[0] if names == ("browsers",) else panes
    return []


def main() -> int:
    project_path, rater, screenshot, *keys = sys.argv[1:]
    app = QApplication(sys.argv[:1])
    project = Project.open(project_path)
    window = MainWindow(project, project.ensure_rater(rater))
    if os.environ.get("X11_SIZE"):
        window.resize(*(int(n) for n in os.environ["X11_SIZE"].split("x")))
    window.show()
    pending = list(keys)

    def scrolled(name: str) -> None:
        window.grab().save(screenshot.replace(".png", f"-{name}.png"))
        view = window.current_view()
        bars = [view.prompt.browser.verticalScrollBar()] + [b.verticalScrollBar() for b in answer_panes(view)]
        sizes = view.split.sizes()
        print("SCROLL", name, " ".join(f"{b.value()}/{b.maximum()}" for b in bars),
              f"prompt-share={sizes[0] / sum(sizes):.2f}", flush=True)

    def step() -> None:
        if not pending:
            window.grab().save(screenshot)
            area = window.screen().availableGeometry()
            print("FITS", window.width() <= area.width() and window.height() <= area.height(),
                  window.width(), window.height(), area.width(), area.height(), flush=True)
            for name in PANELS:
                panel = getattr(window, name)
                if panel is not None:  # opened by a key
                    if name == "items_panel":
                        print("ITEMS ROWS", panel.model.rowCount(), repr(panel.search.text()), flush=True)
                    if name == "generate_panel":
                        print("GENERATE MODEL", repr(panel.model.text()), panel.start_button.isEnabled(),
                              repr(panel.model_info.text()), flush=True)
                    if name == "evaluate_panel":
                        print("EVALUATE", repr(panel.policy_folder.text()), repr(panel.reference.text()),
                              repr(panel.judge_model.text()), panel.start_button.isEnabled(),
                              repr(panel.problems.text()), flush=True)
                    if name == "feedback_panel":
                        print("FEEDBACK ROWS", panel.table.rowCount(), repr(panel.rate.currentText()),
                              repr(panel.period.currentText()), flush=True)
                    panel.grab().save(screenshot.replace(".png", f"-{name.split('_')[0]}.png"))
                    print("PANEL FITS", name, panel.isVisible() and panel.width() <= area.width()
                          and panel.height() <= area.height(), panel.width(), panel.height(), flush=True)
                    panel.close()
            window.close()
            app.quit()
            return
        key = pending.pop(0)
        if key.startswith("type:"):
            subprocess.run(["xdotool", "type", "--delay", "30", key[5:]], check=True)
        elif key.startswith("shot:"):
            scrolled(key[5:])
        elif key.startswith("wait:"):
            QTimer.singleShot(int(key[5:]), step)
            return
        elif key.startswith("focus:"):
            subprocess.run(["xdotool", "windowfocus", "--sync", str(int(getattr(window, key[6:]).winId()))], check=True)
        else:
            subprocess.run(["xdotool", "key", "--delay", "30", key], check=True)
        QTimer.singleShot(150, step)

    def start() -> None:
        # no window manager under a bare Xvfb: give the window the X input focus ourselves
        subprocess.run(["xdotool", "windowfocus", "--sync", str(int(window.winId()))], check=True)
        QTimer.singleShot(300, step)

    QTimer.singleShot(500, start)
    code = app.exec()
    project.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
