"""The side pane: the item's metadata, the rater's progress, the rationale box and the guidelines.

Every text here comes from data and is escaped. Gold items look like any other: nothing says "gold".
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from prefdesk.domain import Item
from prefdesk.ui.theme import is_dark
from prefdesk.ui.desk.views.base import OfflineBrowser

META_CSS = "QLabel { background: palette(alternate-base); border: 1px solid palette(mid); border-radius: 6px; padding: 8px; }"


class SidePane(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setMinimumWidth(200)
        self.setMaximumWidth(360)
        self.meta = QLabel()
        self.meta.setWordWrap(True)
        self.meta.setTextFormat(Qt.RichText)
        self.meta.setStyleSheet(META_CSS)
        self.progress = QLabel()
        self.progress.setWordWrap(True)
        self.progress.setStyleSheet("padding: 6px 8px;")
        self.rationale_title = QLabel()
        self.rationale = QPlainTextEdit()
        self.rationale.setMaximumHeight(self.fontMetrics().lineSpacing() * 5 + 16)
        self.guidelines = OfflineBrowser()  # guidelines are Markdown from the project: no image or link is loaded
        self.guidelines_title = QLabel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        for w in (QLabel("<b>Item</b>"), self.meta, self.progress, self.rationale_title, self.rationale,
                  self.guidelines_title, self.guidelines):
            layout.addWidget(w)
        layout.setStretch(layout.count() - 1, 1)
        layout.addStretch(0)  # takes the room the guidelines leave when G hides them: no gaps between the rest
        self.layout_ = layout

    def show_guidelines(self, version: str, markdown_text: str, key: str) -> None:
        self.guidelines.show_markdown(markdown_text, line_breaks=False)  # a document: wrapped lines join
        self.guidelines_title.setText(f"<b>Guidelines</b> {html.escape(version)}  [{html.escape(key)}]")

    def set_keys(self, rationale_key: str) -> None:
        self.rationale_title.setText(f"<b>Rationale</b>  [{html.escape(rationale_key)} to write, Esc to return]")
        self.rationale.setPlaceholderText(f"Why? ({rationale_key} to write here, Esc to return)")

    def show_item(self, item: Item | None, flagged: str | None = None, rationale_needed: bool = False) -> None:
        """The item's metadata (or none); `flagged` is the rater's flag note ('' for a flag with none)."""
        if item is None:
            self.meta.setText("—")
            return
        rows = [("kind", item.kind.value), ("scenario", item.scenario), ("risk level", item.risk_level),
                ("policy", item.meta.get("policy")), ("source", item.source)]
        text = "".join(f"<tr><td>{html.escape(k)}</td><td><b>{html.escape(str(v))}</b></td></tr>" for k, v in rows if v)
        warn = "#fc8181" if is_dark() else "#c53030"
        notes = []
        if rationale_needed:
            notes.append(f"<div style='color:{warn}; font-weight:600'>Rationale required on this item</div>")
        if flagged is not None:
            notes.append(f"<div style='font-weight:600'>⚑ Flagged by you for review{': ' + html.escape(flagged) if flagged else ''}</div>")
        self.meta.setText(f"<table cellpadding='2'>{text}</table>{''.join(notes)}")

    def show_progress(self, done_today: int, median_s: float | None, remaining: int | None) -> None:
        median = f"{median_s:.0f} s" if median_s is not None else "—"
        left = "counting…" if remaining is None else f"{remaining:,}"
        self.progress.setText(f"Today: <b>{done_today}</b> · median <b>{median}</b>/item · remaining <b>{left}</b>")

    def toggle_guidelines(self) -> None:
        shown = not self.guidelines.isVisible()
        self.guidelines.setVisible(shown)
        self.layout_.setStretch(self.layout_.count() - 1, 0 if shown else 1)
