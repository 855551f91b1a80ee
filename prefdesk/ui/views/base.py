"""What every view shares: the prompt pane, text browsers that never load anything remote, the view API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QSplitter, QTextBrowser, QVBoxLayout, QWidget

from prefdesk.domain import Item, LabelKind
from prefdesk.ui.content import to_html
from prefdesk.ui.worker import run_in_background

BROWSER_CSS = ("QTextBrowser { background: #ffffff; border: 1px solid #d5d9e0; border-radius: 6px; "
               "padding: 8px; font-size: 14px; } QTextBrowser[current=\"true\"] { border: 2px solid #3b82f6; }")


@dataclass(frozen=True)
class Commit:
    """What a view asks the window to store."""

    kind: LabelKind
    payload: dict[str, Any]
    display_order: tuple[int, ...] | None = None


LONG_TEXT = 8_000  # characters: longer texts paint as plain text first and are formatted in a worker
PLAIN_ONLY = 200_000  # longer still: stay plain (Markdown would take seconds)


class OfflineBrowser(QTextBrowser):
    """A rich-text pane that shows links but never follows them and never fetches a resource."""

    def __init__(self) -> None:
        super().__init__()
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.NoFrame)
        self.setStyleSheet(BROWSER_CSS)
        self._shown = 0  # which text is on screen, so a late formatting result for an old one is dropped
        self._job = None

    def show_markdown(self, text: str) -> None:
        """Show text as formatted Markdown; a long text paints at once as plain text, formatted when ready."""
        self._shown += 1
        if len(text) <= LONG_TEXT:
            self.setHtml(to_html(text))
            return
        self.setPlainText(text)
        if len(text) <= PLAIN_ONLY:
            shown = self._shown
            self._job = run_in_background(lambda: to_html(text), lambda html: self._formatted(shown, html))

    def _formatted(self, shown: int, html: str) -> None:
        if shown == self._shown:
            position = self.verticalScrollBar().value()
            self.setHtml(html)
            self.verticalScrollBar().setValue(position)

    def loadResource(self, kind, url):  # noqa: N802 (Qt override): images and style sheets stay unloaded
        return None


def caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("font-weight: 600; color: #4a5568; padding: 2px 4px;")
    return label


class PromptPane(QWidget):
    def __init__(self, title: str = "Prompt") -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(caption(title))
        self.browser = OfflineBrowser()
        layout.addWidget(self.browser)

    def show_item(self, item: Item) -> None:
        if item.prompt_messages:
            self.browser.setHtml("".join(
                f"<p style='color:#718096; margin-bottom:0'><b>{m['role'].capitalize()}</b></p>{to_html(m['content'])}"
                for m in item.prompt_messages))
        else:
            self.browser.show_markdown(item.prompt)


class ItemView(QWidget):
    """Base of the views. `handle` returns a Commit when an action completes a label."""

    def lay_out(self, top: QWidget, body: QWidget, *below: QWidget) -> None:
        """The prompt (or problem) over the body in a splitter, with status lines below."""
        split = QSplitter(Qt.Vertical)
        split.addWidget(top)
        split.addWidget(body)
        split.setSizes([150, 550])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split, 1)
        for widget in below:
            layout.addWidget(widget)

    def __init__(self, project_settings: dict) -> None:
        super().__init__()
        self.settings = project_settings
        self.item: Item | None = None

    def show_item(self, item: Item, seed: str) -> None:
        raise NotImplementedError

    def handle(self, action: str) -> Commit | None:
        return None

    def hint(self) -> str:
        return ""
