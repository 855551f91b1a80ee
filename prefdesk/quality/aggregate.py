"""Aggregation policies: several current labels of one item -> one training signal.

Chosen at export time; the raw labels stay as given. Every policy takes the item's labels (oldest
first) and returns the aggregated payload, or None with a reason when the item yields no signal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from prefdesk.domain import Verdict
from prefdesk.domain.policies import BASIC_POLICIES


class Vote(Protocol):
    """What a policy reads of a label: its id and payload (a `Label`, or an export's lighter row)."""

    id: str
    payload: dict[str, Any]

STRENGTH_MARGIN = {None: 1.0, "slight": 1.0, "clear": 2.0}


def mean(values) -> float:
    """Float mean; `statistics.mean` goes through Fractions and costs ~10x more a call."""
    values = list(values)
    return sum(values) / len(values)


def _majority(values: list) -> tuple[object, float] | None:
    """The most common value and its share, or None if the top is shared."""
    counts = Counter(values).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0], counts[0][1] / len(values)


def pairwise_majority(labels: list[Vote]) -> tuple[dict | None, str]:
    """Majority verdict; weight = share agreeing; dims by their own majority; margin = mean strength."""
    if len(labels) == 1:  # most items carry one label: skip the counting
        return _pairwise_out(labels[0].payload["verdict"], 1.0, labels, labels), ""
    top = _majority([lab.payload["verdict"] for lab in labels])
    if top is None:
        return None, "no majority"
    verdict, share = top
    agreeing = [lab for lab in labels if lab.payload["verdict"] == verdict]
    return _pairwise_out(verdict, share, agreeing, labels), ""


def pairwise_latest(labels: list[Vote]) -> tuple[dict | None, str]:
    last = labels[-1]
    return _pairwise_out(last.payload["verdict"], 1.0, [last], [last]), ""


def margin_of(payload: dict) -> float:
    """A label's margin: its own, or its strength's."""
    return payload["margin"] if "margin" in payload else STRENGTH_MARGIN.get(payload.get("strength"), 1.0)


def _pairwise_out(verdict: str, share: float, agreeing: list[Vote], labels: list[Vote]) -> dict:
    if len(labels) == 1:
        p = labels[0].payload
        return {"verdict": verdict, "weight": 1.0, "margin": margin_of(p), "dims": dict(sorted((p.get("dims") or {}).items())),
                "reason_tags": sorted(p.get("reason_tags") or []),
                "rationales": [p["rationale"]] if p.get("rationale") else [], "label_ids": [labels[0].id]}
    dims: dict[str, str] = {}
    for dim in sorted({d for lab in labels for d in lab.payload.get("dims") or {}}):
        top = _majority([lab.payload["dims"][dim] for lab in labels if dim in (lab.payload.get("dims") or {})])
        if top is not None:
            dims[dim] = top[0]
    tags = sorted({t for lab in agreeing for t in lab.payload.get("reason_tags") or []})
    rationales = [lab.payload["rationale"] for lab in agreeing if lab.payload.get("rationale")]
    return {"verdict": verdict, "weight": round(share, 4), "margin": round(mean(margin_of(lab.payload) for lab in agreeing), 4),
            "dims": dims, "reason_tags": tags, "rationales": rationales, "label_ids": [lab.id for lab in agreeing]}


def ranking_pairs(labels: list[Vote], latest: bool) -> list[tuple[int, int, float, float, list[str]]]:
    """Implied pairs (better, worse, weight, margin, label ids) from ranking labels; tiers give no pair."""
    use = labels[-1:] if latest else labels
    votes: dict[tuple[int, int], list[tuple[str, int]]] = {}
    for lab in use:
        tier_of = {pos: t for t, tier in enumerate(lab.payload["order"]) for pos in tier}
        for i in tier_of:
            for j in tier_of:
                if i < j and tier_of[i] != tier_of[j]:
                    winner = (i, j) if tier_of[i] < tier_of[j] else (j, i)
                    votes.setdefault((i, j), []).append((winner, abs(tier_of[i] - tier_of[j]), lab.id))
    pairs = []
    for (i, j), vs in sorted(votes.items()):
        top = _majority([w for w, _, _ in vs])
        if top is None or len(vs) < len(use) / 2:
            continue
        (better, worse), _ = top
        agreeing = [(gap, lid) for w, gap, lid in vs if w == (better, worse)]
        pairs.append((better, worse, round(len(agreeing) / len(use), 4), float(mean(g for g, _ in agreeing)),
                      [lid for _, lid in agreeing]))
    return pairs


def scalar_mean(labels: list[Vote], latest: bool) -> dict:
    use = labels[-1:] if latest else labels
    dims = sorted({d for lab in use for d in lab.payload.get("dims") or {}})
    return {
        "score": round(mean(lab.payload["score"] for lab in use), 4),
        "dims": {d: round(mean(lab.payload["dims"][d] for lab in use if d in (lab.payload.get("dims") or {})), 4) for d in dims},
        "n_labels": len(use), "label_ids": [lab.id for lab in use],
    }


def process_majority(labels: list[Vote], latest: bool) -> tuple[list[int] | None, str]:
    """One rating a step: the majority across labels (a shared top takes the lower rating, to be safe)."""
    use = [lab for lab in (labels[-1:] if latest else labels) if not lab.payload.get("cannot_judge")]
    if not use:
        return None, "cannot judge"
    n_steps = max(len(lab.payload["ratings"]) for lab in use)
    ratings = []
    for s in range(n_steps):
        votes = [lab.payload["ratings"][s] for lab in use if s < len(lab.payload["ratings"]) and lab.payload["ratings"][s] is not None]
        if not votes:
            break
        counts = Counter(votes).most_common()
        best = counts[0][1]
        ratings.append(min(v for v, c in counts if c == best))
    return ratings, ""


def is_decision(label: Vote) -> bool:
    """An arbitration decision (`quality.arbitration`): it names the labels it decided between."""
    return "arbitrates" in label.payload


def pairwise_arbitrated(labels: list[Vote]) -> tuple[dict | None, str]:
    """The latest arbitration decision where there is one (weight 1; the label ids are the decision's and
    the raters' who gave the same verdict), else the majority."""
    decision = next((lab for lab in reversed(labels) if is_decision(lab)), None)
    if decision is None:
        return pairwise_majority(labels)
    verdict = decision.payload["verdict"]
    behind = [decision, *[lab for lab in labels if not is_decision(lab) and lab.payload["verdict"] == verdict]]
    out = _pairwise_out(verdict, 1.0, behind, behind)
    out["weight"] = 1.0
    return out, ""


def _votes_only(policy: Callable[[list[Vote]], tuple[dict | None, str]]) -> Callable[[list[Vote]], tuple[dict | None, str]]:
    """A policy over the raters' labels only: an arbitration decision is not one more vote."""
    def apply(labels: list[Vote]) -> tuple[dict | None, str]:
        votes = [lab for lab in labels if not is_decision(lab)]
        return policy(votes) if votes else (None, "an arbitration decision only")
    return apply


PairwisePolicy = Callable[[list[Vote]], tuple[dict | None, str]]
PAIRWISE_POLICIES: dict[str, PairwisePolicy] = {"majority": _votes_only(pairwise_majority),
                                                "latest": _votes_only(pairwise_latest),
                                                "arbitrated": pairwise_arbitrated}


def is_decisive(verdict: str) -> bool:
    return Verdict(verdict).is_decisive


class Policy:
    """A named aggregation policy: `majority` (default), `latest`, or `arbitrated` (the arbitration decision
    where there is one, else the majority)."""

    NAMES = BASIC_POLICIES

    def __init__(self, name: str = "majority"):
        if name not in self.NAMES:
            raise ValueError(f"unknown aggregation {name!r}; choose one of {', '.join(self.NAMES)}")
        self.name = name
        self.latest = name == "latest"

    def pairwise(self, labels: list[Vote]) -> tuple[dict | None, str]:
        return PAIRWISE_POLICIES[self.name](labels)

    def ranking(self, labels: list[Vote]) -> list[tuple[int, int, float, float, list[str]]]:
        return ranking_pairs(labels, self.latest)

    def scalar(self, labels: list[Vote]) -> dict:
        return scalar_mean(labels, self.latest)

    def process(self, labels: list[Vote]) -> tuple[list[int] | None, str]:
        return process_majority(labels, self.latest)
