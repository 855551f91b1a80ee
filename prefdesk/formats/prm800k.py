"""PRM800K: step-level ratings (-1/0/+1) of model solutions to math problems."""

from __future__ import annotations

from prefdesk.domain import ItemKind, LabelKind, NewLabel, Step
from prefdesk.formats import fields as F
from prefdesk.formats.base import Converted, Format, item
from prefdesk.formats.errors import FieldError


def matches(rec: dict) -> bool:
    return isinstance(rec.get("question"), dict) and isinstance(rec.get("label"), dict)


def convert(rec: dict) -> Converted:
    question = F.obj(rec, "question")
    problem = F.text(question, "problem") if "problem" in question else None
    if problem is None:
        raise FieldError("question.problem", "missing")
    label = F.obj(rec, "label")
    steps_in = F.listof(label, "steps")
    steps, ratings, replacement, flagged = [], [], None, False
    for i, step in enumerate(steps_in):
        if not isinstance(step, dict):
            raise FieldError(f"label.steps[{i}]", "expected an object")
        comps = step.get("completions")
        if not isinstance(comps, list) or not comps:
            raise FieldError(f"label.steps[{i}].completions", "expected a non-empty list")
        chosen = step.get("chosen_completion")
        if chosen is not None and not (isinstance(chosen, int) and 0 <= chosen < len(comps)):
            raise FieldError(f"label.steps[{i}].chosen_completion", f"{chosen!r} is not an index of completions")
        comp = comps[chosen if chosen is not None else 0]
        if not isinstance(comp, dict) or not isinstance(comp.get("text"), str):
            raise FieldError(f"label.steps[{i}].completions", "each completion needs text")
        rating = comp.get("rating")
        if rating not in (1, 0, -1):
            raise FieldError(f"label.steps[{i}].completions.rating", f"expected 1, 0 or -1, got {rating!r}")
        flagged = flagged or bool(comp.get("flagged"))
        steps.append(Step(i, comp["text"]))
        ratings.append(rating)
        if step.get("human_completion"):
            replacement = {"step": i, "text": step["human_completion"]}
    finish = label.get("finish_reason")
    payload = {
        "ratings": ratings, "first_error": ratings.index(-1) if -1 in ratings else None,
        "final_correct": None, "cannot_judge": False, "replacement": replacement, "flagged": flagged,
    }
    meta = {k: rec[k] for k in ("timestamp", "generation", "is_initial_screening_question") if k in rec}
    meta.update({"finish_reason": finish, "task": "math"})
    for key in ("ground_truth_answer", "pre_generated_answer"):
        if key in question:
            meta[key] = question[key]
    rater = f"prm800k:{str(rec.get('labeler', 'unknown'))[:8]}"
    new = item(ItemKind.PROCESS, (problem, None), (), meta, steps=tuple(steps),
               is_gold=bool(rec.get("is_quality_control_question")), source="prm800k")
    total = F.duration_ms(label.get("total_time"), "label.total_time")
    return [(new, [NewLabel(LabelKind.PROCESS, payload, rater, created_at=_iso(rec.get("timestamp")),
                            duration_ms=total)])]


def _iso(ts: object) -> str | None:
    return f"{ts[:23]}Z" if isinstance(ts, str) and len(ts) >= 19 else None


FORMAT = Format("prm800k", "PRM800K step ratings (question, label.steps)", matches, convert, public=True)
