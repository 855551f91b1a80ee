"""The one action registry: name, view, default keys, help text.

Menus, the cheat sheet and remapping are built from it. An action belongs to one view (or to all,
`global`); only the current view's actions are enabled, so the same key can mean "left better" in
the pairwise view and "score 1" in the scalar view without ambiguity.
"""

from __future__ import annotations

from dataclasses import dataclass

GLOBAL = "global"


@dataclass(frozen=True)
class ActionSpec:
    name: str
    view: str
    keys: tuple[str, ...]
    help: str


def _digits(view: str, verb: str, n: int = 9) -> tuple[ActionSpec, ...]:
    return tuple(ActionSpec(f"{view}_{i}", view, (str(i),), f"{verb} {i}") for i in range(1, n + 1))


ACTIONS: tuple[ActionSpec, ...] = (
    # pairwise
    ActionSpec("left_better", "pairwise", ("1", "Left"), "Left is better (in dimensions: left better on this one)"),
    ActionSpec("right_better", "pairwise", ("2", "Right"), "Right is better (in dimensions: right better on this one)"),
    ActionSpec("left_clearly", "pairwise", ("Shift+1", "Shift+Left", "!"), "Left is clearly better"),
    ActionSpec("right_clearly", "pairwise", ("Shift+2", "Shift+Right", "@"), "Right is clearly better"),
    ActionSpec("tie", "pairwise", ("T",), "Tie: equally good"),
    ActionSpec("both_bad", "pairwise", ("B",), "Both bad: neither should be sent"),
    ActionSpec("dimensions", "pairwise", ("Tab",), "Into the dimensions: Left/Right/Space set one and move down"),
    ActionSpec("dim_up", "pairwise", ("Up",), "Previous dimension"),
    ActionSpec("dim_down", "pairwise", ("Down",), "Next dimension"),
    ActionSpec("dim_tie", "pairwise", ("Space",), "Tie on this dimension"),
    ActionSpec("diff", "pairwise", ("D",), "Highlight what differs between the two"),
    # scalar
    *_digits("scalar", "Score", 5),
    # ranking
    *_digits("ranking", "Next place goes to candidate", 9),
    ActionSpec("ranking_tie", "ranking", ("=",), "The next candidate ties with the previous place"),
    ActionSpec("ranking_reset", "ranking", ("Delete",), "Start the order again"),
    # process
    ActionSpec("step_down", "process", ("J", "Down"), "Next step"),
    ActionSpec("step_up", "process", ("K", "Up"), "Previous step"),
    ActionSpec("step_good", "process", ("+", "="), "Rate this step +1 (correct and useful)"),
    ActionSpec("step_neutral", "process", ("0",), "Rate this step 0 (neutral)"),
    ActionSpec("step_bad", "process", ("-",), "Rate this step -1 (wrong); you may then stop"),
    ActionSpec("final_correct", "process", ("C",), "Final answer correct"),
    ActionSpec("final_wrong", "process", ("I",), "Final answer incorrect"),
    ActionSpec("cannot_judge", "process", ("X",), "Cannot judge this item"),
    # every view
    ActionSpec("submit", GLOBAL, ("Return", "Enter"), "Submit the label (pairwise: leave the dimensions)"),
    ActionSpec("rationale", GLOBAL, ("N",), "Write a rationale (Esc returns)"),
    ActionSpec("rewrite", GLOBAL, ("R",), "Rewrite a candidate (process: the current step)"),
    ActionSpec("back", GLOBAL, ("Backspace", "Ctrl+Z"), "Back to the previous label (an edit supersedes it)"),
    ActionSpec("skip", GLOBAL, ("S",), "Skip this item for now"),
    ActionSpec("flag", GLOBAL, ("F",), "Flag this item for review"),
    ActionSpec("guidelines", GLOBAL, ("G",), "Show or hide the guidelines"),
    ActionSpec("cheat_sheet", GLOBAL, ("?", "F1"), "Show every shortcut of this view"),
    ActionSpec("preferences", GLOBAL, ("Ctrl+,",), "Preferences: remap shortcuts"),
)
BY_NAME = {a.name: a for a in ACTIONS}


def conflicts(bindings: dict[str, tuple[str, ...]]) -> list[tuple[str, str, str]]:
    """(key, action, other action) for every key bound twice where both could be enabled at once."""
    seen: dict[tuple[str, str], str] = {}
    found = []
    for spec in ACTIONS:
        for key in bindings.get(spec.name, spec.keys):
            scopes = [spec.view] if spec.view != GLOBAL else sorted({a.view for a in ACTIONS})
            for scope in scopes:
                for probe in {(key.lower(), scope), (key.lower(), GLOBAL)}:
                    other = seen.get(probe)
                    if other and other != spec.name:
                        found.append((key, spec.name, other))
                seen[(key.lower(), scope)] = spec.name
    return found
