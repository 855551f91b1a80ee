"""The one action registry: name, default keys, help text. Menus and the cheat sheet are built from it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActionSpec:
    name: str
    keys: tuple[str, ...]
    help: str
    menu: str


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("left_better", ("1", "Left"), "Left response is better (scalar: score 1)", "Verdict"),
    ActionSpec("right_better", ("2", "Right"), "Right response is better (scalar: score 2)", "Verdict"),
    ActionSpec("left_clearly", ("Shift+1", "Shift+Left", "!"), "Left is clearly better", "Verdict"),
    ActionSpec("right_clearly", ("Shift+2", "Shift+Right", "@"), "Right is clearly better", "Verdict"),
    ActionSpec("tie", ("T",), "Tie: equally good", "Verdict"),
    ActionSpec("both_bad", ("B",), "Both bad: neither should be sent", "Verdict"),
    ActionSpec("score_3", ("3",), "Scalar score 3", "Score"),
    ActionSpec("score_4", ("4",), "Scalar score 4", "Score"),
    ActionSpec("score_5", ("5",), "Scalar score 5", "Score"),
    ActionSpec("back", ("Backspace", "Ctrl+Z"), "Back to the previous label (an edit supersedes it)", "Go"),
    ActionSpec("skip", ("S",), "Skip this item for now", "Go"),
    ActionSpec("cheat_sheet", ("?", "F1"), "Show every shortcut", "Help"),
)
BY_NAME = {a.name: a for a in ACTIONS}
