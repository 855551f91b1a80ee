"""What every view shares: offline text panes, the prompt pane, captions, and the view API.

A view renders a draft (`prefdesk.labeling`) and turns its actions into draft calls; it holds no label
state of its own and no SQL. Colours come from the palette (see `theme.py`).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QSplitter, QTextBrowser, QVBoxLayout, QWidget

from prefdesk.domain import Item
from prefdesk.labeling import Draft, ReadyLabel
from prefdesk.ui.desk.content import SHOWN_MOST, cut_for_display, to_html
from prefdesk.ui.theme import is_dark
from prefdesk.ui.worker import run_in_background

BROWSER_CSS = ("QTextBrowser { background: palette(base); color: palette(text); border: 1px solid palette(mid); "
               "border-radius: 6px; padding: 8px; font-size: 14px; }")
LONG_TEXT = 8_000  # characters: longer texts paint as plain text first and are formatted in a worker
PLAIN_ONLY = 200_000  # longer still: stay plain (Markdown would take seconds)
SCROLLS = {"page_down": 1, "page_up": -1}


class OfflineBrowser(QTextBrowser):
    """A rich-text pane that shows links but never follows them and never fetches a resource. It takes no
    keyboard focus: the desk's keys always reach the desk, and PageUp/PageDown/Home/End scroll it."""

    def __init__(self) -> None:
        super().__init__()
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFocusPolicy(Qt.NoFocus)
        self.setFrameShape(QFrame.NoFrame)
        self.setStyleSheet(BROWSER_CSS)
        self._shown = 0  # which text is on screen, so a late formatting result for an old one is dropped
        self._job = None

    def show_markdown(self, text: str, line_breaks: bool = True) -> None:
        """Show text as formatted Markdown; a long text paints at once as plain text, formatted when ready; past
        `SHOWN_MOST` characters it is cut with a marker (the whole text: W)."""
        self._shown += 1
        text = cut_for_display(text)
        dark = is_dark()
        if len(text) <= LONG_TEXT:
            self.setHtml(to_html(text, dark, line_breaks))
            return
        self.setPlainText(text)
        if len(text) <= PLAIN_ONLY:
            shown = self._shown
            self._job = run_in_background(lambda: to_html(text, dark, line_breaks), lambda out: self._formatted(shown, out))

    def _formatted(self, shown: int, out: str) -> None:
        if shown == self._shown:
            position = self.verticalScrollBar().value()
            self.setHtml(out)
            self.verticalScrollBar().setValue(position)

    def scroll(self, how: str) -> None:
        bar = self.verticalScrollBar()
        if how in SCROLLS:
            bar.setValue(bar.value() + SCROLLS[how] * bar.pageStep())
        else:
            bar.setValue(bar.minimum() if how == "top" else bar.maximum())

    def loadResource(self, kind, url):  # noqa: N802 (Qt override): images and style sheets stay unloaded
        return None


def caption(text: str = "") -> QLabel:
    """A bold line over a pane; it wraps, so no caption sets the window's minimum width (scale 2 on a laptop)."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("font-weight: 600; padding: 2px 4px;")
    return label


def escaped(text: object) -> str:
    return html.escape(str(text))


class PromptPane(QWidget):
    def __init__(self, title: str = "Prompt") -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(caption(title))
        self.browser = OfflineBrowser()
        # two lines at the least (the splitter may shrink it that far), so the answers keep the height at scale 2
        self.browser.setMinimumHeight(self.fontMetrics().lineSpacing() * 2 + 16)
        layout.addWidget(self.browser)

    def show_item(self, item: Item) -> None:
        if item.prompt_messages:
            dark = is_dark()
            self.browser.setHtml("".join(
                f"<p style='margin-bottom:0'><b>{escaped(str(m.get('role', '')).capitalize())}</b></p>"
                f"{to_html(cut_for_display(str(m.get('content', '')), SHOWN_MOST // len(item.prompt_messages)), dark)}"
                for m in item.prompt_messages))
        else:
            self.browser.show_markdown(item.prompt)


class ItemView(QWidget):
    """Base of the views: `show_draft` paints an item, `render` its draft's state, `hint` the keys."""

    scope = ""

    def __init__(self) -> None:
        super().__init__()
        self.draft: Draft | None = None
        self.bindings: dict[str, tuple[str, ...]] = {}

    def lay_out(self, top: QWidget, body: QWidget, *below: QWidget) -> None:
        """The prompt (or problem) over the body in a splitter, with status lines below."""
        split = QSplitter(Qt.Vertical)
        split.addWidget(top)
        split.addWidget(body)
        split.setStretchFactor(1, 1)  # a taller window makes the body taller, not the prompt
        line = self.fontMetrics().lineSpacing()
        split.setSizes([line * 5, line * 40])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split, 1)
        for widget in below:
            layout.addWidget(widget)

    def set_bindings(self, bindings: dict[str, tuple[str, ...]]) -> None:
        self.bindings = bindings
        if self.draft is not None:
            self.render()

    def show_draft(self, draft: Draft) -> None:
        raise NotImplementedError

    def render(self) -> None:
        """Paint the draft's state (verdicts, places, ratings); cheap, called after every action."""

    def submit(self) -> ReadyLabel | None:
        """Enter: the draft as it stands (raises `Incomplete` with what is missing)."""
        return self.draft.ready()

    def scroll(self, how: str) -> None:
        """PageUp/PageDown/Home/End: scroll what the rater reads."""

    def hint(self) -> str:
        return ""
