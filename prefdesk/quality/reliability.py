"""Aggregation by rater reliability: `weighted` (each rater's vote weighted by the log-odds of their
reliability, times their source's trust as the lead set it in `source_trust`) and `dawid-skene` (the
Dawid-Skene posterior, `quality.dawid_skene`). Both read the whole project first, then decide each pairwise item; ranking, scalar and process labels aggregate as
`majority` does. Every exported row keeps its weight (the winning share of weight, or the posterior) and
the ids of the labels behind it."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from prefdesk.quality.aggregate import Policy, Vote, _pairwise_out, is_decision, pairwise_majority
from prefdesk.quality.labels_table import SOURCES, VERDICTS, Labels, label_ids, load
from prefdesk.store.project import Project
from prefdesk.store.rows import rows_in

RELIABILITY_POLICIES = ("weighted", "dawid-skene")
PRIOR_LABELS = 50  # the Dawid-Skene estimate counts as this many gold labels in a rater's reliability


class ReliabilityPolicy(Policy):
    """Pairwise verdicts decided project-wide (see module); everything else as `majority`."""

    def __init__(self, name: str, decisions: dict[str, tuple[str, float]]):
        super().__init__("majority")
        self.name = name
        self.decisions = decisions  # label id -> (verdict, weight) of its item

    def pairwise(self, labels: list[Vote]) -> tuple[dict | None, str]:
        labels = [lab for lab in labels if not is_decision(lab)]
        if not labels:
            return None, "an arbitration decision only"
        decided = self.decisions.get(labels[0].id)
        if decided is None:  # an item the project-wide pass left undecided (a tie of weights): the majority
            return pairwise_majority(labels)
        verdict, weight = decided
        agreeing = [lab for lab in labels if lab.payload["verdict"] == verdict]
        if not agreeing:
            return None, "no label gives the decided verdict"
        out = _pairwise_out(verdict, 1.0, agreeing, labels if len(labels) > 1 else agreeing)
        out["weight"] = round(weight, 4)
        return out, ""


def reliability_policy(project: Project, name: str, trust: dict[str, float] | None = None,
                       only: frozenset[str] | None = None) -> ReliabilityPolicy:
    """The policy, its decisions made from the project's labels (or only the labels `only`)."""
    if name not in RELIABILITY_POLICIES:
        raise ValueError(f"unknown aggregation {name!r}")
    labs = load(project, only=only)
    first = (labs.round == 1) & (labs.verdict >= 0)
    posterior = _dawid_skene_posterior(labs, first) if name == "dawid-skene" else \
        _weighted_votes(labs, first, {**project.settings["source_trust"], **(trust or {})})
    decisions = {label_id: posterior[int(item)] for label_id, item in zip(label_ids(project, labs.rowid), labs.item)
                 if int(item) in posterior}
    return ReliabilityPolicy(name, decisions)


def rater_reliability(labs: Labels, first: np.ndarray) -> np.ndarray:
    """Each rater's reliability: their gold accuracy, with their Dawid-Skene accuracy (from all their labels)
    as a prior worth PRIOR_LABELS gold labels; a few gold labels move it little, many decide it. With no
    Dawid-Skene estimate (one rater) the prior is 0.5 worth two labels."""
    from prefdesk.quality.dawid_skene import dawid_skene

    n = len(labs.raters)
    prior, strength = np.full(n, 0.5), np.full(n, 2.0)
    rows = np.flatnonzero(first)
    if len(np.unique(labs.rater[rows])) >= 2:
        fit = dawid_skene(labs.item[rows], labs.rater[rows], labs.verdict[rows], labs.item_slots, n)
        prior, strength = fit.accuracy(), np.full(n, float(PRIOR_LABELS))
    gold_of = labs.gold[labs.item]
    on_gold = first & (gold_of >= 0)
    seen = np.bincount(labs.rater[on_gold], minlength=n)
    hits = np.bincount(labs.rater[on_gold], weights=labs.verdict[on_gold] == gold_of[on_gold], minlength=n)
    return (hits + strength * prior) / (seen + strength)


def _weighted_votes(labs: Labels, first: np.ndarray, trust: dict[str, float]) -> dict[int, tuple[str, float]]:
    reliability = np.clip(rater_reliability(labs, first), 0.05, 0.95)
    log_odds = np.maximum(np.log(reliability / (1 - reliability)), 0.0)  # a rater no better than chance: no say
    totals: dict[int, np.ndarray] = defaultdict(lambda: np.zeros(len(VERDICTS)))
    for row in np.flatnonzero(first):
        weight = log_odds[labs.rater[row]] * trust.get(SOURCES[labs.source[row]], 1.0)
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
    from prefdesk.quality.dawid_skene import dawid_skene

    fit = dawid_skene(labs.item[rows], labs.rater[rows], labs.verdict[rows], labs.item_slots, len(labs.raters))
    given = np.zeros((labs.item_slots, len(fit.classes)), bool)  # only a verdict someone gave may win
    given[labs.item[rows], np.searchsorted(fit.classes, labs.verdict[rows])] = True
    items = np.unique(labs.item[rows])
    best = np.where(given[items], fit.probas[items], -1.0).argmax(axis=1)
    return {int(item): (VERDICTS[int(fit.classes[b])], float(fit.probas[item, b])) for item, b in zip(items, best)}


def items_of(project: Project, label_ids) -> dict[str, str]:
    """Label id -> item id, for these labels."""
    return dict(rows_in(project.conn, "SELECT id, item_id FROM labels WHERE id IN ({marks})", sorted(label_ids)))


def frozen_decisions(project: Project, version) -> dict[str, list] | None:
    """A reliability-policy version's decisions, item id -> [verdict, weight], to freeze with it
    (`store.versions.create(decide=...)`): reliabilities move with later gold answers and source trust,
    a version's export must not. None for the other policies (they read nothing but the labels)."""
    if version.aggregate not in RELIABILITY_POLICIES:
        return None
    policy = reliability_policy(project, version.aggregate, only=version.label_ids)
    item_of = items_of(project, policy.decisions)
    return {item_of[lid]: [verdict, weight] for lid, (verdict, weight) in sorted(policy.decisions.items())}

