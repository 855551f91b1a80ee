"""UltraFeedback: raw (instruction + rated completions) and binarized (chosen/rejected messages + scores)."""

from __future__ import annotations

from prefdesk.domain import Candidate, ItemKind, LabelKind, LabelSource, NewLabel, Verdict
from prefdesk.formats import fields as F
from prefdesk.formats.base import Converted, Format, candidates, item
from prefdesk.formats.errors import FieldError
from prefdesk.formats.trl_preference import pair_from

import math

JUDGE = "ultrafeedback:gpt-4"


def _rating(value: object) -> float | None:
    try:
        number = float(value)  # UltraFeedback stores ratings as text; "N/A" means not rated
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def matches_raw(rec: dict) -> bool:
    return "instruction" in rec and "completions" in rec


def convert_raw(rec: dict) -> Converted:
    instruction = F.text(rec, "instruction")
    comps = F.listof(rec, "completions", min_len=2)
    cands, scores, dims = [], [], []
    for i, c in enumerate(comps):
        if not isinstance(c, dict):
            raise FieldError(f"completions[{i}]", "expected an object")
        cands.append(Candidate(i, F.text(c, "response"), None, c.get("model"), None, None))
        overall = c.get("overall_score")
        if overall is None or _rating(overall) is None:
            raise FieldError(f"completions[{i}].overall_score", "missing or not a number")
        scores.append(float(overall))
        ann = c.get("annotations") or {}
        if not isinstance(ann, dict):
            raise FieldError(f"completions[{i}].annotations", "expected an object of aspect: {Rating, Rationale}")
        dims.append({aspect: _rating(v.get("Rating")) for aspect, v in ann.items() if isinstance(v, dict)})
    tiers: dict[float, list[int]] = {}
    for i, s in enumerate(scores):
        tiers.setdefault(s, []).append(i)
    order = [tiers[s] for s in sorted(tiers, reverse=True)]
    kind = ItemKind.PAIRWISE if len(cands) == 2 else ItemKind.RANKING
    meta = F.meta_of(rec, {"instruction", "completions"})
    if kind is ItemKind.PAIRWISE:
        verdict = Verdict.TIE if scores[0] == scores[1] else (Verdict.A if scores[0] > scores[1] else Verdict.B)
        payload = {"verdict": verdict.value, "strength": None, "dims": {}, "reason_tags": [], "rationale": None,
                   "scores": scores}
        label = NewLabel(LabelKind.PAIRWISE, payload, JUDGE, LabelSource.MODEL_JUDGE)
    else:
        label = NewLabel(LabelKind.RANKING, {"order": order, "scores": scores, "dims": dims}, JUDGE, LabelSource.MODEL_JUDGE)
    return [(item(kind, (instruction, None), tuple(cands), meta, source="ultrafeedback"), [label])]


def matches_binarized(rec: dict) -> bool:
    return "chosen" in rec and "rejected" in rec and "score_chosen" in rec


def convert_binarized(rec: dict) -> Converted:
    prompt, (good, bad), msgs = pair_from(rec)
    sc, sr = F.number(rec, "score_chosen"), F.number(rec, "score_rejected")
    verdict = Verdict.TIE if sc == sr else Verdict.A
    payload = {"verdict": verdict.value, "strength": None, "dims": {}, "reason_tags": [], "rationale": None,
               "scores": [sc, sr], "margin": sc - sr}
    meta = F.meta_of(rec, {"prompt", "chosen", "rejected", "score_chosen", "score_rejected", "messages"})
    new = item(ItemKind.PAIRWISE, prompt, candidates(good, bad, messages=msgs), meta, source="ultrafeedback")
    return [(new, [NewLabel(LabelKind.PAIRWISE, payload, JUDGE, LabelSource.MODEL_JUDGE)])]


RAW = Format("ultrafeedback", "UltraFeedback: instruction, completions with annotations", matches_raw, convert_raw, public=True)
BINARIZED = Format("ultrafeedback-binarized", "UltraFeedback binarized: chosen/rejected + scores",
                   matches_binarized, convert_binarized, public=True)
