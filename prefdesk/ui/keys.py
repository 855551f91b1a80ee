"""Keys to actions, for one window: an application event filter, as qutebrowser's key parser is.

Qt's own shortcut map is not used for the desk's keys: a real keyboard sends Shift+2 as `@` with Shift
held, and an action bound to both `Shift+2` and `@` is then an "ambiguous shortcut" that does nothing.
Here a key press is named once (`actions.key_name`) and looked up in the current view's keymap. While
the rater types in a text box (the rationale), plain keys type, Esc returns to the desk, and only keys
with Ctrl/Alt or an F-key reach the actions. Modal dialogs get their keys untouched. In a panel's window
beside the desk (quality, arbitration, …), the window's menu commands with Ctrl/Alt work too (Ctrl+Shift+A
from the Quality window opens arbitration); a panel with a `key_scope` (items, arbitration) has its own
actions in the registry, run on the panel; every other key stays the panel's widgets' own.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QComboBox, QKeySequenceEdit, QLineEdit,
                               QPlainTextEdit, QTextEdit, QWidget)

from prefdesk.ui.actions import GLOBAL, ActionSpec, key_name

_COMMAND_MODS = Qt.ControlModifier | Qt.AltModifier | Qt.MetaModifier


def is_typing(widget: QWidget | None) -> bool:
    """Whether plain keys belong to this widget (a text box that can be edited)."""
    if isinstance(widget, (QLineEdit, QAbstractSpinBox, QKeySequenceEdit)):
        return True
    if isinstance(widget, (QPlainTextEdit, QTextEdit)):
        return not widget.isReadOnly()
    return isinstance(widget, QComboBox) and widget.isEditable()


class KeyDispatcher(QObject):
    """Routes key presses inside `window` to `run(spec)` through `keymap()` (the live bindings)."""

    def __init__(self, window: QWidget, keymap: Callable[[], dict[str, ActionSpec]],
                 run: Callable[[ActionSpec], None], panels: Callable[[], list[QWidget]] = list,
                 scope_keymap: Callable[[str], dict[str, ActionSpec]] | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.keymap = keymap
        self.run = run
        self.panels = panels  # the windows beside the desk, where its menu commands work too
        self.scope_keymap = scope_keymap  # a panel scope's keymap (its actions, then the desk's menu commands)
        QApplication.instance().installEventFilter(self)
        window.destroyed.connect(self._detach)

    def _detach(self, *_: object) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def spec_for(self, event, receiver: QWidget, keymap: dict[str, ActionSpec] | None = None) -> ActionSpec | None:
        name = key_name(event.key(), event.modifiers(), event.text())
        if not name:
            return None
        if (is_typing(receiver) and not (event.modifiers() & _COMMAND_MODS) and not Qt.Key_F1 <= event.key() <= Qt.Key_F35
                and name != "Esc"):  # Esc leaves a panel's text box (the desk's own is handled before this)
            return None
        return (self.keymap() if keymap is None else keymap).get(name)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if kind not in (QEvent.ShortcutOverride, QEvent.KeyPress):
            return False
        if not isinstance(obj, QWidget) or QApplication.activeModalWidget():
            return False
        in_panel = obj.window() is not self.window
        if in_panel and obj.window() not in self.panels():
            return False
        if QApplication.focusWidget() is not obj and QApplication.focusWidget() is not None:
            return False  # the event travels to the focus widget; handle it there, once
        if not in_panel and event.key() == Qt.Key_Escape and is_typing(obj):  # Esc leaves the rationale box
            if kind == QEvent.KeyPress:
                self.window.centralWidget().setFocus()
            event.accept()
            return True
        panel = obj.window() if in_panel else None
        scope = getattr(panel, "key_scope", None)
        spec = self.spec_for(event, obj, self.scope_keymap(scope) if scope and self.scope_keymap else None)
        own = spec is not None and scope is not None and spec.scope == scope
        if spec is None or in_panel and not own and not (spec.scope == GLOBAL and spec.menu and event.modifiers() & _COMMAND_MODS):
            return False
        if kind == QEvent.ShortcutOverride:
            event.accept()  # ours: no Qt shortcut or widget takes it; the key press comes next
            return True
        if event.isAutoRepeat() and not spec.repeat:
            return True  # a held verdict key must not label the next items too
        if own:
            spec.run(panel)
        else:
            self.run(spec)
        return True
