"""The statistics a release is read by (issue 21): a policy's win rate over its reference with a bootstrap
interval, the length-controlled win rate, and Bradley-Terry scores over many models' comparisons.

- Win rate: the mean outcome, a win 1, a tie 1/2, a loss 0; the 95% interval is the percentile bootstrap
  (resampling the comparisons). A dimension or bucket whose interval lies below 1/2 is a regression, once it
  has MIN_FOR_VERDICT comparisons: the percentile bootstrap of one or two losses is [0, 0], and a bucket that
  holds one prompt of the eval set is not a finding.
- Length-controlled win rate (after AlpacaEval's): a judge that likes long answers rewards a policy that only
  talks more. The outcomes are fitted with a logistic model on the length difference,
  P(win) = sigmoid(theta + phi * tanh(d / sd(d))), d = policy length - reference length; the rate is
  sigmoid(theta), the win rate at equal length. A tie counts half a win and half a loss.
- Bradley-Terry (Chatbot Arena's method): a logistic regression on the comparisons, each a +1 / -1 row for
  its two models, outcome whether the first won; scores on the Elo scale (400 / ln 10 a logit, 1000 the mean)
  with bootstrap intervals. Style control (LMSYS's): the length and markdown differences of the two answers are
  fitted beside the models, so a model that wins by writing more is scored as if it did not; strong verdicts may
  weigh more.

numpy and scikit-learn, imported when a report is made.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

ELO_SCALE = 400 / math.log(10)
MIN_FOR_VERDICT = 8  # fewer comparisons: the group is shown, marked too few, and never called a regression


def summary(outcomes: Sequence[float]) -> dict:
    """{n, win_rate, interval, regression, too_few}: a group's win rate as the reports show it."""
    low, high = bootstrap_interval(outcomes)
    too_few = len(outcomes) < MIN_FOR_VERDICT
    return {"n": len(outcomes), "win_rate": round(win_rate(outcomes), 4), "interval": [round(low, 4), round(high, 4)],
            "regression": high < 0.5 and not too_few, "too_few": too_few}


def win_rate(outcomes: Sequence[float]) -> float:
    """The mean of the outcomes (1 a win, 0.5 a tie, 0 a loss)."""
    if not len(outcomes):
        raise ValueError("no comparisons")
    return float(np.mean(np.asarray(outcomes, dtype=float)))


def bootstrap_interval(outcomes: Sequence[float], rounds: int = 2000, level: float = 0.95,
                       seed: int = 0) -> tuple[float, float]:
    """The percentile bootstrap interval of the win rate (the same every time for a seed)."""
    values = np.asarray(outcomes, dtype=float)
    if not len(values):
        raise ValueError("no comparisons")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(rounds, len(values)))].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(low), float(high)


def _halves(outcomes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each comparison as a win row and a loss row weighted by its outcome (a tie: half each)."""
    rows = np.arange(len(outcomes))
    index = np.concatenate([rows, rows])
    target = np.concatenate([np.ones(len(outcomes)), np.zeros(len(outcomes))])
    weight = np.concatenate([outcomes, 1 - outcomes])
    keep = weight > 0
    return index[keep], target[keep], weight[keep]


def length_controlled_win_rate(outcomes: Sequence[float], policy_lengths: Sequence[float],
                               reference_lengths: Sequence[float]) -> float:
    """The win rate at equal length (see the module): sigmoid(theta) of the fitted length model."""
    from sklearn.linear_model import LogisticRegression

    won = np.asarray(outcomes, dtype=float)
    diff = np.asarray(policy_lengths, dtype=float) - np.asarray(reference_lengths, dtype=float)
    if not len(won) or len(diff) != len(won):
        raise ValueError("one outcome and one pair of lengths a comparison")
    spread = diff.std()
    feature = np.tanh(diff / spread) if spread > 0 else np.zeros_like(diff)
    index, target, weight = _halves(won)
    if len(set(target)) < 2:  # all wins or all losses: nothing to fit
        return float(won.mean())
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(feature[index, None], target, sample_weight=weight)
    return float(1 / (1 + math.exp(-fit.intercept_[0])))


def bradley_terry(comparisons: Sequence[tuple[str, str, float]], rounds: int = 200, seed: int = 0,
                  style: Sequence[Sequence[float]] | None = None,
                  weights: Sequence[float] | None = None) -> dict[str, dict[str, float]]:
    """Scores of every model from (model a, model b, outcome for a) comparisons: {model: {score, low, high}} on
    the Elo scale, mean 1000, with a 95% bootstrap interval. `style`: each comparison's style differences
    (`style_row`), fitted beside the models (style control, as LMSYS's: the scores are then what is left once
    length and markdown explain what they can); `weights`: each comparison's weight (a clear verdict counts more)."""
    models = sorted({m for a, b, _ in comparisons for m in (a, b)})
    if len(models) < 2:
        raise ValueError("Bradley-Terry needs comparisons between two models or more")
    design, outcomes, weight = _design(comparisons, models, style, weights)
    n = len(models)
    point = _bt_fit(design, outcomes, weight, n)[:n]
    low = high = point  # rounds 0: the point estimate alone
    if rounds:
        rng = np.random.default_rng(seed)
        draws = np.array([_bt_fit(design[pick], outcomes[pick], weight[pick], n)[:n]
                          for pick in (rng.integers(0, len(outcomes), len(outcomes)) for _ in range(rounds))])
        low, high = np.quantile(draws, [0.025, 0.975], axis=0)
    return {m: {"score": round(float(point[i]), 1), "low": round(float(low[i]), 1), "high": round(float(high[i]), 1)}
            for i, m in enumerate(models)}


def style_coefficients(comparisons: Sequence[tuple[str, str, float]], style: Sequence[Sequence[float]],
                       weights: Sequence[float] | None = None) -> dict[str, float]:
    """How much each style feature moves the odds of a win, on the Elo scale per unit of the feature (a positive
    length coefficient: the judge or the voters prefer the longer answer, whoever wrote it)."""
    models = sorted({m for a, b, _ in comparisons for m in (a, b)})
    design, outcomes, weight = _design(comparisons, models, style, weights)
    coef = _bt_fit(design, outcomes, weight, len(models))[len(models):]
    return {name: round(float(c), 1) for name, c in zip(STYLE_FEATURES, coef)}


STYLE_FEATURES = ("length", "markdown")
STRENGTH_WEIGHT = {"clear": 2.0}  # a person's clear verdict counts twice a slight one (or one with no strength)
_MARKDOWN = re.compile(r"^\s{0,3}(#{1,6}\s|[-*+]\s|\d+[.)]\s)|\*\*[^*\n]+\*\*|^\s*```", re.MULTILINE)


def markdown_count(text: str) -> int:
    """Headers, list items, bold runs and code fences in an answer: its markdown."""
    return len(_MARKDOWN.findall(text))


def style_row(lengths: Sequence[int], markdown: Sequence[int]) -> tuple[float, float]:
    """The style differences of answer a against b from their (a, b) lengths and `markdown_count`s: each as
    (a - b) / (a + b), 0 when both are 0."""
    return tuple((x - y) / (x + y) if x + y else 0.0 for x, y in (lengths, markdown))


def _design(comparisons, models, style, weights) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    at = {m: i for i, m in enumerate(models)}
    extra = len(STYLE_FEATURES) if style is not None else 0
    design = np.zeros((len(comparisons), len(models) + extra))
    rows = np.arange(len(comparisons))
    design[rows, [at[a] for a, _, _ in comparisons]] = 1
    design[rows, [at[b] for _, b, _ in comparisons]] = -1
    if extra:
        design[:, len(models):] = np.asarray(style, dtype=float)
    outcomes = np.asarray([o for _, _, o in comparisons], dtype=float)
    weight = np.ones(len(comparisons)) if weights is None else np.asarray(weights, dtype=float)
    return design, outcomes, weight


def _bt_fit(design: np.ndarray, outcomes: np.ndarray, weights: np.ndarray, n_models: int) -> np.ndarray:
    """The models' scores (Elo scale, mean 1000), then any style coefficients (Elo scale per unit)."""
    from sklearn.linear_model import LogisticRegression

    index, target, weight = _halves(outcomes)
    if len(set(target)) < 2:
        return np.concatenate([np.full(n_models, 1000.0), np.zeros(design.shape[1] - n_models)])
    fit = LogisticRegression(C=1e6, fit_intercept=False, max_iter=1000).fit(design[index], target,
                                                                          sample_weight=weight * weights[index])
    coef = fit.coef_[0] * ELO_SCALE
    strength = coef[:n_models]
    return np.concatenate([strength - strength.mean() + 1000, coef[n_models:]])
