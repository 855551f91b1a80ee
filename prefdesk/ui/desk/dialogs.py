"""Small dialogs: the shortcut cheat sheet, preferences (keys and theme), the rewrite editor, the rater picker."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout,
                               QKeySequenceEdit, QLabel, QLineEdit, QPlainTextEdit, QScrollArea, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget, QGridLayout, QPushButton)

from prefdesk.domain import RaterRole
from prefdesk.ui.desk.content import DISPLAY_LINE, display_lines
from prefdesk.ui.forms import dialog_buttons, fit_to_screen, tell
from prefdesk.ui.actions import GLOBAL, PANEL_SCOPES, all_actions, conflicts, default_bindings, key_label
from prefdesk.ui.theme import THEMES

KEYS_PER_ACTION = 3


def whole_text_box(text: str) -> QPlainTextEdit:
    """A read-only plain-text view of a whole text, however long (its long lines broken for display only)."""
    box = QPlainTextEdit(display_lines(text))
    box.setReadOnly(True)
    return box


class WholeTexts(QDialog):
    """W: the item's prompt, candidates and steps in full, where a pane shows at most `SHOWN_MOST` characters."""

    def __init__(self, parent: QWidget, texts: list[tuple[str, str]]) -> None:
        super().__init__(parent)
        self.setWindowTitle("The whole texts")
        self.tabs = QTabWidget()
        for title, text in texts:
            self.tabs.addTab(whole_text_box(text), f"{title} ({len(text):,} characters)")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Lines over {DISPLAY_LINE:,} characters are broken here for the screen only."))
        layout.addWidget(self.tabs)
        close = QDialogButtonBox(QDialogButtonBox.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        fit_to_screen(self, 1000, 760)


class CheatSheet(QDialog):
    """Every key of the current view and of all views, as bound now; read-only."""

    def __init__(self, parent: QWidget, view: str, bindings: dict[str, tuple[str, ...]]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        panel = view in PANEL_SCOPES  # a panel: its own keys and the desk's menu commands
        specs = [a for a in all_actions() if a.scope == view or a.scope == GLOBAL and (not panel or a.menu)]
        self.table = QTableWidget(len(specs), 2)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setHorizontalHeaderLabels(["Keys", f"Action ({view} {'window' if panel else 'view'} and everywhere)"])
        for row, spec in enumerate(specs):
            self.table.setItem(row, 0, QTableWidgetItem("  /  ".join(key_label(k) for k in bindings.get(spec.name, spec.keys))))
            self.table.setItem(row, 1, QTableWidgetItem(spec.help))
        self.table.resizeColumnToContents(0)
        self.table.horizontalHeader().setStretchLastSection(True)  # the help wraps in the width there is:
        self.table.setWordWrap(True)  # no sideways scrolling at scale 2
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.verticalHeader().hide()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Change keys in Preferences (Ctrl+,)."))
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        fit_to_screen(self, 680, 560)
        self.table.resizeRowsToContents()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self.table.resizeRowsToContents()  # wrapped help lines take the height they need


class Preferences(QDialog):
    """Every key of every action (up to three each) and the theme; a key already used where the action
    can listen is refused."""

    def __init__(self, parent: QWidget, bindings: dict[str, tuple[str, ...]]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.bindings = dict(bindings)
        self.theme_box = QComboBox()
        self.theme_box.addItems([t.capitalize() for t in THEMES])
        self.theme_box.setCurrentIndex(THEMES.index(str(QSettings().value("theme", "system"))
                                                    if QSettings().value("theme", "system") in THEMES else "system"))
        self.editors: dict[str, list[QKeySequenceEdit]] = {}
        grid_host = QWidget()
        grid = QGridLayout(grid_host)
        key_width = self.fontMetrics().horizontalAdvance("Ctrl+Shift+Right") + self.fontMetrics().height() * 3
        for row, spec in enumerate(all_actions()):
            label = QLabel(f"{spec.help}  <span style='color:palette(mid)'>({spec.scope})</span>")
            label.setWordWrap(True)  # the description gives way at scale 2, never the keys
            grid.addWidget(label, row, 0)
            keys = self.bindings.get(spec.name, spec.keys)
            self.editors[spec.name] = []
            for col in range(KEYS_PER_ACTION):
                edit = QKeySequenceEdit(QKeySequence(keys[col]) if col < len(keys) else QKeySequence())
                edit.setMaximumSequenceLength(1)
                edit.setClearButtonEnabled(True)
                edit.setMinimumWidth(key_width)
                grid.addWidget(edit, row, col + 1)
                self.editors[spec.name].append(edit)
        grid.setColumnStretch(0, 1)
        scroll = QScrollArea()
        scroll.setWidget(grid_host)
        scroll.setWidgetResizable(True)
        defaults = QPushButton("Restore default keys")
        defaults.clicked.connect(self._restore_defaults)
        buttons = dialog_buttons(self, "save", self.try_accept)
        self.train_python = QLineEdit(str(QSettings().value("train_python", "") or ""))
        self.train_python.setPlaceholderText("this Python, when it has the train extra; else a training bundle")
        self.train_python.setToolTip("A Python with torch, transformers and trl installed (prefdesk[train]); "
                                     "training jobs run in it")
        form = QFormLayout()
        form.addRow("Theme", self.theme_box)
        form.addRow("Training Python", self.train_python)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(scroll)
        layout.addWidget(defaults)
        layout.addWidget(buttons)
        fit_to_screen(self, 860, 640)

    @property
    def theme(self) -> str:
        return THEMES[self.theme_box.currentIndex()]

    def _restore_defaults(self) -> None:
        for name, keys in default_bindings().items():
            for col, edit in enumerate(self.editors[name]):
                edit.setKeySequence(QKeySequence(keys[col]) if col < len(keys) else QKeySequence())

    def proposed(self) -> dict[str, tuple[str, ...]]:
        """Each action's keys as the editors hold them, empty ones left out."""
        out = {}
        for name, edits in self.editors.items():
            keys = [e.keySequence().toString(QKeySequence.PortableText) for e in edits]
            out[name] = tuple(dict.fromkeys(k for k in keys if k))
        return out

    def try_accept(self) -> None:
        found = conflicts(self.proposed())
        if found:
            key, a, b = found[0]
            tell(self, "Key in use", f"{key_label(key)} is bound to both “{a}” and “{b}”. Choose another key.")
            return
        self.bindings = self.proposed()
        QSettings().setValue("theme", self.theme)
        QSettings().setValue("train_python", self.train_python.text().strip())
        self.accept()


class RewriteDialog(QDialog):
    """Edit a candidate (or a step); the saved text becomes a new candidate or a replacement step.

    Keyboard first: the text has the focus with the cursor at its end, Enter is a new line (it is prose),
    Ctrl+Enter saves, Esc cancels, Tab moves on (a rewrite needs no tab character), Alt+W picks the answer."""

    def __init__(self, parent: QWidget, choices: list[tuple[str, str]]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Rewrite")
        self.choices = choices
        self.which = QComboBox()
        self.which.addItems([name for name, _ in choices])
        which_label = QLabel("&Which answer")
        which_label.setBuddy(self.which)
        self.editor = QPlainTextEdit(choices[0][1])
        self.editor.setTabChangesFocus(True)
        self.which.currentIndexChanged.connect(self._show_choice)
        buttons = dialog_buttons(self, "save")
        hint = QLabel("Ctrl+Enter saves · Esc cancels · Tab moves on")
        hint.setEnabled(False)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, activated=self.accept)
        row = QHBoxLayout()
        row.addWidget(which_label)
        row.addWidget(self.which, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.editor)
        layout.addWidget(hint)
        layout.addWidget(buttons)
        self.resize(720, 480)
        self._show_choice(0)

    def _show_choice(self, index: int) -> None:
        self.editor.setPlainText(self.choices[index][1])
        self.editor.moveCursor(QTextCursor.End)
        self.editor.setFocus()


class RaterDialog(QDialog):
    """Who is rating: an existing rater of this project, or a new one with a role and level."""

    def __init__(self, names: list[str], choose_role: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("PrefDesk — who is rating?")
        intro = QLabel("A rater is the person whose labels these are. Every label records its rater, role and "
                       "level, so agreement and quality can be read per person. Pick your name, or type a new one.")
        intro.setWordWrap(True)
        self.name = QComboBox()
        self.name.setEditable(True)
        self.name.addItems(names)
        self.name.setCurrentIndex(-1)
        self.name.lineEdit().setPlaceholderText("your name")
        self.role = QComboBox()
        self.role.addItems([RaterRole.ANNOTATOR.value, RaterRole.EXPERT.value, RaterRole.REVIEWER.value])
        if not choose_role:  # the project has a lead: a new rater starts as an annotator, a lead gives roles
            self.role.setEnabled(False)
            self.role.setToolTip("A reviewer or expert of this project gives roles (Items › Raters)")
        self.level = QLineEdit()
        self.level.setPlaceholderText("e.g. L2, senior (optional)")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<h3>Who is rating?</h3>"))
        layout.addWidget(intro)
        form = QFormLayout()
        form.addRow("Rater", self.name)
        form.addRow("Role (new raters)", self.role)
        form.addRow("Level (new raters)", self.level)
        layout.addLayout(form)
        layout.addWidget(dialog_buttons(self))
        self.resize(480, 260)
