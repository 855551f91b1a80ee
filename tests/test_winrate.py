"""The statistics a release is read by (issue 21): win rate and its bootstrap interval against a hand
computation, the length-controlled win rate on a planted length-biased judge, and Bradley-Terry scores that
recover a planted order."""

import math
import random

import pytest

from prefdesk.quality.winrate import bootstrap_interval, bradley_terry, length_controlled_win_rate, win_rate


def test_win_rate_counts_a_tie_as_half_and_its_interval_is_the_bootstrap_one():
    outcomes = [1, 1, 0.5, 0, 1, 0, 0.5, 1]  # 5 / 8 by hand: 4 wins, 2 ties, 2 losses
    assert win_rate(outcomes) == 5 / 8
    assert bootstrap_interval([1, 1, 1]) == (1.0, 1.0)
    low, high = bootstrap_interval(outcomes, seed=1)
    assert low < 5 / 8 < high and bootstrap_interval(outcomes, seed=1) == (low, high)  # seeded: the same
    # many comparisons: the percentile interval approaches the normal one, p +- 1.96 sqrt(p(1-p)/n)
    rng = random.Random(0)
    many = [1.0 if rng.random() < 0.6 else 0.0 for _ in range(2000)]
    p = win_rate(many)
    low, high = bootstrap_interval(many, rounds=4000)
    half = 1.96 * math.sqrt(p * (1 - p) / len(many))
    assert low == pytest.approx(p - half, abs=0.006) and high == pytest.approx(p + half, abs=0.006)


def test_a_policy_that_only_talks_longer_wins_raw_but_not_length_controlled():
    """The policy's answer is the reference's with filler appended (0-400 characters), no better; the judge
    prefers the longer answer by a margin that grows with the difference."""
    rng = random.Random(7)
    outcomes, policy, reference = [], [], []
    for _ in range(600):
        base = rng.randint(200, 800)
        filler = rng.choice([0, 0, rng.randint(1, 400)])
        p_win = 0.5 + 0.45 * math.tanh(filler / 150)  # equal answers: a coin; longer: the judge leans to it
        outcomes.append(1.0 if rng.random() < p_win else 0.0)
        policy.append(base + filler)
        reference.append(base)
    raw = win_rate(outcomes)
    controlled = length_controlled_win_rate(outcomes, policy, reference)
    assert raw > 0.58 and abs(controlled - 0.5) < 0.06  # raw: 2/3 coins and 1/3 at ~0.81, about 0.6


def test_bradley_terry_recovers_a_planted_order():
    strength = {"ref": 0.0, "sft": 0.6, "dpo-r1": 1.2, "dpo-r2": 1.5}
    rng = random.Random(3)
    comparisons = []
    for _ in range(1500):
        a, b = rng.sample(sorted(strength), 2)
        p = 1 / (1 + math.exp(-(strength[a] - strength[b])))
        comparisons.append((a, b, 1.0 if rng.random() < p else 0.0))
    scores = bradley_terry(comparisons, rounds=60)
    assert sorted(scores, key=lambda m: scores[m]["score"]) == ["ref", "sft", "dpo-r1", "dpo-r2"]
    gap = (scores["dpo-r2"]["score"] - scores["ref"]["score"]) / (400 / math.log(10))
    assert gap == pytest.approx(1.5, abs=0.25)  # the planted logit gap, on the Elo scale
    assert all(s["low"] <= s["score"] <= s["high"] for s in scores.values())
    assert sum(s["score"] for s in scores.values()) / 4 == pytest.approx(1000, abs=0.5)
