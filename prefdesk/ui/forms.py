"""Pieces every dialog of the desk builds the same way."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QDialogButtonBox, QHBoxLayout, QLineEdit, QMessageBox, QPushButton,
                               QWidget)


def dialog_buttons(dialog: QDialog, accept: str = "ok", on_accept: Callable[[], None] | None = None) -> QDialogButtonBox:
    """OK (or Save) and Cancel wired to the dialog; `on_accept` replaces a plain accept (to check first)."""
    main = {"ok": QDialogButtonBox.Ok, "save": QDialogButtonBox.Save}[accept]
    buttons = QDialogButtonBox(main | QDialogButtonBox.Cancel)
    buttons.accepted.connect(on_accept or dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


def browse_row(edit: QLineEdit, choose: Callable[[str], str]) -> QHBoxLayout:
    """A path field with a Browse… button; `choose(current)` returns the chosen path or '' (kept as it was)."""
    browse = QPushButton("Browse…")
    browse.clicked.connect(lambda: edit.setText(choose(edit.text()) or edit.text()))
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(browse)
    return row


def compact(box: QComboBox) -> None:
    """A choice box as wide as the room it gets (a long entry is cut, and shown whole when the box opens)."""
    box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(12)


def tell(parent: QWidget | None, title: str, text: str, icon: QMessageBox.Icon = QMessageBox.Warning) -> None:
    """A message box whose text is shown as written: a file name or field value in it is never read as HTML
    (QMessageBox's default would render `<img src=...>` in an import error, and load the file)."""
    box = QMessageBox(icon, title, text, QMessageBox.Ok, parent)
    box.setTextFormat(Qt.PlainText)
    box.exec()


def fit_to_screen(window: QWidget, width: int, height: int) -> None:
    """Resize to width x height where that fits, else to 92% of the screen it is on (scale 2 on a laptop)."""
    from PySide6.QtGui import QGuiApplication

    screen = (window.parentWidget().screen() if window.parentWidget() else None) or QGuiApplication.primaryScreen()
    area = screen.availableGeometry()
    window.resize(min(width, int(area.width() * 0.92)), min(height, int(area.height() * 0.92)))


class SplitOptions:
    """An export dialog's held-out split and Parquet choice (`export --test-fraction F --parquet`), added to its form."""

    def __init__(self, form) -> None:
        self.test_fraction = QDoubleSpinBox()
        self.test_fraction.setRange(0.0, 0.5)
        self.test_fraction.setSingleStep(0.05)
        self.test_fraction.setSpecialValueText("none")
        self.test_fraction.setToolTip("The share of prompts held out as the dataset's test split (no prompt in both)")
        self.parquet = QCheckBox("A Parquet copy of each split beside its JSONL")
        form.addRow("Test split (share of prompts)", self.test_fraction)
        form.addRow("", self.parquet)

    def chosen(self) -> dict:
        return {"test_fraction": round(self.test_fraction.value(), 4), "parquet": self.parquet.isChecked()}
