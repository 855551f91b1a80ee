"""Process view: the problem, then its steps as rows, each rated +1 / 0 / -1 (PRM800K style).

The cursor moves to the next step after each rating. After a -1 the rater may submit ("found the
first error") or rate on. Final answer correct / incorrect and "cannot judge" are single keys.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from prefdesk.labeling import ProcessDraft
from prefdesk.ui.actions import action, keys_text
from prefdesk.ui.desk.content import SHOWN_MOST, cut_for_display, to_html
from prefdesk.ui.theme import is_dark
from prefdesk.ui.desk.views.base import ItemView, OfflineBrowser, PromptPane, caption, escaped

BADGE = {1: ("+1", "#22543d", "#c6f6d5"), 0: ("0", "#744210", "#fefcbf"), -1: ("−1", "#9b2c2c", "#fed7d7"),
         None: ("·", "#4a5568", "#e2e8f0")}


class ProcessView(ItemView):
    scope = "process"

    def __init__(self) -> None:
        super().__init__()
        self.prompt = PromptPane("Problem")
        self.steps = OfflineBrowser()
        self.keys_line = caption()
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.state.setStyleSheet("padding: 4px; font-size: 13px;")
        self.lay_out(self.prompt, self.steps, self.keys_line, self.state)
        self._cursor_shown: tuple[str, int] | None = None

    def show_draft(self, draft: ProcessDraft) -> None:
        self.draft = draft
        self.show_prompt(draft.item)
        self.render()

    def render(self) -> None:
        d = self.draft
        dark = is_dark()
        rows = []
        most = SHOWN_MOST // max(1, len(d.item.steps))  # every step shows, the whole within what a pane lays out
        for i, step in enumerate(d.item.steps):
            label, fg, bg = BADGE[d.ratings[i]]
            border = "2px solid #3b82f6" if i == d.cursor else "1px solid #8a939e"
            state = f"<div style='color:#8a939e'>{escaped(cut_for_display(step.state, most))}</div>" if step.state else ""
            replaced = ""
            if d.step_tags.get(i):
                replaced += f"<div style='color:#b7791f'><b>Tags:</b> {escaped(', '.join(d.step_tags[i]))}</div>"
            if d.replacement and d.replacement["step"] == i:
                replaced = f"<div><i>Your replacement:</i> {escaped(d.replacement['text'])}</div>"
            rows.append(
                f"<a name='step{i}'></a>"
                f"<table width='100%' cellpadding='6' style='border:{border}; margin-bottom:4px'><tr>"
                f"<td width='28' valign='top'>{i + 1}</td>"
                f"<td width='40' valign='top' align='center' style='background:{bg}; color:{fg}; font-weight:600'>{label}</td>"
                f"<td>{state}{to_html(cut_for_display(step.text, most), dark)}{replaced}</td></tr></table>")
        position = self.steps.verticalScrollBar().value()
        self.steps.setHtml("".join(rows))
        self.steps.verticalScrollBar().setValue(position)
        if (d.item.id, d.cursor) != self._cursor_shown:  # the step being rated comes into view (a long trajectory)
            self._cursor_shown = (d.item.id, d.cursor)
            self.steps.scrollToAnchor(f"step{d.cursor}")
        k = self.bindings
        self.keys_line.setText(
            f"Steps: {keys_text(k, 'step_down')}/{keys_text(k, 'step_up')} move · {keys_text(k, 'step_good', 1)} "
            f"{keys_text(k, 'step_neutral', 1)} {keys_text(k, 'step_bad', 1)} rate · {keys_text(k, 'final_correct', 1)}/"
            f"{keys_text(k, 'final_wrong', 1)} final answer · {keys_text(k, 'cannot_judge', 1)} cannot judge · "
            f"{keys_text(k, 'rewrite', 1)} replace the step · {keys_text(k, 'submit', 1)} submit")
        done = sum(r is not None for r in d.ratings)
        fe = d.first_error()
        final = {None: "not set", True: "correct", False: "incorrect"}[d.final_correct]
        self.state.setText(
            f"Step {d.cursor + 1}/{len(d.ratings)} · rated {done} · "
            + (f"first error at step {fe + 1} ({keys_text(k, 'submit', 1)} to stop here) · " if fe is not None else "")
            + f"final answer: {final}" + (" · CANNOT JUDGE" if d.cannot_judge else "")
            + (" · your earlier label, editable" if d.restored else ""))

    def scroll_answers(self, how: str) -> None:
        self.steps.scroll(how)

    def hint(self) -> str:
        k = self.bindings
        return (f"{keys_text(k, 'step_down', 1)}/{keys_text(k, 'step_up', 1)} move · {keys_text(k, 'step_good', 1)} "
                f"{keys_text(k, 'step_neutral', 1)} {keys_text(k, 'step_bad', 1)} rate · "
                f"{keys_text(k, 'final_correct', 1)}/{keys_text(k, 'final_wrong', 1)} final answer · "
                f"{keys_text(k, 'submit', 1)} submit")

    @action("step_down", "process", ("J", "Down"), "Next step", arg=1, repeat=True)
    @action("step_up", "process", ("K", "Up"), "Previous step", arg=-1, repeat=True)
    def move(self, step: int) -> None:
        self.draft.move(step)

    @action("step_good", "process", ("+", "="), "Rate this step +1 (correct and useful)", arg=1)
    @action("step_neutral", "process", "0", "Rate this step 0 (neutral)", arg=0)
    @action("step_bad", "process", "-", "Rate this step −1 (wrong); you may then stop", arg=-1)
    def rate(self, value: int) -> None:
        self.draft.rate(value)

    @action("final_correct", "process", "C", "Final answer correct", arg=True)
    @action("final_wrong", "process", "I", "Final answer incorrect", arg=False)
    def final(self, correct: bool) -> None:
        self.draft.set_final(correct)

    @action("cannot_judge", "process", "X", "Cannot judge this item (again: can)")
    def cannot_judge(self) -> None:
        self.draft.toggle_cannot_judge()

    def toggle_tag(self, index: int) -> None:
        self.draft.toggle_step_tag(index)


for _n in range(1, 10):
    action(f"step_tag_{_n}", "process", f"Ctrl+{_n}", f"Reason tag {_n} on / off for this step", arg=_n - 1)(
        ProcessView.toggle_tag)
