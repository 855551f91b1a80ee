"""The Qt binding must not corrupt reference counts: PySide6 6.12.0 on Python 3.11 dropped a reference to
None on every call of a method returning void, and the desk aborted after a few thousand labels."""

import sys

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel


def test_void_qt_calls_keep_none_alive(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    action = QAction("x", label)
    before = sys.getrefcount(None)
    for _ in range(500):
        action.setEnabled(True)
        label.setText("x")
    assert sys.getrefcount(None) >= before - 10
