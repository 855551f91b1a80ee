"""The Label and Help menus: what a rater does on the item shown (submit, rationale, back, skip, flag, rewrite,
scroll, guidelines, the model's scores) and the cheat sheet. Each is a registry action on the desk window
(`ui.actions`); what it decides is the session model's (`labeling.session`), the window only shows it."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from prefdesk import __version__
from prefdesk.labeling import ProcessDraft, ReadyLabel
from prefdesk.ui.actions import GLOBAL, action
from prefdesk.ui.operations import Change


@action("model_scores", GLOBAL, "M", "Show or hide the reward model's scores and the judges' verdicts (reviewers and experts)")
def toggle_model_scores(window) -> None:
    window.work.toggle_scores()


@action("submit", GLOBAL, ("Return", "Enter"), "Submit the label (pairwise: leave the dimensions, or keep "
                                               "an earlier label being re-done)")
def submit(window) -> ReadyLabel | None:
    view = window.current_view()
    return view.submit() if view is not None else None


@action("rationale", GLOBAL, "N", "Write a rationale (Esc returns)")
def focus_rationale(window) -> None:
    window.side.rationale.setFocus()


@action("back", GLOBAL, ("Backspace", "Ctrl+Z"), "Back to your previous label (what you give then supersedes it)")
def back(window) -> None:
    window.work.back()


@action("skip", GLOBAL, "S", "Skip this item for now (it comes back later)")
def skip(window) -> None:
    window.work.skip()


@action("flag", GLOBAL, "F", "Flag this item for review (again: take the flag back)")
def toggle_flag(window) -> None:
    if window.work.toggle_flag(window.side.rationale.toPlainText().strip()):
        window.ops.changed.emit(Change.FLAGS)


def shown_answers(window) -> list[tuple[str, int]]:
    """(the name on screen, the candidate position) of each answer of the item shown, in screen order."""
    order = getattr(window.draft, "display_order", None) or tuple(range(len(window.item.candidates)))
    names = ("Left", "Right") if len(order) == 2 else tuple(f"[{n + 1}]" for n in range(len(order)))
    return list(zip(names, order))


@action("whole_text", GLOBAL, "W", "Read the item's texts whole (a pane shows the first 200,000 characters of a text)")
def whole_text(window) -> None:
    from prefdesk.ui.desk.dialogs import WholeTexts

    if not window.item:
        return
    item = window.item
    texts = [("Prompt", item.prompt)] + [(name, item.candidates[pos].text) for name, pos in shown_answers(window)]
    texts += [(f"Step {s.position + 1}", s.text) for s in item.steps]
    window.whole_texts = WholeTexts(window, texts)  # kept: a test (or the rater) reads it while it is open
    window.whole_texts.show()


@action("rewrite", GLOBAL, "R", "Rewrite a candidate (process: replace the current step)")
def rewrite(window) -> None:
    from prefdesk.ui.desk.dialogs import RewriteDialog

    if not window.item:
        return
    choices = window.work.rewrite_choices()
    dialog = RewriteDialog(window, [(name, text) for name, text, _ in choices])
    if dialog.exec() and dialog.editor.toPlainText().strip():
        window.work.rewrite(choices[dialog.which.currentIndex()][2], dialog.editor.toPlainText())
        if isinstance(window.draft, ProcessDraft):
            window.current_view().render()


@action("spans", GLOBAL, "H", "Mark spans in an answer: factual errors, unsafe parts… (stored with the label)")
def mark_spans(window) -> None:
    from prefdesk.ui.desk.spans import SpanDialog

    if not window.item or not window.item.candidates:
        return
    window.span_dialog = SpanDialog(window, window.draft, shown_answers(window))  # kept: a test drives it
    window.span_dialog.exec()
    window.current_view().render()
    window.statusBar().showMessage(f"{len(window.draft.spans)} span(s) marked: they are stored with the label you give")


@action("scroll_down", GLOBAL, "PgDown", "Scroll a page down (the answers, or the prompt after P)", arg="page_down",
        repeat=True)
@action("scroll_up", GLOBAL, "PgUp", "Scroll a page up (the answers, or the prompt after P)", arg="page_up",
        repeat=True)
@action("scroll_top", GLOBAL, "Home", "Scroll to the top (the answers, or the prompt after P)", arg="top")
@action("scroll_end", GLOBAL, "End", "Scroll to the end (the answers, or the prompt after P)", arg="end")
def scroll(window, how: str) -> None:
    view = window.current_view()
    if view is not None:
        view.scroll(how)


@action("context_focus", GLOBAL, "P", "Scroll the prompt (a conversation: its turns) or, again, the answers")
def context_focus(window) -> None:
    view = window.current_view()
    if view is not None:
        view.toggle_scrolling()


@action("context_expand", GLOBAL, "E", "Enlarge the prompt to most of the height (again: back)")
def context_expand(window) -> None:
    view = window.current_view()
    if view is not None:
        view.toggle_expanded()


@action("guidelines", GLOBAL, "G", "Show or hide the guidelines")
def toggle_guidelines(window) -> None:
    window.side.toggle_guidelines()


@action("cheat_sheet", GLOBAL, ("?", "F1"), "Keyboard shortcuts of this view", menu="&Help")
def cheat_sheet(window) -> None:
    from prefdesk.ui.desk.dialogs import CheatSheet

    CheatSheet(window, window.item.kind.value if window.item else GLOBAL, window.bindings).exec()


@action("about", GLOBAL, (), "About PrefDesk", menu="&Help")
def about(window) -> None:
    QMessageBox.about(window, "About PrefDesk", f"PrefDesk {__version__}: collect LLM preference data offline "
                                              "and turn it into reward-model, DPO and PRM training signals.")
