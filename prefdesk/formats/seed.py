"""The spec's own four JSONL shapes: pairwise, scalar, process, pairwise_multi_dim (with labels)."""

from __future__ import annotations

from prefdesk.domain import ItemKind, LabelKind, NewLabel, Step, Verdict
from prefdesk.formats import fields as F
from prefdesk.formats.base import Converted, Format, candidates, item
from prefdesk.formats.errors import FieldError

TYPES = ("pairwise", "scalar", "process", "pairwise_multi_dim")
_VERDICTS = {"A": Verdict.A, "B": Verdict.B, "tie": Verdict.TIE, "both_bad": Verdict.BOTH_BAD,
             "both-bad": Verdict.BOTH_BAD}
_A = Verdict.A.value


def _type_of(rec: dict) -> str | None:
    if rec.get("type") in TYPES:
        return rec["type"]
    if "winner" in rec and "loser" in rec:
        return "pairwise"
    if "judgement" in rec and "candidates" in rec:
        return "pairwise_multi_dim"
    if "score" in rec and "response" in rec:
        return "scalar"
    if isinstance(rec.get("steps"), list) and rec["steps"] and isinstance(rec["steps"][0], dict) and "reward" in rec["steps"][0]:
        return "process"
    return None


def matches(rec: dict) -> bool:
    return _type_of(rec) is not None


def _rater(meta: dict) -> str:
    return str(meta.get("rater") or "import")


def _verdict(value: object, field: str) -> Verdict:
    if not isinstance(value, str) or value not in _VERDICTS:
        raise FieldError(field, f"expected one of A, B, tie, both_bad, got {value!r}")
    return _VERDICTS[value]


def convert(rec: dict) -> Converted:
    kind = _type_of(rec)
    if kind is None:
        raise FieldError("type", f"expected one of {', '.join(TYPES)}, got {rec.get('type')!r}")
    if "meta" in rec and not isinstance(rec["meta"], dict):
        raise FieldError("meta", "expected an object")
    meta = dict(rec.get("meta") or {})
    prompt = F.prompt(rec)
    if kind == "pairwise":
        winner, loser = F.text(rec, "winner"), F.text(rec, "loser")
        payload = {"verdict": _A, "strength": None, "dims": {}, "reason_tags": [], "rationale": None}
        return [(item(ItemKind.PAIRWISE, prompt, candidates(winner, loser), meta),
                 [NewLabel(LabelKind.PAIRWISE, payload, _rater(meta))])]
    if kind == "pairwise_multi_dim":
        cands = F.obj(rec, "candidates")
        a, b = F.text(cands, "A"), F.text(cands, "B")
        judgement = F.obj(rec, "judgement")
        overall = _verdict(judgement.get("overall_winner"), "judgement.overall_winner")
        dims = judgement.get("dims") or {}
        if not isinstance(dims, dict):
            raise FieldError("judgement.dims", "expected an object of dimension: A|B|tie")
        tags = judgement.get("reason_tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise FieldError("judgement.reason_tags", "expected a list of text")
        payload = {
            "verdict": overall.value, "strength": judgement.get("strength"),
            "dims": {d: _verdict(v, f"judgement.dims.{d}").value for d, v in dims.items()},
            "reason_tags": tags, "rationale": judgement.get("rationale"),
        }
        return [(item(ItemKind.PAIRWISE, prompt, candidates(a, b), meta),
                 [NewLabel(LabelKind.PAIRWISE, payload, _rater(meta))])]
    if kind == "scalar":
        response = F.text(rec, "response")
        score = F.number(rec, "score")
        return [(item(ItemKind.SCALAR, prompt, candidates(response), meta),
                 [NewLabel(LabelKind.SCALAR, {"score": score, "dims": {}}, _rater(meta))])]
    steps_in = F.listof(rec, "steps")
    steps, ratings = [], []
    for i, step in enumerate(steps_in):
        if not isinstance(step, dict):
            raise FieldError(f"steps[{i}]", "expected an object with state, output, reward")
        output = F.text(step, "output") if "output" in step else None
        if output is None:
            raise FieldError(f"steps[{i}].output", "missing")
        reward = step.get("reward")
        if reward not in (1, 0, -1):
            raise FieldError(f"steps[{i}].reward", f"expected 1, 0 or -1, got {reward!r}")
        steps.append(Step(i, output, step.get("state")))
        ratings.append(reward)
    first_error = ratings.index(-1) if -1 in ratings else None
    payload = {"ratings": ratings, "first_error": first_error, "final_correct": None,
               "cannot_judge": False, "replacement": None}
    return [(item(ItemKind.PROCESS, prompt, (), meta, steps=tuple(steps)),
             [NewLabel(LabelKind.PROCESS, payload, _rater(meta))])]


FORMAT = Format("seed", "PrefDesk seed shapes: pairwise, scalar, process, pairwise_multi_dim", matches, convert)
