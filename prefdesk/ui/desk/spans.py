"""Mark spans in an answer (H): select characters by keyboard (Shift+arrows, Ctrl+Shift+arrows for words) or
mouse in the answer's stored text, pick one of the project's span labels (Alt+1..9), add a comment, and Alt+A
marks it. The spans go into the draft (`Draft.mark_span`) and are stored with the label the rater then gives,
as character offsets into the exact stored text with the text they cover."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeySequence, QShortcut, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (QComboBox, QDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget, QPlainTextEdit,
                               QPushButton, QTextEdit, QVBoxLayout, QWidget)

from prefdesk.labeling import Draft, Incomplete
from prefdesk.ui.forms import dialog_buttons

MARK = QColor("#fbd38d")  # amber under dark text: readable on a light and a dark page alike


class SpanDialog(QDialog):
    def __init__(self, parent: QWidget, draft: Draft, answers: list[tuple[str, int]]) -> None:
        """`answers`: (name on screen, candidate position), in the order the rater sees them."""
        super().__init__(parent)
        self.setWindowTitle("Mark spans")
        self.draft, self.answers = draft, answers
        self.which = QComboBox()
        self.which.addItems([name for name, _ in answers])
        which_label = QLabel("&Which answer")
        which_label.setBuddy(self.which)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setTextInteractionFlags(Qt.TextSelectableByKeyboard | Qt.TextSelectableByMouse)
        self.label = QComboBox()
        self.label.addItems(draft.settings.get("span_labels", []))
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("comment (optional): what is wrong, what it should say")
        add = QPushButton("Add the span [Alt+A]")
        add.clicked.connect(self.add)
        self.marked = QListWidget()
        self.marked.setMaximumHeight(self.fontMetrics().lineSpacing() * 6)
        remove = QPushButton("Remove the selected span [Alt+R]")
        remove.clicked.connect(self.remove)
        self.status = QLabel()
        self.status.setWordWrap(True)
        for keys, slot in (("Alt+A", self.add), ("Alt+R", self.remove)):
            QShortcut(QKeySequence(keys), self, activated=slot)
        for n in range(1, min(9, self.label.count()) + 1):
            QShortcut(QKeySequence(f"Alt+{n}"), self, activated=lambda n=n: self.label.setCurrentIndex(n - 1))
        top = QHBoxLayout()
        top.addWidget(which_label)
        top.addWidget(self.which, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Label [Alt+1…]"))
        row.addWidget(self.label)
        row.addWidget(self.comment, 1)
        row.addWidget(add)
        hint = QLabel("Select with Shift+arrows (Ctrl+Shift for words) or the mouse · Alt+A marks it · Enter closes")
        hint.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.text, 1)
        layout.addLayout(row)
        layout.addWidget(hint)
        layout.addWidget(QLabel("Marked in this label:"))
        layout.addWidget(self.marked)
        layout.addWidget(remove)
        layout.addWidget(self.status)
        layout.addWidget(dialog_buttons(self))
        self.which.currentIndexChanged.connect(lambda _: self.show_answer())
        self.resize(760, 560)
        self.show_answer()

    def position(self) -> int:
        return self.answers[self.which.currentIndex()][1]

    def show_answer(self) -> None:
        self.text.setPlainText(self.draft.item.candidates[self.position()].text)
        self.text.moveCursor(QTextCursor.Start)
        self.text.setFocus()
        self.paint()

    def paint(self) -> None:
        """Highlight this answer's spans and list every span of the label."""
        marks = []
        for span in self.draft.spans:
            if span["candidate"] == self.position():
                selection = QTextEdit.ExtraSelection()
                cursor = self.text.textCursor()
                cursor.setPosition(span["start"])
                cursor.setPosition(span["end"], QTextCursor.KeepAnchor)
                fmt = QTextCharFormat()
                fmt.setBackground(MARK)
                fmt.setForeground(QColor("#1a202c"))
                selection.cursor, selection.format = cursor, fmt
                marks.append(selection)
        self.text.setExtraSelections(marks)
        names = {pos: name for name, pos in self.answers}
        self.marked.clear()
        for span in self.draft.spans:
            comment = f" — {span['comment']}" if span["comment"] else ""
            self.marked.addItem(f"{names.get(span['candidate'], span['candidate'])} {span['start']}..{span['end']} "
                                f"[{span['label']}] “{span['text'][:60]}”{comment}")

    def add(self) -> None:
        cursor = self.text.textCursor()
        start, end = cursor.selectionStart(), cursor.selectionEnd()
        if start == end:
            self.status.setText("Select the characters first (Shift+arrows or the mouse).")
            return
        try:
            self.draft.mark_span(self.position(), start, end, self.label.currentText(), self.comment.text())
        except Incomplete as exc:
            self.status.setText(str(exc))
            return
        self.comment.clear()
        self.status.setText(f"Marked {start}..{end} as {self.label.currentText()}. Give the label as usual: the spans "
                            "are stored with it.")
        cursor.clearSelection()
        self.text.setTextCursor(cursor)
        self.text.setFocus()
        self.paint()

    def remove(self) -> None:
        row = self.marked.currentRow()
        if row >= 0:
            self.draft.unmark_span(row)
            self.paint()
