"""Work to annotate: a prompt with responses, a pair, one response, or reasoning steps."""

from __future__ import annotations

from prefdesk.domain import Candidate, ItemKind, Step
from prefdesk.formats import fields as F
from prefdesk.formats.base import Converted, Format, item
from prefdesk.formats.errors import FieldError


def matches(rec: dict) -> bool:
    return "prompt" in rec and any(k in rec for k in ("responses", "response_a", "response", "steps"))


def _candidate(value: object, i: int, field: str) -> Candidate:
    if isinstance(value, dict):
        text, msgs = F.response(value, field)
        return Candidate(i, text, msgs, value.get("model"), value.get("gen_params"))
    text, msgs = F.response(value, field)
    return Candidate(i, text, msgs)


def convert(rec: dict) -> Converted:
    prompt = F.prompt(rec)
    if "responses" in rec:
        responses = F.listof(rec, "responses", min_len=2)
        cands = tuple(_candidate(r, i, f"responses[{i}]") for i, r in enumerate(responses))
        kind = ItemKind.PAIRWISE if len(cands) == 2 else ItemKind.RANKING
        return [(item(kind, prompt, cands, F.meta_of(rec, {"prompt", "responses"})), [])]
    if "response_a" in rec:
        cands = (_candidate(rec.get("response_a"), 0, "response_a"),
                 _candidate(rec.get("response_b", None) if "response_b" in rec else _missing("response_b"), 1, "response_b"))
        return [(item(ItemKind.PAIRWISE, prompt, cands, F.meta_of(rec, {"prompt", "response_a", "response_b"})), [])]
    if "response" in rec:
        cands = (_candidate(rec["response"], 0, "response"),)
        return [(item(ItemKind.SCALAR, prompt, cands, F.meta_of(rec, {"prompt", "response"})), [])]
    steps = []
    for i, s in enumerate(F.listof(rec, "steps")):
        if isinstance(s, str):
            steps.append(Step(i, s))
        elif isinstance(s, dict) and isinstance(s.get("text", s.get("output")), str):
            steps.append(Step(i, s.get("text", s.get("output")), s.get("state")))
        else:
            raise FieldError(f"steps[{i}]", "expected text or {text|output, state}")
    return [(item(ItemKind.PROCESS, prompt, (), F.meta_of(rec, {"prompt", "steps"}), steps=tuple(steps)), [])]


def _missing(field: str):
    raise FieldError(field, "missing")


FORMAT = Format("unlabelled", "prompt with responses / response_a,b / response / steps, to annotate", matches, convert)
