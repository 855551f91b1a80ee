"""Style control in the leaderboard (issue 35): on a synthetic arena whose judge likes long answers, the model that
writes more wins the raw ranking and loses once length is fitted beside the models; the fitted length coefficient is
the planted one."""

import math
import random

import pytest

from prefdesk.quality.leaderboard import leaderboard
from prefdesk.quality.winrate import ELO_SCALE, bradley_terry, markdown_count, style_coefficients, style_row
from prefdesk.store import runs as store_runs
from training.protocol import RunStatus

STRENGTH = {"concise": 0.5, "verbose": 0.0, "base": -0.3}  # the answers' worth, length aside
LENGTH = {"concise": 300, "verbose": 1200, "base": 400}
LIKES_LENGTH = 2.0  # the judge's logit per unit of (len_a - len_b) / (len_a + len_b)


def synthetic_arena(n: int, seed: int = 5) -> list[tuple[str, str, float, tuple[float, float], list[int]]]:
    """(a, b, a's outcome, the style row, the two answers' lengths): each model's answers vary in length around its
    own, and the judge's odds follow the answers' worth plus LIKES_LENGTH times their length difference."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.sample(sorted(STRENGTH), 2)
        lengths = [round(LENGTH[m] * rng.uniform(0.6, 1.4)) for m in (a, b)]
        style = style_row(lengths, (0, 0))
        p = 1 / (1 + math.exp(-(STRENGTH[a] - STRENGTH[b] + LIKES_LENGTH * style[0])))
        out.append((a, b, 1.0 if rng.random() < p else 0.0, style, lengths))
    return out


def test_the_longer_model_wins_raw_and_loses_with_style_control():
    rows = synthetic_arena(3000)
    plain = [(a, b, o) for a, b, o, _, _ in rows]
    raw = bradley_terry(plain, rounds=40)
    styled = bradley_terry(plain, rounds=40, style=[s for _, _, _, s, _ in rows])
    assert raw["verbose"]["score"] > raw["concise"]["score"]
    assert styled["concise"]["score"] > styled["verbose"]["score"]
    assert styled["concise"]["low"] > styled["verbose"]["high"]  # apart beyond their intervals
    coef = style_coefficients(plain, [s for _, _, _, s, _ in rows])
    assert coef["length"] / ELO_SCALE == pytest.approx(LIKES_LENGTH, abs=0.4) and abs(coef["markdown"]) < 1e-6


def test_markdown_is_counted_and_a_clear_verdict_weighs_more():
    assert markdown_count("# Title\n\n- one\n- two\n\n**bold** and 1. not a list\n2. a list item") == 5
    assert style_row((300, 100), (0, 0)) == (0.5, 0.0) and style_row((0, 0), (2, 0)) == (0.0, 1.0)
    plain = [("x", "y", 1.0), ("x", "y", 0.0)] * 20
    even = bradley_terry(plain, rounds=5)
    tilted = bradley_terry(plain, rounds=5, weights=[2.0, 1.0] * 20)
    assert even["x"]["score"] == pytest.approx(1000, abs=1) and tilted["x"]["score"] > even["x"]["score"] + 50


def test_the_leaderboard_shows_both_rankings_from_the_projects_evaluations(project, cli):
    """Evaluations stored as `prefdesk evaluate` stores them (per prompt: the outcome and both answers' lengths)."""
    by_pair: dict[tuple[str, str], list] = {}
    for a, b, outcome, _, lengths in synthetic_arena(3000):
        by_pair.setdefault((a, b), []).append((outcome, lengths))
    for (a, b), rows in by_pair.items():
        run_id = store_runs.start_run(project, "evaluate", {}, "synthetic", {})
        per_prompt = [{"prompt_id": f"p{i}", "outcomes": {"overall": o}, "length": lengths, "markdown": [0, 0]}
                      for i, (o, lengths) in enumerate(rows)]
        store_runs.finish_run(project, run_id, RunStatus.FINISHED,
                              {"models": {"policy": f"run:{a}", "reference": f"run:{b}"}, "per_prompt": per_prompt})
    board = leaderboard(project, rounds=30)
    raw, styled = board["dims"]["overall"], board["style_controlled"]["overall"]
    assert raw["run:verbose"]["score"] > raw["run:concise"]["score"]
    assert styled["run:concise"]["score"] > styled["run:verbose"]["score"]
    assert board["style"]["overall"]["length"] > 0
    row = next(m for m in board["models"] if m["model"] == "run:concise")
    assert row["styled"]["overall"] == styled["run:concise"]["score"]
    code, out, _ = cli("leaderboard", "-p", project.path)
    assert code == 0 and "overall, style ctrl" in out and "style: {'length':" in out


def test_an_arena_whose_voters_like_length_is_read_at_equal_length():
    """People's arena votes (`quality.arena.vote_rows` rows): the policy writes more and wins 60% raw; its answers are
    in fact worse, and at equal length it loses."""
    from prefdesk.quality.arena import style_controlled

    rng = random.Random(2)
    rows = []
    for i in range(1500):
        mine, theirs = "x" * rng.randint(600, 1400), "y" * rng.randint(200, 600)
        style = style_row((len(mine), len(theirs)), (0, 0))
        p = 1 / (1 + math.exp(-(-0.4 + LIKES_LENGTH * style[0])))
        rows.append((f"p{i}", "overall", 1.0 if rng.random() < p else 0.0, "clear" if i % 3 else None, mine, theirs))
    raw = sum(r[2] for r in rows) / len(rows)
    got = style_controlled(rows)
    assert raw > 0.55 and got["win_rate"] < 0.5 and got["votes"] == 1500
    assert got["win_rate"] == pytest.approx(1 / (1 + math.exp(0.4)), abs=0.05) and got["style"]["length"] > 0
    assert style_controlled(rows[:5]) is None  # too few votes to say
