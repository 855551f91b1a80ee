"""Agreement among raters on the same items: percent agreement, Fleiss' kappa (the textbook formula, Fleiss
1971, checked against the published worked example), Krippendorff's alpha (`krippendorff`, nominal for
verdicts and dimensions, ordinal and interval for scalar scores) and Cohen's kappa for each pair of raters
(scikit-learn, from the pair's confusion counts). A part of the quality report (`quality.report`)."""

from __future__ import annotations

import warnings
from collections import Counter, defaultdict

import numpy as np

from prefdesk.quality.labels_table import CODE, VERDICTS, Labels


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


def agreement(labs: Labels, use: np.ndarray, counts: np.ndarray) -> dict:
    from sklearn.metrics import cohen_kappa_score

    n_item = counts.sum(axis=1)
    shared = n_item >= 2
    table = counts[shared]
    nominal = nominal_agreement(table)
    percent, alpha = nominal["percent"], nominal["krippendorff_alpha"]
    fleiss = None
    if shared.any():
        sizes = Counter(n_item[shared].tolist())
        n = max(sizes, key=lambda s: (sizes[s], -s))  # the most common number of raters an item (Fleiss needs one)
        fleiss = fleiss_kappa(table[n_item[shared] == n])
    cohen: dict[str, dict] = {}
    k, n_raters = len(VERDICTS), len(labs.raters)
    confusion = pair_confusion(labs, use).reshape(n_raters, n_raters, k, k)
    y1, y2 = np.repeat(np.arange(k), k), np.tile(np.arange(k), k)
    for ra in range(n_raters):
        for rb in range(ra + 1, n_raters):
            weights = confusion[ra, rb].ravel()
            if weights.sum() >= 2:
                with warnings.catch_warnings():  # a pair who only ever gave one verdict: kappa undefined, None
                    warnings.simplefilter("ignore")
                    kappa = cohen_kappa_score(y1, y2, labels=list(range(k)), sample_weight=weights)
                cohen[f"{labs.raters[ra]}|{labs.raters[rb]}"] = {
                    "kappa": None if np.isnan(kappa) else float(kappa), "items": int(weights.sum())}
    return {"percent": percent, "fleiss_kappa": fleiss, "krippendorff_alpha": alpha, "cohen_kappa": cohen,
            "items_with_two_or_more": int(shared.sum())}


def pair_confusion(labs: Labels, use: np.ndarray) -> np.ndarray:
    """For every pair of raters (lower index first) the 4x4 counts of their verdicts on shared items, flat."""
    rows = np.flatnonzero(use)
    rows = rows[np.argsort(labs.item[rows], kind="stable")]
    item = labs.item[rows]
    k, n_raters = len(VERDICTS), len(labs.raters)
    out = np.zeros(n_raters * n_raters * k * k, np.int64)
    for d in range(1, len(rows)):
        same = item[:-d] == item[d:]
        if not same.any():
            break
        a, b = rows[:-d][same], rows[d:][same]
        ra, rb, va, vb = labs.rater[a], labs.rater[b], labs.verdict[a], labs.verdict[b]
        swap = ra > rb
        ra, rb = np.where(swap, rb, ra), np.where(swap, ra, rb)
        va, vb = np.where(swap, vb, va), np.where(swap, va, vb)
        keep = ra != rb
        out += np.bincount(((ra * n_raters + rb) * k + va) * k + vb, weights=keep,
                           minlength=len(out)).astype(np.int64)
    return out


def nominal_agreement(counts: np.ndarray) -> dict:
    """Percent agreement (pairs) and Krippendorff's nominal alpha from an items x values table of counts."""
    import krippendorff

    n_item = counts.sum(axis=1)
    shared = counts[n_item >= 2]
    if not len(shared):
        return {"items": 0, "percent": None, "krippendorff_alpha": None}
    n = shared.sum(axis=1)
    percent = float((shared * (shared - 1) / 2).sum() / (n * (n - 1) / 2).sum())
    alpha = None
    if (shared.sum(axis=0) > 0).sum() > 1:
        alpha = float(krippendorff.alpha(value_counts=shared, level_of_measurement="nominal"))
    return {"items": int(len(shared)), "percent": percent, "krippendorff_alpha": alpha}


def dimension_agreement(labs: Labels, dims: list[tuple]) -> dict:
    """Agreement on each dimension's verdicts, among the raters who gave one on the same item."""
    per_dim: dict[str, Counter] = defaultdict(Counter)
    for item, _, dim, value in dims:
        if value in CODE:
            per_dim[dim][(int(item), CODE[value])] += 1
    out = {}
    for dim, counts in sorted(per_dim.items()):
        items = {i: k for k, i in enumerate(sorted({i for i, _ in counts}))}
        table = np.zeros((len(items), len(VERDICTS)))
        for (item, code), n in counts.items():
            table[items[item], code] = n
        out[dim] = nominal_agreement(table)
    return out


def scalar_agreement(labs: Labels) -> dict:
    """Krippendorff's alpha of first-round scalar scores, ordinal and interval (the scale's steps are equal
    only if the guidelines make them so: both are given)."""
    import krippendorff

    s = labs.scalar
    first = s["round"] == 1
    if not first.any():
        return {}
    values, code = np.unique(s["score"][first], return_inverse=True)
    items, item_code = np.unique(s["item"][first], return_inverse=True)
    table = np.zeros((len(items), len(values)))
    np.add.at(table, (item_code, code), 1)
    shared = table[table.sum(axis=1) >= 2]
    out = {"labels": int(first.sum()), "items": int(len(shared)), "ordinal_alpha": None, "interval_alpha": None}
    if len(shared) and (shared.sum(axis=0) > 0).sum() > 1:
        for level in ("ordinal", "interval"):
            out[f"{level}_alpha"] = float(krippendorff.alpha(value_counts=shared, value_domain=values,
                                                              level_of_measurement=level))
    return out


def step_agreement(conn) -> dict:
    """Agreement on process ratings, turn by turn: each (item, step) rated +1 / 0 / -1 by two or more people in
    the first round is a unit; Krippendorff's alpha (ordinal) and percent agreement over every unit, and per step
    position (turn 1, 2, ...). A solution rated up to its first error only has units up to there."""
    import json

    import krippendorff

    rows = conn.execute("SELECT l.item_id, l.rater_id, l.payload FROM current_labels l WHERE l.kind = 'process' "
                        "AND l.round = 1 AND l.source = 'human'").fetchall()
    by_unit: dict[tuple[str, int], list[int]] = defaultdict(list)
    for item, _rater, payload in rows:
        for step, rating in enumerate(json.loads(payload).get("ratings") or []):
            if rating in (-1, 0, 1):
                by_unit[(item, step)].append(rating)
    shared = {unit: r for unit, r in by_unit.items() if len(r) >= 2}

    def figures(units: list[list[int]]) -> dict:
        table = np.array([[r.count(v) for v in (-1, 0, 1)] for r in units], dtype=float)
        pairs = sum(len(r) * (len(r) - 1) for r in units)
        agree = sum(sum(n * (n - 1) for n in Counter(r).values()) for r in units)
        alpha = None
        if len(units) and (table.sum(axis=0) > 0).sum() > 1:
            alpha = float(krippendorff.alpha(value_counts=table, value_domain=[-1, 0, 1],
                                             level_of_measurement="ordinal"))
        return {"units": len(units), "percent": agree / pairs if pairs else None, "ordinal_alpha": alpha}

    positions = sorted({step for _, step in shared})
    return {**figures(list(shared.values())), "items": len({item for item, _ in shared}),
            "by_turn": {str(p + 1): figures([r for (_, s), r in shared.items() if s == p]) for p in positions}}


def span_agreement(conn) -> dict:
    """Marked spans in first-round human labels: how many of each span label, and how far raters agree on where
    the problems are: for each answer of an item two raters labelled, the F1 of the characters they marked (any
    label; a rater who marked nothing in an answer says it has no problem), averaged over the pairs in which at
    least one marked something."""
    import json
    from itertools import combinations

    marked = "instr(payload, '\"spans\"') > 0"
    rows = conn.execute(f"SELECT item_id, rater_id, payload FROM current_labels WHERE round = 1 AND source = 'human' "
                        f"AND kind IN ('pairwise', 'ranking', 'scalar') AND item_id IN "
                        f"(SELECT item_id FROM current_labels WHERE {marked})").fetchall()
    by_label: Counter = Counter()
    chars: dict[str, dict[str, dict[int, set[int]]]] = defaultdict(dict)  # item -> rater -> candidate -> chars
    for item, rater, payload in rows:
        mine: dict[int, set[int]] = defaultdict(set)
        for span in json.loads(payload).get("spans") or []:
            by_label[span["label"]] += 1
            mine[span["candidate"]].update(range(span["start"], span["end"]))
        chars[item][rater] = mine
    scores = []
    for raters in chars.values():
        for a, b in combinations(raters.values(), 2):
            for cand in set(a) | set(b):
                x, y = a.get(cand, set()), b.get(cand, set())
                if x or y:
                    scores.append(2 * len(x & y) / (len(x) + len(y)))
    return {"spans": sum(by_label.values()), "by_label": dict(sorted(by_label.items())), "pairs": len(scores),
            "overlap_f1": sum(scores) / len(scores) if scores else None}
