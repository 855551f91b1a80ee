"""Small dialogs: the shortcut cheat sheet, shortcut remapping, the rewrite editor, the rater picker."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QKeySequenceEdit, QLabel,
                               QLineEdit, QMessageBox, QPlainTextEdit, QScrollArea, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from prefdesk.ui.actions import ACTIONS, GLOBAL, conflicts


class CheatSheet(QDialog):
    """Every shortcut of the current view and of all views, as bound now."""

    def __init__(self, parent: QWidget, view: str, bindings: dict[str, tuple[str, ...]]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Shortcuts")
        specs = [a for a in ACTIONS if a.view in (view, GLOBAL)]
        self.table = QTableWidget(len(specs), 2)
        self.table.setHorizontalHeaderLabels(["Keys", f"Action ({view} view and everywhere)"])
        for row, spec in enumerate(specs):
            self.table.setItem(row, 0, QTableWidgetItem("  /  ".join(bindings.get(spec.name, spec.keys))))
            self.table.setItem(row, 1, QTableWidgetItem(spec.help))
        self.table.resizeColumnsToContents()
        self.table.verticalHeader().hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(640, 520)


class Preferences(QDialog):
    """Remap shortcuts; a key already used where the action can be active is refused."""

    def __init__(self, parent: QWidget, bindings: dict[str, tuple[str, ...]]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences — shortcuts")
        self.bindings = dict(bindings)
        self.editors: dict[str, QKeySequenceEdit] = {}
        form_host = QWidget()
        form = QFormLayout(form_host)
        for spec in ACTIONS:
            edit = QKeySequenceEdit(QKeySequence(self.bindings.get(spec.name, spec.keys)[0]))
            self.editors[spec.name] = edit
            form.addRow(QLabel(f"{spec.help}  <span style='color:#718096'>({spec.view})</span>"), edit)
        scroll = QScrollArea()
        scroll.setWidget(form_host)
        scroll.setWidgetResizable(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.try_accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll)
        layout.addWidget(buttons)
        self.resize(640, 600)

    def proposed(self) -> dict[str, tuple[str, ...]]:
        """The primary key of each action replaced by what the editor holds; other keys kept."""
        out = {}
        for spec in ACTIONS:
            old = self.bindings.get(spec.name, spec.keys)
            first = self.editors[spec.name].keySequence().toString()
            out[spec.name] = (first, *[k for k in old[1:] if k != first]) if first else old[1:]
        return out

    def try_accept(self) -> None:
        found = conflicts(self.proposed())
        if found:
            key, a, b = found[0]
            QMessageBox.warning(self, "Shortcut in use", f"{key} is bound to both “{a}” and “{b}”. Choose another key.")
            return
        self.bindings = self.proposed()
        self.accept()


class RewriteDialog(QDialog):
    """Edit a candidate (or a step); the saved text becomes a new candidate or a replacement step."""

    def __init__(self, parent: QWidget, choices: list[tuple[str, str]]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Rewrite")
        self.choices = choices
        self.which = QComboBox()
        self.which.addItems([name for name, _ in choices])
        self.editor = QPlainTextEdit(choices[0][1])
        self.which.currentIndexChanged.connect(lambda i: self.editor.setPlainText(self.choices[i][1]))
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.which)
        layout.addWidget(self.editor)
        layout.addWidget(buttons)
        self.resize(720, 480)


class RaterDialog(QDialog):
    """Pick an existing rater or add one with a role and level."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.setWindowTitle("PrefDesk — who is rating?")
        self.name = QComboBox()
        self.name.setEditable(True)
        self.name.addItems(names)
        self.role = QComboBox()
        self.role.addItems(["annotator", "expert", "reviewer"])
        self.level = QLineEdit()
        form = QFormLayout(self)
        form.addRow("Rater", self.name)
        form.addRow("Role (new raters)", self.role)
        form.addRow("Level (new raters)", self.level)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
