"""The project's leaderboard (issue 21): every evaluated model with Bradley-Terry scores and bootstrap intervals
from all its comparisons (Chatbot Arena's method), per dimension, and the Pareto view over models.

The comparisons are each finished evaluation's: the automatic judge's outcome on every eval prompt (per dimension
for a multi-head reward judge) and, where the evaluation has an arena, every current human vote there (people's
per-dimension verdicts too). `source` keeps only one kind. A model is named as `jobs.evaluate.model_name` names it
(a run of the project, or a resolved folder), so one model evaluated twice is one row.

Style control (LMSYS's): beside the raw scores, the same fit with each comparison's length and markdown differences
as features (`winrate.style_row`) and people's clear verdicts weighted double; a model that wins only by writing
more falls back. Judge comparisons from evaluations made before markdown was recorded have a markdown difference 0.

Pareto: a model is on the front when no other model scores higher on every dimension both were compared on.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

from prefdesk.quality import arena
from prefdesk.store import runs as store_runs
from prefdesk.store.project import Project
from training.protocol import RunStatus

SOURCES = ("all", "judge", "people")


class Comparison(NamedTuple):
    a: str  # the policy
    b: str  # its reference
    outcome: float  # the policy's: 1 win, 1/2 tie, 0 loss
    style: tuple[float, float]  # `winrate.style_row` of the policy's answer against the reference's
    weight: float


def comparisons(project: Project, source: str = "all") -> dict[str, list[Comparison]]:
    """Dimension -> every comparison over the project's finished evaluations."""
    from prefdesk.quality.winrate import STRENGTH_WEIGHT, markdown_count, style_row

    out: dict[str, list[Comparison]] = defaultdict(list)
    for run in store_runs.runs(project):
        if run.kind != "evaluate" or run.status != RunStatus.FINISHED or not run.report:
            continue
        a, b = run.report["models"]["policy"], run.report["models"]["reference"]
        if a == b:
            continue  # a model against itself says nothing about its rank
        if source in ("all", "judge"):
            for row in run.report["per_prompt"]:
                style = style_row(row.get("length") or (0, 0), row.get("markdown") or (0, 0))
                for dim, outcome in (row["outcomes"] or {}).items():
                    out[dim].append(Comparison(a, b, outcome, style, 1.0))
        if source in ("all", "people") and run.report.get("arena"):
            for _, dim, outcome, strength, mine, theirs in arena.vote_rows(project, run.id):
                style = style_row((len(mine), len(theirs)), (markdown_count(mine), markdown_count(theirs)))
                out[dim].append(Comparison(a, b, outcome, style, STRENGTH_WEIGHT.get(strength, 1.0)))
    return dict(out)


def leaderboard(project: Project, source: str = "all", rounds: int = 200) -> dict:
    """{dims: {dimension: {model: {score, low, high, comparisons}}}, style_controlled: {"overall": the same with the
    answers' length and markdown fitted beside the models and clear verdicts weighted}, style: {"overall": the style
    coefficients}, models: [{model, name, scores, styled, pareto}] best overall first}; a dimension with fewer than
    two models has no scores."""
    from prefdesk.quality.winrate import bradley_terry, style_coefficients

    by_dim = comparisons(project, source)
    dims: dict[str, dict] = {}
    styled: dict[str, dict] = {}
    style: dict[str, dict] = {}
    for dim, rows in sorted(by_dim.items(), key=lambda kv: (kv[0] != "overall", kv[0])):
        if len({m for c in rows for m in (c.a, c.b)}) < 2:
            continue
        plain = [(c.a, c.b, c.outcome) for c in rows]
        features, weights = [c.style for c in rows], [c.weight for c in rows]
        scores = bradley_terry(plain, rounds=rounds)
        for model in scores:
            scores[model]["comparisons"] = sum(model in (c.a, c.b) for c in rows)
        dims[dim] = scores
        if dim == "overall":  # style control of the overall verdict: a bootstrap more, not one a dimension
            styled[dim] = bradley_terry(plain, rounds=rounds, style=features, weights=weights)
            style[dim] = style_coefficients(plain, features, weights)
    models = sorted({m for scores in dims.values() for m in scores})
    table = [{"model": m, "name": _short(m), "scores": {d: s[m]["score"] for d, s in dims.items() if m in s},
              "styled": {d: s[m]["score"] for d, s in styled.items() if m in s}} for m in models]
    for row in table:
        row["pareto"] = not any(_beats(other["scores"], row["scores"]) for other in table if other is not row)
    table.sort(key=lambda r: -r["scores"].get("overall", float("-inf")))
    return {"source": source, "dims": dims, "style_controlled": styled, "style": style, "models": table}


def _beats(a: dict[str, float], b: dict[str, float]) -> bool:
    """Whether `a` scores higher than `b` on every dimension both have (and they share one at least)."""
    shared = set(a) & set(b)
    return bool(shared) and all(a[d] > b[d] for d in shared)


def _short(model: str) -> str:
    return model if model.startswith("run:") else Path(model).name
