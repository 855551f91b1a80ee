"""The shape of each label kind's payload (see `prefdesk.domain.models`), checked where labels arrive
from outside the desk: the `labels` exchange format and a rater file's merge (`store.merge`)."""

from __future__ import annotations

from typing import Any

from prefdesk.domain import LabelKind, Strength, Verdict

_VERDICTS = {v.value for v in Verdict}
_STRENGTHS = {s.value for s in Strength}


def payload_problems(kind: LabelKind, payload: Any, n_candidates: int | None, n_steps: int | None,
                     texts: list[str] | None = None) -> list[tuple[str, str]]:
    """(field, problem) for everything wrong with a payload of this kind on an item of that size. A size
    of None is not known yet (an item named by id only): positions are then checked where the item is
    (see `candidates_named`). With the candidates' `texts`, marked spans are checked against them."""
    if not isinstance(payload, dict):
        return [("payload", "expected an object")]
    check = {LabelKind.PAIRWISE: _pairwise, LabelKind.RANKING: _ranking, LabelKind.SCALAR: _scalar,
             LabelKind.PROCESS: _process, LabelKind.REWRITE: _rewrite, LabelKind.BINARY: _binary}[kind]
    problems = check(payload, n_candidates, n_steps) + span_problems(payload.get("spans"), n_candidates, texts)
    return [(f"payload.{field}" if field else "payload", problem) for field, problem in problems]


def span_problems(spans: Any, n: int | None, texts: list[str] | None) -> list[tuple[str, str]]:
    """A label's marked spans: `[{candidate, start, end, text, label, comment}]`, character offsets into the
    candidate's stored text, `text` the characters between them when marked (a text changed since is refused)."""
    if spans is None:
        return []
    if not isinstance(spans, list):
        return [("spans", "expected a list of {candidate, start, end, text, label, comment}")]
    out = []
    for i, s in enumerate(spans):
        where = f"spans[{i}]"
        if not isinstance(s, dict) or not all(isinstance(s.get(k), int) and not isinstance(s.get(k), bool)
                                              for k in ("candidate", "start", "end")):
            out.append((where, "expected integer candidate, start and end"))
            continue
        if not isinstance(s.get("label"), str) or not isinstance(s.get("text"), str):
            out.append((where, "expected a label and the marked text"))
            continue
        if s.get("comment") is not None and not isinstance(s["comment"], str):
            out.append((f"{where}.comment", "expected text or null"))
        cand, start, end = s["candidate"], s["start"], s["end"]
        count = len(texts) if texts is not None else n
        if cand < 0 or (count is not None and cand >= count):
            out.append((f"{where}.candidate", f"candidate {cand} is not one of the item's {count}"))
        elif not 0 <= start < end:
            out.append((where, f"offsets {start}..{end}: expected 0 <= start < end"))
        elif texts is not None and end > len(texts[cand]):
            out.append((where, f"offsets {start}..{end} fall outside candidate {cand}'s text ({len(texts[cand])} "
                               "characters)"))
        elif texts is not None and texts[cand][start:end] != s["text"]:
            out.append((where, f"offsets {start}..{end} of candidate {cand} read {texts[cand][start:end][:40]!r}, "
                               f"not the marked {s['text'][:40]!r}: the text changed since it was marked"))
    return out


def candidates_named(kind: LabelKind, payload: dict) -> int:
    """How many candidates an item needs for this (valid) payload to make sense."""
    if kind is LabelKind.PAIRWISE:
        return 2
    if kind is LabelKind.RANKING:
        return len([p for tier in payload["order"] for p in tier])
    if kind is LabelKind.REWRITE:
        return max(payload["original"], payload["rewrite"]) + 1
    return 1 if kind in (LabelKind.SCALAR, LabelKind.BINARY) else 0


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _pairwise(p: dict, n: int | None, _steps: int | None) -> list[tuple[str, str]]:
    out = []
    if p.get("verdict") not in _VERDICTS:
        out.append(("verdict", f"expected one of {', '.join(sorted(_VERDICTS))}, got {p.get('verdict')!r}"))
    if p.get("strength") is not None and p["strength"] not in _STRENGTHS:
        out.append(("strength", f"expected slight, clear or null, got {p['strength']!r}"))
    dims = p.get("dims") or {}
    if not isinstance(dims, dict):
        out.append(("dims", "expected an object of dimension: verdict"))
    else:
        out += [(f"dims.{d}", f"expected one of {', '.join(sorted(_VERDICTS))}, got {v!r}")
                for d, v in dims.items() if v not in _VERDICTS]
    tags = p.get("reason_tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        out.append(("reason_tags", "expected a list of text"))
    if p.get("rationale") is not None and not isinstance(p["rationale"], str):
        out.append(("rationale", "expected text or null"))
    if n is not None and n < 2:
        out.append(("verdict", f"a pairwise label needs an item with two candidates, this one has {n}"))
    return out


def _binary(p: dict, n: int | None, _steps: int | None) -> list[tuple[str, str]]:
    out = [] if p.get("desirable") in (True, False) else [("desirable", f"expected true or false, got "
                                                                        f"{p.get('desirable')!r}")]
    if p.get("candidate", 0) != 0 or (n is not None and n < 1):
        out.append(("candidate", "a binary label judges candidate 0 of an item that has one"))
    return out


def _ranking(p: dict, n: int | None, _steps: int | None) -> list[tuple[str, str]]:
    order = p.get("order")
    if not isinstance(order, list) or not all(isinstance(t, list) and t for t in order):
        return [("order", "expected a list of places, each a non-empty list of candidate positions")]
    flat = [x for t in order for x in t]
    size = len(flat) if n is None else n
    if sorted(flat) != list(range(size)) or any(isinstance(x, bool) for x in flat):
        return [("order", f"expected each of the {size} candidate positions 0..{size - 1} once, got {flat!r}")]
    return []


def _scalar(p: dict, _n: int | None, _steps: int | None) -> list[tuple[str, str]]:
    out = [] if _number(p.get("score")) else [("score", f"expected a number, got {p.get('score')!r}")]
    dims = p.get("dims") or {}
    if not isinstance(dims, dict) or not all(_number(v) for v in dims.values()):
        out.append(("dims", "expected an object of dimension: number"))
    return out


def _process(p: dict, _n: int | None, steps: int | None) -> list[tuple[str, str]]:
    out = []
    ratings = p.get("ratings")
    if not isinstance(ratings, list) or any(r not in (1, 0, -1, None) or isinstance(r, bool) for r in ratings):
        out.append(("ratings", "expected a list of 1, 0, -1 (or null: not rated)"))
    elif steps is not None and len(ratings) > steps:
        out.append(("ratings", f"{len(ratings)} ratings for {steps} steps"))
    if p.get("final_correct") not in (True, False, None):
        out.append(("final_correct", "expected true, false or null"))
    rep = p.get("replacement")
    if rep is not None and not (isinstance(rep, dict) and isinstance(rep.get("text"), str)
                                and isinstance(rep.get("step"), int) and 0 <= rep["step"] < (steps or 10**9)):
        out.append(("replacement", "expected null or {step: a step position, text}"))
    tags = p.get("step_tags")
    if tags is not None and not (isinstance(tags, dict) and all(
            k.isdigit() and int(k) < (steps or 10**9) and isinstance(v, list) and all(isinstance(t, str) for t in v)
            for k, v in tags.items())):
        out.append(("step_tags", "expected {step position: [reason tag, ...]}"))
    return out


def _rewrite(p: dict, n: int | None, _steps: int | None) -> list[tuple[str, str]]:
    ok = all(isinstance(p.get(k), int) and not isinstance(p.get(k), bool) and 0 <= p[k] < (n or 10**9)
             for k in ("original", "rewrite"))
    return [] if ok and p["original"] != p["rewrite"] else [("", "expected {original, rewrite}: two different "
                                                                 "candidate positions of the item")]
