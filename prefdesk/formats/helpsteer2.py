"""HelpSteer2: per-response attribute ratings (0-4), and its pairwise preference form."""

from __future__ import annotations

from prefdesk.domain import ItemKind, LabelKind, NewLabel, Verdict
from prefdesk.formats import fields as F
from prefdesk.formats.base import Converted, Format, candidates, item

ATTRIBUTES = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")
RATER = "helpsteer2"


def matches(rec: dict) -> bool:
    return "response" in rec and "helpfulness" in rec


def convert(rec: dict) -> Converted:
    prompt = F.prompt(rec)
    response = F.text(rec, "response")
    dims = {a: F.number(rec, a, 0, 4) for a in ATTRIBUTES}
    payload = {"score": dims["helpfulness"], "dims": dims, "scale": [0, 4]}
    meta = F.meta_of(rec, {"prompt", "response", *ATTRIBUTES})
    return [(item(ItemKind.SCALAR, prompt, candidates(response), meta, source="helpsteer2"),
             [NewLabel(LabelKind.SCALAR, payload, RATER)])]


def matches_preference(rec: dict) -> bool:
    return "response_1" in rec and "response_2" in rec and "preference_strength" in rec


def convert_preference(rec: dict) -> Converted:
    prompt = F.prompt(rec)
    r1, r2 = F.text(rec, "response_1"), F.text(rec, "response_2")
    strength = F.number(rec, "preference_strength", -3, 3)
    verdict = Verdict.TIE if strength == 0 else (Verdict.A if strength < 0 else Verdict.B)
    payload = {
        "verdict": verdict.value, "strength": None if strength == 0 else ("clear" if abs(strength) >= 2 else "slight"),
        "dims": {}, "reason_tags": [], "rationale": rec.get("preference_statement") or None,
        "margin": abs(strength),
    }
    meta = F.meta_of(rec, {"prompt", "response_1", "response_2", "preference_strength", "preference_statement"})
    return [(item(ItemKind.PAIRWISE, prompt, candidates(r1, r2), meta, source="helpsteer2"),
             [NewLabel(LabelKind.PAIRWISE, payload, RATER)])]


SCALAR = Format("helpsteer2", "HelpSteer2: prompt, response, five 0-4 attributes", matches, convert, public=True)
PREFERENCE = Format("helpsteer2-preference", "HelpSteer2 preference: response_1, response_2, preference_strength",
                    matches_preference, convert_preference, public=True)
