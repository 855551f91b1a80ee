"""The project's leaderboard (issue 21): every evaluated model with Bradley-Terry scores and bootstrap intervals
from all its comparisons (Chatbot Arena's method), per dimension, and the Pareto view over models.

The comparisons are each finished evaluation's: the automatic judge's outcome on every eval prompt (per dimension
for a multi-head reward judge) and, where the evaluation has an arena, every current human vote there (people's
per-dimension verdicts too). `source` keeps only one kind. A model is named as `jobs.evaluate.model_name` names it
(a run of the project, or a resolved folder), so one model evaluated twice is one row.

Pareto: a model is on the front when no other model scores higher on every dimension both were compared on.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from prefdesk.jobs import arena
from prefdesk.store import runs as store_runs
from prefdesk.store.project import Project
from training.protocol import RunStatus

SOURCES = ("all", "judge", "people")


def comparisons(project: Project, source: str = "all") -> dict[str, list[tuple[str, str, float]]]:
    """Dimension -> [(policy, reference, the policy's outcome)] over the project's finished evaluations."""
    out: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for run in store_runs.runs(project):
        if run.kind != "evaluate" or run.status != RunStatus.FINISHED or not run.report:
            continue
        a, b = run.report["models"]["policy"], run.report["models"]["reference"]
        if a == b:
            continue  # a model against itself says nothing about its rank
        if source in ("all", "judge"):
            for row in run.report["per_prompt"]:
                for dim, outcome in (row["outcomes"] or {}).items():
                    out[dim].append((a, b, outcome))
        if source in ("all", "people") and run.report.get("arena"):
            for by_dim in arena.votes(project, run.id).values():
                for dim, outcomes in by_dim.items():
                    out[dim] += [(a, b, o) for o in outcomes]
    return dict(out)


def leaderboard(project: Project, source: str = "all", rounds: int = 200) -> dict:
    """{dims: {dimension: {model: {score, low, high, comparisons}}}, models: [{model, name, scores, pareto}] best
    overall first}; a dimension with fewer than two models has no scores."""
    from prefdesk.quality.winrate import bradley_terry

    by_dim = comparisons(project, source)
    dims: dict[str, dict] = {}
    for dim, rows in sorted(by_dim.items(), key=lambda kv: (kv[0] != "overall", kv[0])):
        if len({m for a, b, _ in rows for m in (a, b)}) < 2:
            continue
        scores = bradley_terry(rows, rounds=rounds)
        for model in scores:
            scores[model]["comparisons"] = sum(model in (a, b) for a, b, _ in rows)
        dims[dim] = scores
    models = sorted({m for scores in dims.values() for m in scores})
    table = [{"model": m, "name": _short(m), "scores": {d: s[m]["score"] for d, s in dims.items() if m in s}}
             for m in models]
    for row in table:
        row["pareto"] = not any(_beats(other["scores"], row["scores"]) for other in table if other is not row)
    table.sort(key=lambda r: -r["scores"].get("overall", float("-inf")))
    return {"source": source, "dims": dims, "models": table}


def _beats(a: dict[str, float], b: dict[str, float]) -> bool:
    """Whether `a` scores higher than `b` on every dimension both have (and they share one at least)."""
    shared = set(a) & set(b)
    return bool(shared) and all(a[d] > b[d] for d in shared)


def _short(model: str) -> str:
    return model if model.startswith("run:") else Path(model).name
