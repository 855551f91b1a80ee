"""A run's report as rows a person reads, and two runs side by side; Qt-free."""

from __future__ import annotations

from prefdesk.store.runs import Run

SKIP = {"reward_histogram", "job", "base_model", "heads", "merged_dir"}
FIRST = ("accuracy", "mean_margin", "n_pairs", "step_accuracy", "first_error_accuracy",
         "eval_rewards/accuracies", "eval_rewards/margins", "eval_loss")
from training.protocol import RunStatus


def _value(value) -> str | None:
    if isinstance(value, bool) or value is None:
        return None if value is None else str(value)
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, dict) and set(value) == {"accuracy", "n"}:
        accuracy = value["accuracy"]
        return f"{accuracy:.3f} (n={value.get('n')})" if isinstance(accuracy, float) else f"– (n={value.get('n')})"
    return None


def rows(report: dict | None, path: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(name, value) for every figure of a report, nested groups as "group · key" (the held-out `eval`
    group unnamed), headline figures first."""
    out: list[tuple[str, str]] = []
    for key, value in (report or {}).items():
        if key in SKIP:
            continue
        here = path if key == "eval" else (*path, key)
        text = _value(value)
        if text is not None:
            out.append((" · ".join(here), text))
        elif isinstance(value, dict):
            out.extend(rows(value, here))
    rank = {k: i for i, k in enumerate(FIRST)}
    return sorted(out, key=lambda r: rank.get(r[0], len(FIRST)))


def compare(a: Run, b: Run) -> list[tuple[str, str, str]]:
    """(figure, run a, run b) over the figures of both, in a's order then b's new ones."""
    ra, rb = dict(rows(a.report)), dict(rows(b.report))
    names = list(ra) + [n for n in rb if n not in ra]
    return [(n, ra.get(n, "–"), rb.get(n, "–")) for n in names]


def per_dimension(report: dict | None) -> dict[str, float | None]:
    per = ((report or {}).get("eval") or {}).get("per_dimension_accuracy") or {}
    return {dim: v.get("accuracy") for dim, v in per.items()}


def histogram(report: dict | None) -> dict | None:
    return ((report or {}).get("eval") or {}).get("reward_histogram")


def pareto(runs: list[Run]) -> list[dict]:
    """Runs of the multi-head reward model on one dataset version as points of per-dimension accuracy, each
    marked whether another run beats it on no dimension and on at least one (dominated) or not (on the
    frontier). A release is read on this frontier, not by one total score."""
    points = [{"run": r.id, "version": (r.spec or {}).get("version"), "accuracy": per_dimension(r.report)}
              for r in runs]
    points = [p for p in points if p["accuracy"] and all(v is not None for v in p["accuracy"].values())]
    for p in points:
        dims = p["accuracy"]
        p["dominated_by"] = [q["run"] for q in points if q is not p and set(q["accuracy"]) == set(dims)
                             and all(q["accuracy"][d] >= dims[d] for d in dims)
                             and any(q["accuracy"][d] > dims[d] for d in dims)]
        p["frontier"] = not p["dominated_by"]
    return points


def pareto_by_version(project) -> dict[str, list[dict]]:
    """`pareto` of the finished multi-head reward runs, for each dataset version they were trained on."""
    from prefdesk.store import runs as store_runs

    groups: dict[str, list[Run]] = {}
    for run in store_runs.runs(project):
        version = (run.spec or {}).get("version")
        if run.kind == "reward-dims" and run.status == RunStatus.FINISHED and version:
            groups.setdefault(version, []).append(run)
    return {version: points for version, runs in groups.items() if (points := pareto(runs))}
