"""What every view shares: offline text panes, the prompt pane, captions, and the view API.

A view renders a draft (`prefdesk.labeling`) and turns its actions into draft calls; it holds no label
state of its own and no SQL. Colours come from the palette (see `theme.py`).
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QFrame, QLabel, QSplitter, QTextBrowser, QVBoxLayout, QWidget

from prefdesk.domain import Item
from prefdesk.labeling import Draft, ReadyLabel
from prefdesk.ui.actions import keys_text
from prefdesk.ui.desk.content import SHOWN_MOST, cut_for_display, to_html
from prefdesk.ui.theme import is_dark
from prefdesk.ui.worker import run_in_background

BROWSER_CSS = ("QTextBrowser { background: palette(base); color: palette(text); border: 1px solid palette(mid); "
               "border-radius: 6px; padding: 8px; font-size: 14px; }")
FOCUSED_CSS = BROWSER_CSS.replace("1px solid palette(mid)", "2px solid palette(highlight)")  # the pane P scrolls
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


ROLE_COLOURS = {"user": "#3b82f6", "assistant": "#10b981", "system": "#8a939e", "tool": "#d97706"}


def conversation_html(messages: list[dict], dark: bool) -> str:
    """Chat messages as turns: a coloured strip and the role beside each, numbered, oldest first (the pane is
    scrolled to the end, so the latest turns sit nearest the answers)."""
    most = SHOWN_MOST // max(1, len(messages))
    rows = []
    for n, m in enumerate(messages, 1):
        role = str(m.get("role", ""))
        colour = ROLE_COLOURS.get(role, "#8a939e")
        rows.append(
            f"<table width='100%' cellspacing='0' cellpadding='4' style='margin-bottom:6px'><tr>"
            f"<td width='4' bgcolor='{colour}'></td>"
            f"<td><b style='color:{colour}'>{escaped(role.capitalize() or '?')}</b>"
            f"<span style='color:#8a939e'>  · turn {n} of {len(messages)}</span>"
            f"{to_html(cut_for_display(str(m.get('content') or ''), most), dark)}</td></tr></table>")
    return "".join(rows)


class PromptPane(QWidget):
    """The prompt over the answers: plain text, or a conversation as turns ending at its latest turn. Its caption
    says whether PgUp/PgDn scroll it (P moves the scrolling between the prompt and the answers)."""

    def __init__(self, title: str = "Prompt") -> None:
        super().__init__()
        self.title = title
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.caption = caption(title)
        layout.addWidget(self.caption)
        self.browser = OfflineBrowser()
        # two lines at the least (the splitter may shrink it that far), so the answers keep the height at scale 2
        self.browser.setMinimumHeight(self.fontMetrics().lineSpacing() * 2 + 16)
        layout.addWidget(self.browser)
        self.turns = 0

    def show_item(self, item: Item) -> None:
        self.turns = len(item.prompt_messages or [])
        if item.prompt_messages:
            self.browser.setHtml(conversation_html(item.prompt_messages, is_dark()))
            self.browser.scroll("end")
            QTimer.singleShot(0, lambda: self.browser.scroll("end"))  # once laid out at its width
        else:
            self.browser.show_markdown(item.prompt)

    def set_caption(self, scrolling: bool, keys: str) -> None:
        what = f"Conversation — {self.turns} turns, the latest at the bottom" if self.turns > 1 else self.title
        mark = "  ◀ PgUp/PgDn/Home/End scroll here" if scrolling else ""
        self.caption.setText(f"{escaped(what)}   <span style='font-weight:400'>[{escaped(keys)}]</span>{mark}")
        self.browser.setStyleSheet(FOCUSED_CSS if scrolling else BROWSER_CSS)


class ContextSplit(QSplitter):
    """The prompt over the body. Where the rater leaves the divider is remembered per view (QSettings
    `desk/split/<view>`); `expand` gives the context most of the height, and again gives it back."""

    def __init__(self, scope: str, top: QWidget, body: QWidget) -> None:
        super().__init__(Qt.Vertical)
        self.key = f"desk/split/{scope}"
        self.addWidget(top)
        self.addWidget(body)
        self.setStretchFactor(1, 1)  # a taller window makes the body taller, not the prompt
        self.setChildrenCollapsible(False)
        self.expanded: list[int] | None = None  # the sizes before expanding
        saved = QSettings().value(self.key)
        self.placed = isinstance(saved, (list, tuple)) and len(saved) == 2  # by the rater, once: kept from then on
        self.setSizes([int(v) for v in saved] if self.placed else [100, 300])
        self.splitterMoved.connect(lambda *_: self.remember())

    def suit(self, conversation: bool) -> None:
        """Until the rater places the divider: a conversation gets two fifths of the height, a prompt a fifth."""
        if not self.placed and self.expanded is None:
            total = sum(self.sizes()) or 400
            top = total * (2 if conversation else 1) // 5
            self.setSizes([top, total - top])

    def remember(self) -> None:
        self.expanded, self.placed = None, True
        QSettings().setValue(self.key, self.sizes())

    def toggle_expanded(self) -> bool:
        """Give the prompt three quarters of the height (or back what it had); whether it is expanded now."""
        if self.expanded is not None:
            self.setSizes(self.expanded)
            self.expanded = None
            return False
        self.expanded = self.sizes()
        total = sum(self.expanded)
        self.setSizes([total * 3 // 4, total - total * 3 // 4])
        return True


class ItemView(QWidget):
    """Base of the views: `show_draft` paints an item, `render` its draft's state, `hint` the keys."""

    scope = ""

    def __init__(self) -> None:
        super().__init__()
        self.draft: Draft | None = None
        self.bindings: dict[str, tuple[str, ...]] = {}
        self.prompt: PromptPane | None = None
        self.split: ContextSplit | None = None
        self.scrolling_prompt = False  # whether PgUp/PgDn/Home/End scroll the prompt (P) or the answers

    def lay_out(self, top: PromptPane, body: QWidget, *below: QWidget) -> None:
        """The prompt (or problem) over the body in a splitter, with status lines below."""
        self.prompt = top
        self.split = ContextSplit(self.scope, top, body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.split, 1)
        for widget in below:
            layout.addWidget(widget)

    def show_prompt(self, item: Item) -> None:
        self.prompt.show_item(item)
        self.split.suit(len(item.prompt_messages or []) > 1)
        self.show_scrolling()

    def show_scrolling(self) -> None:
        k = self.bindings
        self.prompt.set_caption(self.scrolling_prompt, f"{keys_text(k, 'context_focus', 1)} scroll it · "
                                                       f"{keys_text(k, 'context_expand', 1)} enlarge it")

    def toggle_scrolling(self) -> None:
        """P: PgUp/PgDn/Home/End scroll the prompt, or (again) the answers."""
        self.scrolling_prompt = not self.scrolling_prompt
        self.show_scrolling()

    def toggle_expanded(self) -> None:
        """E: the prompt takes most of the height and the scrolling keys; again, both go back."""
        self.scrolling_prompt = self.split.toggle_expanded()
        self.show_scrolling()

    def set_bindings(self, bindings: dict[str, tuple[str, ...]]) -> None:
        self.bindings = bindings
        if self.draft is not None:
            self.render()
            self.show_scrolling()

    def show_draft(self, draft: Draft) -> None:
        raise NotImplementedError

    def render(self) -> None:
        """Paint the draft's state (verdicts, places, ratings); cheap, called after every action."""

    def submit(self) -> ReadyLabel | None:
        """Enter: the draft as it stands (raises `Incomplete` with what is missing)."""
        return self.draft.ready()

    def scroll(self, how: str) -> None:
        """PageUp/PageDown/Home/End: scroll the prompt (after P) or what the rater judges."""
        if self.scrolling_prompt:
            self.prompt.browser.scroll(how)
        else:
            self.scroll_answers(how)

    def scroll_answers(self, how: str) -> None:
        """Scroll the answers (or steps) the rater judges."""

    def hint(self) -> str:
        return ""
