"""The quality report over a project's pairwise labels: agreement, gold accuracy, a Dawid-Skene estimate of
every rater's accuracy from all their labels, position and length bias with their tests, flip rate, drift,
calibration, sources, and the arbitration queue.

Plain functions, no Qt. The labels come as integer columns (`labels_table`), and every figure is computed
over whole arrays (`bincount`, sorting), so a report over millions of labels takes seconds. The statistics
come from maintained implementations, imported when a report is made: `krippendorff` (alpha, from the
items' value counts), scikit-learn (Cohen's kappa, from each pair's confusion counts), SciPy (binomial
tests). Dawid-Skene is crowd-kit's algorithm in numpy (`dawid_skene`, held to crowd-kit in the tests).
Fleiss' kappa is the textbook formula (Fleiss 1971), checked against the published worked example.

Verdicts are nominal: A, B, tie, both_bad. "Consensus" for a rater's label is the majority verdict of the
*other* raters on the item (leave-one-out, so a rater does not agree with themselves). Agreement and
consensus use first-round labels; a later round is a re-annotation, read for the flip rate.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np

from prefdesk.quality import agreement
from prefdesk.store.snapshot import WEAK
from prefdesk.quality.labels_table import CODE, SOURCES, VERDICTS, Labels, dims_of, load
from prefdesk.quality.reference import reference_agreement
from prefdesk.store.votes import SUPERSEDED, doubles_on_open

__all__ = ["CODE", "VERDICTS", "Labels", "load", "quality_report", "leave_one_out_majority"]

ALPHA = 0.01  # significance of the bias tests, Bonferroni-corrected across raters
MIN_FOR_TEST = 20  # fewer decisive labels than this: no bias test (reported as not flagged)
TOO_FAST = 0.25  # a label in less than this share of the rater's median time is an outlier
DRIFT_BLOCK = 50  # drift by labels: blocks of this many of a rater's labels (more when a rater has many)
DRIFT_POINTS = 60  # at most this many blocks a rater
CONFIDENCE_BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
WEEK_S = 7 * 86400
MONDAY_S = 4 * 86400  # 1970-01-01 was a Thursday: weeks start 4 days later, on a Monday


def verdict_counts(labs: Labels, use: np.ndarray) -> np.ndarray:
    """item rowid x verdict: how many of the labels in `use` gave each verdict."""
    k = len(VERDICTS)
    return np.bincount(labs.item[use] * k + labs.verdict[use], minlength=labs.item_slots * k).reshape(-1, k)


def leave_one_out_majority(labs: Labels, use: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """For each label in `use`, the majority verdict of the other labels in `use` on its item (-1 where the
    others are none or their top is shared); -1 for labels outside `use`."""
    counts = verdict_counts(labs, use) if counts is None else counts
    rows = np.flatnonzero(use)
    others = counts[labs.item[rows]]
    others[np.arange(len(rows)), labs.verdict[rows]] -= 1
    top = others.max(axis=1)
    unique = (others == top[:, None]).sum(axis=1) == 1
    out = np.full(len(labs), -1, np.int64)
    out[rows] = np.where(unique & (top > 0), others.argmax(axis=1), -1)
    return out


class _Flips:
    """Later-round labels matched with the same rater's first-round label on the item: which changed."""

    def __init__(self, labs: Labels) -> None:
        key = labs.item * max(1, len(labs.raters)) + labs.rater
        firsts = np.flatnonzero((labs.round == 1) & (labs.verdict >= 0))
        order = firsts[np.argsort(key[firsts], kind="stable")]
        later = np.flatnonzero((labs.round > 1) & (labs.verdict >= 0))
        at = np.searchsorted(key[order], key[later])
        found = (at < len(order)) & (key[order][np.minimum(at, len(order) - 1)] == key[later]) if len(order) else \
            np.zeros(len(later), bool)
        self.rows = later[found]
        self.changed = labs.verdict[self.rows] != labs.verdict[order[at[found]]]

    def rate(self) -> float | None:
        return float(self.changed.mean()) if self.changed.size else None

    def rates_by(self, code: np.ndarray, n: int) -> list[float | None]:
        """The flip rate within each code 0..n-1, `code` given per label."""
        codes = code[self.rows]
        ok = codes >= 0
        pairs = np.bincount(codes[ok], minlength=n)
        changed = np.bincount(codes[ok], weights=self.changed[ok], minlength=n)
        return [float(changed[i] / pairs[i]) if pairs[i] else None for i in range(n)]


def _binom_p(k: int, n: int, p: float, alternative: str = "two-sided") -> float:
    from scipy.stats import binomtest

    return float(binomtest(k, n, p, alternative=alternative).pvalue) if n else 1.0


def _share(hits: np.ndarray) -> float | None:
    return float(hits.mean()) if hits.size else None


def quality_report(project) -> dict:
    """The whole report (see `prefdesk quality --json`)."""
    labs = load(project)
    first = labs.round == 1
    use = first & (labs.verdict >= 0)
    # a model judge's, a rule's or online feedback's labels are weighed against the people's, never counted among them
    weak = np.isin(labs.source, [SOURCES.index(s) for s in WEAK])
    votes = use & ~weak
    counts = verdict_counts(labs, votes)
    consensus = leave_one_out_majority(labs, votes, counts)
    _people_majority(labs, np.flatnonzero(use & weak), counts, consensus)
    flips = _Flips(labs)
    estimated = _estimated_accuracy(labs, votes)
    gold_of = labs.gold[labs.item]

    order = np.argsort(labs.rater, kind="stable")  # each rater's labels together, in time order
    bounds = np.searchsorted(labs.rater[order], np.arange(len(labs.raters) + 1))
    rater_flips = flips.rates_by(labs.rater, len(labs.raters))
    n_tests = max(1, len(labs.raters))
    raters: dict[str, dict] = {}
    drift: dict[str, dict] = {}
    calibration: dict[str, dict] = {}
    for r, name in enumerate(labs.raters):
        rows = order[bounds[r]:bounds[r + 1]]
        if not len(rows):
            continue
        raters[name] = {"role": labs.roles[r], **_rater_figures(labs, rows, use, consensus, gold_of, n_tests),
                        "estimated_accuracy": estimated.get(r), "flip_rate": rater_flips[r]}
        if weak[rows].any():  # a judge (or a rule) as a rater: its agreement with people, beyond chance
            raters[name].update(_judge_figures(project, labs, rows, use, consensus, name))
        drift[name] = _drift(labs, rows, use, consensus, gold_of)
        calib = _calibration(labs, rows, use, consensus, gold_of)
        if calib:
            calibration[name] = calib

    decisions = _decisions(project, labs)
    with_dims = np.flatnonzero(votes & labs.has_dims)
    dims = [(labs.item[row], labs.verdict[row], dim, value) for row, dim, value in _dims(project, labs, with_dims)]
    return {
        "raters": raters, "agreement": agreement.agreement(labs, votes, counts), "flip_rate": flips.rate(),
        "by_scenario": _by_group(labs, "scenario", counts, flips),
        "by_bucket": _by_group(labs, "bucket", counts, flips),
        "by_risk_level": _by_group(labs, "risk_level", counts, flips),
        "by_dimension": _by_dimension(labs, dims),
        "agreement_by_dimension": agreement.dimension_agreement(labs, dims),
        "scalar_agreement": agreement.scalar_agreement(labs),
        "step_agreement": agreement.step_agreement(project.conn),  # process ratings, turn by turn
        "span_agreement": agreement.span_agreement(project.conn),  # marked spans: counts, overlap F1
        "by_source": _by_source(labs, use, consensus, gold_of, project.settings["source_trust"]),
        "drift": drift, "calibration": calibration,
        "disputed_items": int(((counts > 0).sum(axis=1) > 1).sum()),
        "arbitration": _arbitration_queue(labs, votes, counts, gold_of, decisions, project.settings["arbitration_rule"]),
        "labels": int(len(labs)), "items_labelled": int((np.bincount(labs.item, minlength=labs.item_slots) > 0).sum()),
        "reference": reference_agreement(project),  # the team against a public dataset's own labels, apart
        # a rater's second current vote on an item (a file from before the one-vote rule): counted twice until repaired
        "double_votes": doubles_on_open(project.conn),
    }


def _people_majority(labs: Labels, rows: np.ndarray, counts: np.ndarray, consensus: np.ndarray) -> None:
    """The people's majority verdict on the items of these (weak) labels, written into `consensus`."""
    if not len(rows):
        return
    c = counts[labs.item[rows]]
    top = c.max(axis=1)
    unique = (c == top[:, None]).sum(axis=1) == 1
    consensus[rows] = np.where(unique & (top > 0), c.argmax(axis=1), -1)


def _judge_figures(project, labs: Labels, rows: np.ndarray, use: np.ndarray, consensus: np.ndarray, name: str) -> dict:
    """Cohen's kappa of a judge's verdicts with the people's majority, its position consistency (the share of its
    pairs where both orders gave the same verdict; None for an order-free judge, a reward model) and its accuracy
    on the gold items it was asked."""
    from sklearn.metrics import cohen_kappa_score

    judged = rows[use[rows] & (consensus[rows] >= 0)]
    kappa = None
    if len(judged) >= 2 and len(set(labs.verdict[judged]) | set(consensus[judged])) > 1:
        kappa = round(float(cohen_kappa_score(labs.verdict[judged], consensus[judged],
                                              labels=list(range(len(VERDICTS))))), 4)
    both, same = project.conn.execute(
        "SELECT COUNT(*), SUM(json_extract(l.payload, '$.judge.orders.AB') = json_extract(l.payload, '$.judge.orders.BA')) "
        "FROM current_labels l JOIN raters r ON r.id = l.rater_id WHERE r.name = ? "
        "AND json_extract(l.payload, '$.judge.orders') IS NOT NULL", (name,)).fetchone()
    gold_n, gold_right = project.conn.execute(
        "SELECT COUNT(*), SUM(correct) FROM judge_gold g JOIN raters r ON r.id = g.rater_id WHERE r.name = ?",
        (name,)).fetchone()
    out = {"kappa_with_people": kappa, "compared_with_people": int(len(judged)),
           "position_consistency": round(same / both, 4) if both else None}
    if gold_n:  # a judge is asked gold items, never labels them: its gold accuracy comes from `judge_gold`
        out.update(gold_labels=gold_n, gold_accuracy=round(gold_right / gold_n, 4))
    return out


def _rater_figures(labs: Labels, rows: np.ndarray, use: np.ndarray, consensus: np.ndarray, gold_of: np.ndarray,
                   n_tests: int) -> dict:
    verdict, first, agreed_on = labs.verdict[rows], use[rows], consensus[rows]
    decisive = first & (verdict <= 1)
    # position: how often the side shown left wins (display order is random and recorded: exact)
    left = labs.left[rows]
    shown = decisive & (left >= 0)
    left_wins, n_shown = int((verdict[shown] == left[shown]).sum()), int(shown.sum())
    left_p = _binom_p(left_wins, n_shown, 0.5)
    # length: do the rater's disagreements with the consensus lean to the longer answer, more than their
    # items' share where the consensus chose the shorter one would explain?
    longer_of = labs.longer[labs.item[rows]]
    with_length = decisive & (longer_of >= 0)
    chose_longer = verdict == longer_of
    judged = with_length & (agreed_on >= 0) & (agreed_on <= 1)
    disagree = judged & (verdict != agreed_on)
    base = float((agreed_on[judged] != longer_of[judged]).mean()) if judged.any() else 0.5
    k_long, n_dis = int((disagree & chose_longer).sum()), int(disagree.sum())
    length_p = _binom_p(k_long, n_dis, base, "greater") if 0 < base < 1 else 1.0
    gold = gold_of[rows]
    on_gold = first & (gold >= 0)
    agree = first & (agreed_on >= 0)
    durations = labs.duration[rows]
    durations = durations[~np.isnan(durations)]
    median = float(np.median(durations)) if durations.size else None
    return {
        "labels": int(len(rows)),
        "gold_labels": int(on_gold.sum()),
        "gold_accuracy": _share(verdict[on_gold] == gold[on_gold]),
        "agreement_with_consensus": _share(verdict[agree] == agreed_on[agree]),
        "left_rate": left_wins / n_shown if n_shown else None,
        "left_p": left_p,
        "position_bias": bool(n_shown >= MIN_FOR_TEST and left_p < ALPHA / n_tests),
        "longer_rate": _share(chose_longer[with_length]),
        "disagreements": n_dis,
        "longer_in_disagreements": k_long / n_dis if n_dis else None,
        "longer_expected_in_disagreements": base,
        "length_p": length_p,
        "length_bias": bool(n_dis >= MIN_FOR_TEST and length_p < ALPHA / n_tests),
        "median_ms": median,
        "too_fast": int((durations < TOO_FAST * median).sum()) if median else 0,
    }


def _drift(labs: Labels, rows: np.ndarray, use: np.ndarray, consensus: np.ndarray, gold_of: np.ndarray) -> dict:
    """A rater's agreement with consensus, gold accuracy and time per label by week and by blocks of labels."""
    first = use[rows]
    agree_on = first & (consensus[rows] >= 0)
    agree = agree_on & (labs.verdict[rows] == consensus[rows])
    gold_on = first & (gold_of[rows] >= 0)
    gold_hit = gold_on & (labs.verdict[rows] == gold_of[rows])
    ms = labs.duration[rows]

    def series(period: np.ndarray) -> list[dict]:
        keys, inverse = np.unique(period, return_inverse=True)
        n = len(keys)
        sums = {name: np.bincount(inverse, weights=mask, minlength=n)
                for name, mask in (("agree_on", agree_on), ("agree", agree), ("gold_on", gold_on), ("gold_hit", gold_hit))}
        size = np.bincount(inverse, minlength=n)
        timed = ~np.isnan(ms)
        ms_sum = np.bincount(inverse[timed], weights=ms[timed], minlength=n)
        ms_n = np.bincount(inverse[timed], minlength=n)
        return [{"key": int(keys[i]), "labels": int(size[i]),
                 "agreement_with_consensus": float(sums["agree"][i] / sums["agree_on"][i]) if sums["agree_on"][i] else None,
                 "gold_accuracy": float(sums["gold_hit"][i] / sums["gold_on"][i]) if sums["gold_on"][i] else None,
                 "mean_ms": float(ms_sum[i] / ms_n[i]) if ms_n[i] else None} for i in range(n)]

    weeks = series((labs.time[rows] - MONDAY_S) // WEEK_S)
    for point in weeks:
        monday = np.datetime64(int(point.pop("key")) * 7 + 4, "D")
        point["week"] = str(monday)
    block = max(DRIFT_BLOCK, math.ceil(len(rows) / DRIFT_POINTS))
    blocks = series(np.arange(len(rows)) // block)
    for point in blocks:
        point["first_label"] = int(point.pop("key")) * block + 1
    return {"block": block, "by_week": weeks, "by_labels": blocks}


def _calibration(labs: Labels, rows: np.ndarray, use: np.ndarray, consensus: np.ndarray,
                 gold_of: np.ndarray) -> dict | None:
    """Where a rater states a confidence: accuracy by confidence bin (against gold where the item has it,
    else against the others' consensus), and the expected calibration error."""
    conf = labs.confidence[rows]
    truth = np.where(gold_of[rows] >= 0, gold_of[rows], consensus[rows])
    ok = use[rows] & ~np.isnan(conf) & (truth >= 0)
    if not ok.any():
        return None
    conf, hit = conf[ok], labs.verdict[rows][ok] == truth[ok]
    edges = np.array(CONFIDENCE_BINS)
    bins = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, len(edges) - 2)
    out, ece = [], 0.0
    for b in range(len(edges) - 1):
        inside = bins == b
        if inside.any():
            mean_conf, accuracy = float(conf[inside].mean()), float(hit[inside].mean())
            ece += inside.mean() * abs(mean_conf - accuracy)
            out.append({"bin": f"{edges[b]:.1f}–{edges[b + 1]:.1f}", "labels": int(inside.sum()),
                        "mean_confidence": mean_conf, "accuracy": accuracy})
    return {"bins": out, "expected_calibration_error": float(ece), "labels": int(ok.sum())}


def _by_group(labs: Labels, column: str, counts: np.ndarray, flips: _Flips) -> dict:
    """Items, labels, percent agreement and flip rate within each value of an item column."""
    names, code = labs.groups[column]
    if not names:
        return {}
    n = len(names)
    n_item = counts.sum(axis=1)
    labelled = (np.bincount(labs.item, minlength=labs.item_slots) > 0) & (code >= 0)
    items = np.bincount(code[labelled], minlength=n)
    label_code = code[labs.item]
    labels = np.bincount(label_code[label_code >= 0], minlength=n)
    shared = (n_item >= 2) & (code >= 0)
    pairs = np.bincount(code[shared], weights=(n_item * (n_item - 1) / 2)[shared], minlength=n)
    agreeing = np.bincount(code[shared], weights=(counts * (counts - 1) / 2).sum(axis=1)[shared], minlength=n)
    flip = flips.rates_by(label_code, n)
    return {names[g]: {"items": int(items[g]), "labels": int(labels[g]),
                       "percent_agreement": float(agreeing[g] / pairs[g]) if pairs[g] else None,
                       "flip_rate": flip[g]} for g in range(n) if items[g]}


def _dims(project, labs: Labels, rows: np.ndarray) -> list[tuple[int, str, str]]:
    """(label row, dimension, verdict) of the per-dimension verdicts on these label rows."""
    at = dict(zip(labs.rowid[rows].tolist(), rows.tolist()))
    return [(at[rowid], dim, value) for rowid, dim, value in dims_of(project, labs.rowid[rows])]


def _by_dimension(labs: Labels, dims: list[tuple]) -> dict:
    """Per dimension: win rates of A / B / tie over the dimension verdicts given, and how often the
    dimension's verdict matches the overall one."""
    wins: dict[str, Counter] = defaultdict(Counter)
    same: dict[str, list[bool]] = defaultdict(list)
    for _, overall, dim, value in dims:
        if value in ("A", "B", "tie"):
            wins[dim][value] += 1
            same[dim].append(CODE[value] == overall)
    out = {}
    for dim in sorted(wins):
        n = sum(wins[dim].values())
        out[dim] = {"n": n, **{f"{v}_rate": wins[dim][v] / n for v in ("A", "B", "tie")},
                    "matches_overall": float(np.mean(same[dim]))}
    return out


def _by_source(labs: Labels, use: np.ndarray, consensus: np.ndarray, gold_of: np.ndarray, trust: dict) -> dict:
    """Per label source: labels, agreement with the consensus, gold accuracy, and the lead's trust weight."""
    out = {}
    for code in np.unique(labs.source):
        mine = labs.source == code
        agree = mine & use & (consensus >= 0)
        gold = mine & use & (gold_of >= 0)
        name = SOURCES[code] if 0 <= code < len(SOURCES) else "(unknown)"
        out[name] = {"labels": int(mine.sum()),
                     "agreement_with_consensus": _share(labs.verdict[agree] == consensus[agree]),
                     "gold_accuracy": _share(labs.verdict[gold] == gold_of[gold]),
                     "trust": float(trust.get(name, 1.0))}
    return dict(sorted(out.items()))


def _decisions(project, labs: Labels) -> tuple[np.ndarray, np.ndarray]:
    """Per item rowid: the rowid of the arbitration decision in force (0: none) and its verdict code."""
    decision = np.zeros(labs.item_slots, np.int64)
    verdict = np.full(labs.item_slots, -1, np.int64)
    for item, rowid, code in project.conn.execute(
            "SELECT i.rowid, l.rowid, json_extract(l.payload, '$.verdict') FROM labels l "
            "JOIN items i ON i.id = l.item_id WHERE l.source = 'arbitration' AND l.kind = 'pairwise' "
            f"AND l.id NOT IN ({SUPERSEDED}) ORDER BY l.rowid"):
        decision[item], verdict[item] = rowid, CODE.get(code, -1)
    return decision, verdict


def _arbitration_queue(labs: Labels, use: np.ndarray, counts: np.ndarray, gold_of: np.ndarray,
                       decisions: tuple[np.ndarray, np.ndarray], rule: str) -> dict:
    """How many items wait for arbitration and how many were decided (the same rules as
    `quality.arbitration.dispute_of`, over whole arrays)."""
    given = (counts > 0).sum(axis=1)
    disagree = given > 1
    top = counts.max(axis=1)
    no_majority = disagree & ((counts == top[:, None]).sum(axis=1) > 1)
    names, risk = labs.groups["risk_level"]
    high = risk == (names.index("high") if "high" in names else -2)
    miss = use & (gold_of >= 0) & (labs.verdict != gold_of)
    gold_miss = np.bincount(labs.item[miss], minlength=labs.item_slots) > 0
    disputed = no_majority | (disagree & (high | (rule == "disagreement"))) | gold_miss
    decision, decided_verdict = decisions
    against = use & (labs.rowid > decision[labs.item]) & (labs.verdict != decided_verdict[labs.item])
    reopened = np.bincount(labs.item[against], minlength=labs.item_slots) > 0
    decided = decision > 0
    waiting = disputed & (~decided | reopened)
    return {"waiting": int(waiting.sum()), "decided": int(decided.sum()),
            "high_risk": int((waiting & high).sum()), "gold_misses": int((waiting & gold_miss).sum())}


def _estimated_accuracy(labs: Labels, use: np.ndarray) -> dict[int, float]:
    """Each rater's accuracy estimated from all their labels: Dawid-Skene over the whole project; a rater's
    accuracy is the diagonal of their confusion matrix weighted by the class priors."""
    rows = np.flatnonzero(use)
    if len(rows) == 0 or len(np.unique(labs.rater[rows])) < 2:
        return {}
    from prefdesk.quality.dawid_skene import dawid_skene

    fit = dawid_skene(labs.item[rows], labs.rater[rows], labs.verdict[rows], labs.item_slots, len(labs.raters))
    accuracy = fit.accuracy()
    return {int(r): float(accuracy[r]) for r in np.unique(labs.rater[rows])}
