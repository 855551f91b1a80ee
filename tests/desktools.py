"""Helpers for the desk tests: data files, the window on a real project, keys as a keyboard sends them."""

import json


def write_jsonl(folder, records, name="items.jsonl"):
    path = folder / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def pairs(n, **extra):
    return [{"prompt": f"q{i}", "response_a": f"a{i}", "response_b": f"b{i}", **extra} for i in range(n)]


def shown(qtbot, window, before_close=None):
    """The desk window shown, exposed and active (keys reach it), closed with the test (after
    `before_close(window)` when given)."""
    qtbot.addWidget(window, before_close_func=before_close)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window


def press(qtbot, window, *keys):
    """Key clicks on the window, each a key or (key, modifiers), as Qt gets them from a keyboard."""
    from PySide6.QtCore import Qt

    for key in keys:
        key, mod = key if isinstance(key, tuple) else (key, Qt.NoModifier)
        qtbot.keyClick(window.windowHandle(), key, mod)


def stored(project, sql="SELECT payload FROM labels ORDER BY rowid"):
    """The payloads of the labels in the project file, oldest first."""
    return [json.loads(p) for (p,) in project.conn.execute(sql)]
