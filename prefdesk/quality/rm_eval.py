"""How well a trained reward model ranks held-out, decided pairs (`prefdesk rm-eval`), RewardBench-style.

- accuracy: the share of pairs whose chosen answer scores above the rejected one (an equal score counts a half), with
  a 95% bootstrap interval, overall and per dimension (a multi-head model's own head for it; else the overall score),
  bucket, scenario, item source and agreement level (`rm_pairs.LEVELS`);
- the score margin's distribution (chosen minus rejected);
- length: the accuracy by the answers' length difference, how often the model prefers the longer answer, and the
  accuracy of "always the longer" beside it (does the model just prefer length?);
- best-of-4 as RewardBench 2 counts it: a set counts when its accepted answer scores above all three rejected ones
  (chance 25%), overall and per subset (bucket, else scenario).
The pairs come from `rm_pairs`; `jobs.rm_eval` gives the run's stored scores, the missing ones scored first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np

from prefdesk.quality.rm_pairs import LEVELS, Pairs, Quad
from prefdesk.quality.winrate import bootstrap_interval

Score = Callable[[str, int, str | None], float | None]  # (item id, position, dimension or None) -> score or None
LENGTH_BINS = ((-1.0, -0.33, "chosen much shorter"), (-0.33, -0.1, "chosen shorter"), (-0.1, 0.1, "about equal"),
               (0.1, 0.33, "chosen longer"), (0.33, 1.0001, "chosen much longer"))


def block(outcomes: list[float]) -> dict:
    """{n, accuracy, low, high} of 1 / 0.5 / 0 outcomes (a 95% percentile bootstrap interval)."""
    if not outcomes:
        return {"n": 0, "accuracy": None, "low": None, "high": None}
    low, high = bootstrap_interval(outcomes, rounds=1000)
    return {"n": len(outcomes), "accuracy": round(float(np.mean(outcomes)), 4), "low": round(low, 4),
            "high": round(high, 4)}


def _outcome(a: float, b: float) -> float:
    return 1.0 if a > b else 0.5 if a == b else 0.0


def evaluate(pairs: Pairs, quads: list[Quad], score: Score) -> dict:
    """The report (see the module docstring) of these pairs and sets under this score function."""
    overall, margins, unscored = [], [], 0
    groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    by_length: dict[str, list[float]] = defaultdict(list)
    longer_preferred, longer_right = [], []
    for p in pairs.pairs:
        chosen, rejected = score(p.item_id, p.chosen, None), score(p.item_id, p.rejected, None)
        if chosen is None or rejected is None:
            unscored += 1
            continue
        o = _outcome(chosen, rejected)
        overall.append(o)
        margins.append(chosen - rejected)
        for name, key in (("level", p.level), ("bucket", p.bucket), ("scenario", p.scenario), ("source", p.source)):
            groups[name][key or "(none)"].append(o)
        for dim, winner in p.dims.items():
            a, b = score(p.item_id, winner, dim), score(p.item_id, 1 - winner, dim)
            if a is None or b is None:
                a, b = score(p.item_id, winner, None), score(p.item_id, 1 - winner, None)
            groups["dimension"][dim].append(_outcome(a, b))
        lc, lr = len(p.texts[0]), len(p.texts[1])
        diff = (lc - lr) / (lc + lr) if lc + lr else 0.0
        by_length[next(name for lo, hi, name in LENGTH_BINS if lo <= diff < hi)].append(o)
        if lc != lr:
            model_picks_chosen = chosen > rejected
            longer_preferred.append(float(model_picks_chosen == (lc > lr)))
            longer_right.append(float(lc > lr))
    report = {
        "pairs": len(overall), "unscored": unscored, "trained_on_left_out": pairs.trained_on,
        "excluded": dict(pairs.excluded), "accuracy": block(overall),
        "by": {name: {k: block(v) for k, v in sorted(g.items(), key=lambda kv: _order(name, kv[0]))}
               for name, g in groups.items()},
        "margin": _distribution(margins),
        "length": {"by_difference": {name: block(by_length[name]) for _, _, name in LENGTH_BINS if by_length[name]},
                   "prefers_longer": round(float(np.mean(longer_preferred)), 4) if longer_preferred else None,
                   "always_longer_accuracy": round(float(np.mean(longer_right)), 4) if longer_right else None,
                   "pairs_of_unequal_length": len(longer_preferred)},
        "best_of_4": _best_of_four(quads, score),
    }
    return report


def _order(group: str, key: str) -> tuple:
    return (LEVELS.index(key), key) if group == "level" and key in LEVELS else (99, key)


def _distribution(values: list[float]) -> dict:
    if not values:
        return {}
    q = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
    counts, edges = np.histogram(values, bins=10)
    return {"p5": round(float(q[0]), 4), "p25": round(float(q[1]), 4), "median": round(float(q[2]), 4),
            "p75": round(float(q[3]), 4), "p95": round(float(q[4]), 4), "negative": int(sum(v < 0 for v in values)),
            "histogram": {"edges": [round(float(e), 4) for e in edges], "counts": [int(c) for c in counts]}}


def _best_of_four(quads: list[Quad], score: Score) -> dict:
    per: dict[str, list[float]] = defaultdict(list)
    everything = []
    for q in quads:
        accepted = score(q.item_id, q.accepted, None)
        rejected = [score(q.item_id, r, None) for r in q.rejected]
        if accepted is None or None in rejected:
            continue
        o = float(accepted > max(rejected))
        everything.append(o)
        per[q.bucket or q.scenario or "(none)"].append(o)
    return {"chance": 0.25, "sets": len(everything), "accuracy": block(everything),
            "by_subset": {k: block(v) for k, v in sorted(per.items())}}
