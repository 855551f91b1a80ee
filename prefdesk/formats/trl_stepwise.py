"""TRL stepwise supervision: prompt, completions (steps), labels (one boolean a step)."""

from __future__ import annotations

from prefdesk.domain import ItemKind, LabelKind, NewLabel, Step
from prefdesk.formats import fields as F
from prefdesk.formats.base import Converted, Format, item
from prefdesk.formats.errors import FieldError


def matches(rec: dict) -> bool:
    return "completions" in rec and "labels" in rec and "prompt" in rec


def convert(rec: dict) -> Converted:
    prompt = F.prompt(rec)
    steps = F.listof(rec, "completions")
    labels = F.listof(rec, "labels")
    if len(steps) != len(labels):
        raise FieldError("labels", f"has {len(labels)} entries for {len(steps)} completions")
    for i, s in enumerate(steps):
        if not isinstance(s, str):
            raise FieldError(f"completions[{i}]", "expected text")
    for i, lab in enumerate(labels):
        if not isinstance(lab, bool):
            raise FieldError(f"labels[{i}]", f"expected true or false, got {lab!r}")
    ratings = [1 if ok else -1 for ok in labels]
    payload = {"ratings": ratings, "first_error": ratings.index(-1) if -1 in ratings else None,
               "final_correct": None, "cannot_judge": False, "replacement": None}
    new = item(ItemKind.PROCESS, prompt, (), F.meta_of(rec, {"prompt", "completions", "labels"}),
               steps=tuple(Step(i, s) for i, s in enumerate(steps)))
    return [(new, [NewLabel(LabelKind.PROCESS, payload, "import")])]


FORMAT = Format("trl-stepwise", "TRL stepwise supervision: prompt, completions, labels", matches, convert, public=True)
