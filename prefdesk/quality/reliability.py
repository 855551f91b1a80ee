"""Aggregation by rater reliability: `weighted` (each rater's vote weighted by the log-odds of their
reliability, times their source's trust) and `dawid-skene` (crowd-kit's Dawid-Skene posterior). Both read
the whole project first, then decide each pairwise item; ranking, scalar and process labels aggregate as
`majority` does. Every exported row keeps its weight (the winning share of weight, or the posterior) and
the ids of the labels behind it."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from prefdesk.quality.aggregate import Policy, Vote, _pairwise_out
from prefdesk.quality.report import VERDICTS, Labels, load
from prefdesk.store.project import Project

RELIABILITY_POLICIES = ("weighted", "dawid-skene")
MIN_GOLD = 10  # gold labels a rater needs before their gold accuracy is their reliability
DEFAULT_TRUST = {"human": 1.0, "import": 1.0, "model-judge": 0.5, "rule": 0.5, "online-feedback": 0.3}


class ReliabilityPolicy(Policy):
    """Pairwise verdicts decided project-wide (see module); everything else as `majority`."""

    def __init__(self, name: str, decisions: dict[str, tuple[str, float]]):
        super().__init__("majority")
        self.name = name
        self.decisions = decisions  # label id -> (verdict, weight) of its item

    def pairwise(self, labels: list[Vote]) -> tuple[dict | None, str]:
        decided = self.decisions.get(labels[0].id)
        if decided is None:
            return super().pairwise(labels)
        verdict, weight = decided
        agreeing = [lab for lab in labels if lab.payload["verdict"] == verdict]
        if not agreeing:
            return None, "no label gives the decided verdict"
        out = _pairwise_out(verdict, 1.0, agreeing, labels if len(labels) > 1 else agreeing)
        out["weight"] = round(weight, 4)
        return out, ""


def reliability_policy(project: Project, name: str, trust: dict[str, float] | None = None) -> ReliabilityPolicy:
    if name not in RELIABILITY_POLICIES:
        raise ValueError(f"unknown aggregation {name!r}")
    labs = load(project)
    first = (labs.round == 1) & (labs.verdict >= 0)
    posterior = _dawid_skene_posterior(labs, first) if name == "dawid-skene" else \
        _weighted_votes(labs, first, {**DEFAULT_TRUST, **(trust or {})})
    decisions = {label_id: posterior[int(item)] for label_id, item in zip(labs.ids, labs.item) if int(item) in posterior}
    return ReliabilityPolicy(name, decisions)


def rater_reliability(labs: Labels, first: np.ndarray) -> np.ndarray:
    """Each rater's reliability: gold accuracy with MIN_GOLD gold labels, else agreement with the others'
    majority on shared items; both smoothed towards 0.5 by two pseudo-labels."""
    by_item: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for row in np.flatnonzero(first):
        by_item[int(labs.item[row])].append((int(labs.rater[row]), int(labs.verdict[row])))
    hits = np.zeros(len(labs.raters))
    seen = np.zeros(len(labs.raters))
    for entries in by_item.values():
        for k, (rater, verdict) in enumerate(entries):
            others = [v for j, (_, v) in enumerate(entries) if j != k]
            if others:
                counts = np.bincount(others, minlength=len(VERDICTS))
                if (counts == counts.max()).sum() == 1:
                    seen[rater] += 1
                    hits[rater] += counts.argmax() == verdict
    gold_of = labs.gold[labs.item]
    for rater in range(len(labs.raters)):
        on_gold = first & (labs.rater == rater) & (gold_of >= 0)
        if on_gold.sum() >= MIN_GOLD:
            hits[rater], seen[rater] = (labs.verdict[on_gold] == gold_of[on_gold]).sum(), on_gold.sum()
    return (hits + 1) / (seen + 2)


def _weighted_votes(labs: Labels, first: np.ndarray, trust: dict[str, float]) -> dict[int, tuple[str, float]]:
    reliability = np.clip(rater_reliability(labs, first), 0.05, 0.95)
    log_odds = np.maximum(np.log(reliability / (1 - reliability)), 0.0)  # a rater no better than chance: no say
    totals: dict[int, np.ndarray] = defaultdict(lambda: np.zeros(len(VERDICTS)))
    for row in np.flatnonzero(first):
        weight = log_odds[labs.rater[row]] * trust.get(labs.sources[row], 1.0)
        totals[int(labs.item[row])][labs.verdict[row]] += weight if weight > 0 else 1e-9
    out = {}
    for item, votes in totals.items():
        top = votes.max()
        if (votes == top).sum() == 1:
            out[item] = (VERDICTS[int(votes.argmax())], float(top / votes.sum()))
    return out


def _dawid_skene_posterior(labs: Labels, first: np.ndarray) -> dict[int, tuple[str, float]]:
    rows = np.flatnonzero(first)
    if len(rows) == 0:
        return {}
    import warnings

    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    warnings.filterwarnings("ignore", module="crowdkit")  # crowd-kit 1.4 calls pandas 3 APIs it deprecates

    frame = pd.DataFrame({"task": labs.item[rows], "worker": labs.rater[rows], "label": labs.verdict[rows]})
    probas = DawidSkene(n_iter=50, tol=1e-5).fit(frame).probas_
    given = frame.groupby("task")["label"].agg(set)
    out = {}
    for task, row in probas.iterrows():
        allowed = [c for c in row.index if c in given[task]]  # only a verdict someone gave
        best = max(allowed, key=lambda c: row[c])
        out[int(task)] = (VERDICTS[int(best)], float(row[best]))
    return out
