"""The side pane: the item's metadata, the rater's progress, the rationale box and the guidelines."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTextBrowser, QVBoxLayout, QWidget

from prefdesk.domain import Item


class SidePane(QWidget):
    def __init__(self, guideline_version: str, guidelines_md: str) -> None:
        super().__init__()
        self.setMinimumWidth(260)
        self.setMaximumWidth(360)
        self.meta = QLabel()
        self.meta.setWordWrap(True)
        self.meta.setStyleSheet("background:#f7fafc; border:1px solid #e2e8f0; border-radius:6px; padding:8px;")
        self.progress = QLabel()
        self.progress.setStyleSheet("padding:6px 8px; color:#2d3748;")
        self.rationale = QPlainTextEdit()
        self.rationale.setPlaceholderText("Rationale (N to write, Esc to return)")
        self.rationale.setMaximumHeight(110)
        self.guidelines = QTextBrowser()
        self.guidelines.setOpenLinks(False)
        self.guidelines.setMarkdown(guidelines_md)
        self.guidelines_title = QLabel(f"<b>Guidelines</b> {html.escape(guideline_version)}  (G)")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        for w in (QLabel("<b>Item</b>"), self.meta, self.progress, QLabel("<b>Rationale</b>"), self.rationale,
                  self.guidelines_title, self.guidelines):
            layout.addWidget(w)
        layout.setStretch(layout.count() - 1, 1)

    def show_item(self, item: Item, flagged: bool = False) -> None:
        rows = [("kind", item.kind.value), ("scenario", item.scenario), ("risk level", item.risk_level),
                ("policy", item.meta.get("policy")), ("source", item.source), ("gold", "yes" if item.is_gold else None),
                ("flagged", "yes" if flagged else None)]
        text = "".join(f"<tr><td style='color:#718096'>{k}</td><td><b>{html.escape(str(v))}</b></td></tr>"
                       for k, v in rows if v)
        risk = "<div style='color:#c53030; font-weight:600'>High risk: rationale expected</div>" \
            if item.risk_level == "high" else ""
        self.meta.setText(f"<table cellpadding='2'>{text}</table>{risk}")
        self.rationale.clear()

    def show_progress(self, done_today: int, median_s: float | None, remaining: int | None) -> None:
        median = f"{median_s:.0f} s" if median_s is not None else "—"
        left = "counting…" if remaining is None else f"{remaining:,}"
        self.progress.setText(f"Today: <b>{done_today}</b> · median <b>{median}</b>/item · remaining <b>{left}</b>")

    def toggle_guidelines(self) -> None:
        self.guidelines.setVisible(not self.guidelines.isVisible())
