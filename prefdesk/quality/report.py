"""The quality report over a project's pairwise labels: agreement, gold accuracy, a Dawid-Skene estimate of
every rater's accuracy from all their labels, position and length bias with their tests, flip rate, time.

Plain functions, no Qt. The labels are read in one SQL pass into numpy arrays (SQLite's JSON functions pull
the verdict, so no payload is parsed in Python). The statistics come from maintained implementations,
imported when a report is made: `krippendorff` (alpha), scikit-learn (Cohen's kappa), crowd-kit
(Dawid-Skene), SciPy (binomial tests). Fleiss' kappa is the textbook formula (Fleiss 1971), checked in
the tests against the published worked example.

Verdicts are nominal: A, B, tie, both_bad. "Consensus" for a rater's label is the majority verdict of the
*other* raters on the item (leave-one-out, so a rater does not agree with themselves).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from prefdesk.store.project import Project

VERDICTS = ("A", "B", "tie", "both_bad")
CODE = {v: i for i, v in enumerate(VERDICTS)}
ALPHA = 0.01  # significance of the bias tests, Bonferroni-corrected across raters
MIN_FOR_TEST = 20  # fewer decisive labels than this: no bias test (reported as not flagged)
TOO_FAST = 0.25  # a label in less than this share of the rater's median time is an outlier


@dataclass
class Labels:
    """Current pairwise labels as columns (one row a label)."""

    ids: list[str]  # label ids
    item: np.ndarray  # int item index
    rater: np.ndarray  # int rater index
    verdict: np.ndarray  # int code (VERDICTS), -1 for unknown
    left: np.ndarray  # candidate index shown on the left (0/1), -1 when not recorded
    round: np.ndarray
    duration: np.ndarray  # ms, nan when unknown
    created: list[str]
    dims: list[str | None]
    item_ids: list[str]
    raters: list[str]
    roles: list[str]
    sources: list[str]
    scenario: list[str | None]  # per item
    gold: np.ndarray  # per item: the gold verdict code, -1 when not gold
    longer: np.ndarray  # per item: 0 when A is longer, 1 when B is, -1 when equal


def load(project: Project) -> Labels:
    conn = project.conn
    items: dict[str, int] = {}
    scenario, gold, longer = [], [], []
    for item_id, scen, is_gold, gold_answer, len_a, len_b in conn.execute(
            "SELECT id, scenario, is_gold, gold_answer, length(json_extract(candidates, '$[0].text')), "
            "length(json_extract(candidates, '$[1].text')) FROM items WHERE kind = 'pairwise' ORDER BY id"):
        items[item_id] = len(items)
        scenario.append(scen)
        answer = json.loads(gold_answer).get("verdict") if is_gold and gold_answer else None
        gold.append(CODE.get(answer, -1))
        longer.append(-1 if len_a == len_b or len_a is None or len_b is None else (0 if len_a > len_b else 1))
    raters: dict[str, int] = {}
    names, roles = [], []
    for rater_id, name, role in conn.execute("SELECT id, name, role FROM raters ORDER BY name"):
        raters[rater_id] = len(names)
        names.append(name)
        roles.append(role)
    rows = conn.execute(
        "SELECT item_id, rater_id, json_extract(payload, '$.verdict'), json_extract(display_order, '$[0]'), round, "
        "duration_ms, created_at, NULLIF(json_extract(payload, '$.dims'), '{}'), source, id FROM current_labels WHERE kind = 'pairwise' "
        "ORDER BY created_at, id").fetchall()
    rows = [r for r in rows if r[0] in items]
    n = len(rows)
    return Labels(
        ids=[r[9] for r in rows], item=np.fromiter((items[r[0]] for r in rows), np.int64, n),
        rater=np.fromiter((raters[r[1]] for r in rows), np.int64, n),
        verdict=np.fromiter((CODE.get(r[2], -1) for r in rows), np.int64, n),
        left=np.fromiter((-1 if r[3] is None else r[3] for r in rows), np.int64, n),
        round=np.fromiter((r[4] for r in rows), np.int64, n),
        duration=np.fromiter((np.nan if r[5] is None else r[5] for r in rows), np.float64, n),
        created=[r[6] for r in rows], dims=[r[7] for r in rows], item_ids=list(items), raters=names, roles=roles,
        sources=[r[8] for r in rows], scenario=scenario, gold=np.array(gold, np.int64), longer=np.array(longer, np.int64))


def fleiss_kappa(counts: np.ndarray) -> float | None:
    """Fleiss' kappa of an items x categories table of counts, every item rated by the same number of raters."""
    counts = np.asarray(counts, dtype=float)
    if counts.size == 0:
        return None
    n = counts.sum(axis=1)[0]
    if n < 2 or not np.all(counts.sum(axis=1) == n):
        raise ValueError("Fleiss' kappa needs the same number of ratings for every item")
    p_j = counts.sum(axis=0) / counts.sum()
    p_i = ((counts ** 2).sum(axis=1) - n) / (n * (n - 1))
    p_bar, p_e = p_i.mean(), (p_j ** 2).sum()
    return None if p_e == 1 else float((p_bar - p_e) / (1 - p_e))


def leave_one_out_majority(labs: Labels, use: np.ndarray) -> np.ndarray:
    """For each label in `use`, the majority verdict of the other labels in `use` on its item (-1 where the
    others are none or their top is shared); -1 for labels outside `use`."""
    counts = np.zeros((len(labs.item_ids), len(VERDICTS)), np.int64)
    rows = np.flatnonzero(use)
    np.add.at(counts, (labs.item[rows], labs.verdict[rows]), 1)
    others = counts[labs.item[rows]]
    others[np.arange(len(rows)), labs.verdict[rows]] -= 1
    top = others.max(axis=1)
    unique = (others == top[:, None]).sum(axis=1) == 1
    out = np.full(len(labs.item), -1, np.int64)
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

    def rate(self, mask: np.ndarray | None = None) -> float | None:
        """The share changed among the later-round labels in `mask` (all when None)."""
        changed = self.changed if mask is None else self.changed[mask[self.rows]]
        return float(changed.mean()) if changed.size else None


def _binom_p(k: int, n: int, p: float, alternative: str = "two-sided") -> float:
    from scipy.stats import binomtest

    return float(binomtest(k, n, p, alternative=alternative).pvalue) if n else 1.0


def quality_report(project: Project) -> dict:
    """The whole report (see `prefdesk quality --json`)."""
    labs = load(project)
    first = labs.round == 1
    valid = labs.verdict >= 0
    n_raters = len(labs.raters)
    by_item: dict[int, list[tuple[int, int, int]]] = defaultdict(list)  # item -> (label row, rater, verdict)
    for row in np.flatnonzero(first & valid):
        by_item[int(labs.item[row])].append((int(row), int(labs.rater[row]), int(labs.verdict[row])))

    consensus = leave_one_out_majority(labs, first & valid)
    flips = _Flips(labs)

    estimated = _dawid_skene(labs, first & valid)
    n_tests = max(1, n_raters)
    raters: dict[str, dict] = {}
    for r, name in enumerate(labs.raters):
        mine = labs.rater == r
        if not mine.any():
            continue
        raters[name] = _rater_figures(labs, mine, first, consensus, estimated.get(r), n_tests, flips)
        raters[name]["role"] = labs.roles[r]

    return {"raters": raters, "agreement": _agreement(labs, by_item), "flip_rate": flips.rate(),
            "by_scenario": _by_scenario(labs, by_item, flips), "by_dimension": _by_dimension(labs, first & valid),
            "by_source": dict(sorted(_count(labs.sources).items())),
            "disputed_items": sum(1 for e in by_item.values() if len({v for _, _, v in e}) > 1),
            "labels": int(len(labs.item)), "items_labelled": len(set(labs.item.tolist()))}


def _count(values) -> dict:
    out: dict = defaultdict(int)
    for v in values:
        out[v] += 1
    return out


def _rater_figures(labs: Labels, mine: np.ndarray, first: np.ndarray, consensus: np.ndarray,
                   estimated: float | None, n_tests: int, flips: _Flips) -> dict:
    verdict = labs.verdict
    decisive = mine & first & (verdict >= 0) & (verdict <= 1)
    # position: how often the side shown left wins (display order is random and recorded: exact)
    shown = decisive & (labs.left >= 0)
    left_wins = int((verdict[shown] == labs.left[shown]).sum())
    n_shown = int(shown.sum())
    left_p = _binom_p(left_wins, n_shown, 0.5)
    # length: do the rater's disagreements with the consensus lean to the longer answer, more than their
    # items' share where the consensus chose the shorter one would explain?
    longer_of = labs.longer[labs.item]
    with_length = decisive & (longer_of >= 0)
    chose_longer = verdict == longer_of
    judged = with_length & (consensus >= 0) & (consensus <= 1)
    disagree = judged & (verdict != consensus)
    base = float((consensus[judged] != longer_of[judged]).mean()) if judged.any() else 0.5
    k_long, n_dis = int((disagree & chose_longer).sum()), int(disagree.sum())
    length_p = _binom_p(k_long, n_dis, base, "greater") if 0 < base < 1 else 1.0
    # gold
    gold_of = labs.gold[labs.item]
    on_gold = mine & first & (gold_of >= 0) & (verdict >= 0)
    agree = mine & first & (consensus >= 0) & (verdict >= 0)
    durations = labs.duration[mine & ~np.isnan(labs.duration)]
    median = float(np.median(durations)) if durations.size else None
    return {
        "labels": int(mine.sum()),
        "gold_labels": int(on_gold.sum()),
        "gold_accuracy": float((verdict[on_gold] == gold_of[on_gold]).mean()) if on_gold.any() else None,
        "estimated_accuracy": estimated,
        "agreement_with_consensus": float((verdict[agree] == consensus[agree]).mean()) if agree.any() else None,
        "left_rate": left_wins / n_shown if n_shown else None,
        "left_p": left_p,
        "position_bias": bool(n_shown >= MIN_FOR_TEST and left_p < ALPHA / n_tests),
        "longer_rate": float(chose_longer[with_length].mean()) if with_length.any() else None,
        "disagreements": n_dis,
        "longer_in_disagreements": k_long / n_dis if n_dis else None,
        "longer_expected_in_disagreements": base,
        "length_p": length_p,
        "length_bias": bool(n_dis >= MIN_FOR_TEST and length_p < ALPHA / n_tests),
        "flip_rate": flips.rate(mine),
        "median_ms": median,
        "too_fast": int((durations < TOO_FAST * median).sum()) if median else 0,
    }


def _agreement(labs: Labels, by_item: dict[int, list[tuple[int, int, int]]]) -> dict:
    import krippendorff
    from sklearn.metrics import cohen_kappa_score

    shared = {i: e for i, e in by_item.items() if len(e) >= 2}
    pairs_agree = [a[2] == b[2] for e in shared.values() for a, b in combinations(e, 2)]
    percent = float(np.mean(pairs_agree)) if pairs_agree else None
    alpha = None
    if shared:
        matrix = np.full((len(labs.raters), len(shared)), np.nan)
        for col, entries in enumerate(shared.values()):
            for _, rater, verdict in entries:
                matrix[rater, col] = verdict
        matrix = matrix[~np.all(np.isnan(matrix), axis=1)]
        if len(np.unique(matrix[~np.isnan(matrix)])) > 1:
            alpha = float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"))
    sizes = _count(len(e) for e in shared.values())
    fleiss = None
    if sizes:
        n = max(sizes, key=sizes.get)  # the most common number of raters an item (Fleiss needs one number)
        table = [np.bincount([v for _, _, v in e], minlength=len(VERDICTS)) for e in shared.values() if len(e) == n]
        fleiss = fleiss_kappa(np.array(table))
    cohen: dict[str, dict] = {}
    per_pair: dict[tuple[int, int], tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for entries in shared.values():
        for a, b in combinations(sorted(entries, key=lambda e: e[1]), 2):
            per_pair[(a[1], b[1])][0].append(a[2])
            per_pair[(a[1], b[1])][1].append(b[2])
    for (ra, rb), (va, vb) in sorted(per_pair.items()):
        if len(va) >= 2:
            kappa = cohen_kappa_score(va, vb, labels=list(range(len(VERDICTS))))
            cohen[f"{labs.raters[ra]}|{labs.raters[rb]}"] = {"kappa": None if np.isnan(kappa) else float(kappa),
                                                             "items": len(va)}
    return {"percent": percent, "fleiss_kappa": fleiss, "krippendorff_alpha": alpha, "cohen_kappa": cohen,
            "items_with_two_or_more": len(shared)}


def _by_scenario(labs: Labels, by_item: dict[int, list[tuple[int, int, int]]], flips: _Flips) -> dict:
    out: dict[str, dict] = {}
    groups: dict[str, list[list[tuple[int, int, int]]]] = defaultdict(list)
    for item, entries in by_item.items():
        groups[labs.scenario[item] or "(none)"].append(entries)
    for scenario, entries in sorted(groups.items()):
        agree = [a[2] == b[2] for e in entries for a, b in combinations(e, 2)]
        items = {labs.item[e[0][0]] for e in entries}
        rows = np.isin(labs.item, list(items))
        out[scenario] = {"items": len(entries), "labels": int(rows.sum()),
                         "percent_agreement": float(np.mean(agree)) if agree else None,
                         "flip_rate": flips.rate(rows)}
    return out


def _by_dimension(labs: Labels, mask: np.ndarray) -> dict:
    """Per dimension: win rates of A / B / tie over the dimension verdicts given, and how often the
    dimension's verdict matches the overall one."""
    wins: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    same: dict[str, list[bool]] = defaultdict(list)
    for row in np.flatnonzero(mask):
        raw = labs.dims[row]
        if raw is None:
            continue
        for dim, value in json.loads(raw).items():
            if value in ("A", "B", "tie"):
                wins[dim][value] += 1
                same[dim].append(CODE[value] == labs.verdict[row])
    out = {}
    for dim in sorted(wins):
        n = sum(wins[dim].values())
        out[dim] = {"n": n, **{f"{v}_rate": wins[dim][v] / n for v in ("A", "B", "tie")},
                    "matches_overall": float(np.mean(same[dim]))}
    return out


def _dawid_skene(labs: Labels, mask: np.ndarray) -> dict[int, float]:
    """Each rater's accuracy estimated from all their labels: Dawid-Skene (crowd-kit) over the whole
    project; a rater's accuracy is the diagonal of their confusion matrix weighted by the class priors."""
    rows = np.flatnonzero(mask)
    if len(rows) == 0 or len({int(r) for r in labs.rater[rows]}) < 2:
        return {}
    import warnings

    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    warnings.filterwarnings("ignore", module="crowdkit")  # crowd-kit 1.4 calls pandas 3 APIs it deprecates

    frame = pd.DataFrame({"task": labs.item[rows], "worker": labs.rater[rows], "label": labs.verdict[rows]})
    model = DawidSkene(n_iter=50, tol=1e-5).fit(frame)
    priors = model.priors_
    out = {}
    for worker in frame["worker"].unique():
        errors = model.errors_.xs(worker, level="worker")  # rows: given label, columns: true label
        out[int(worker)] = float(sum(priors.get(k, 0.0) * errors.loc[k, k] for k in errors.columns if k in errors.index))
    return out
