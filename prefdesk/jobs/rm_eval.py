"""`prefdesk rm-eval`'s job: a finished reward run judged on the project's held-out decided pairs (`quality.rm_pairs`,
`quality.rm_eval`), the candidates it has not scored yet scored first (a scoring job, `jobs.train.score`)."""

from __future__ import annotations

import json
from collections import defaultdict

from prefdesk.jobs import train
from prefdesk.quality.rm_eval import evaluate
from prefdesk.quality.rm_pairs import best_of_four, held_out_pairs, training_items
from prefdesk.store import runs as store_runs


def rm_eval(project, run_id: str, version: str | None = None, evalset: str | None = None, threshold: float = 0.7,
            python: str | None = None, score_missing: bool = True) -> dict:
    """Judge a finished reward run on the project's held-out decided pairs (of a version, or of an eval set's
    prompts); candidates it has not scored yet are scored first (a scoring job), unless `score_missing` is off."""
    run = store_runs.run(project, run_id)
    if run.kind not in ("reward", "reward-dims") or run.status.value != "finished":
        raise ValueError(f"run {run_id} is a {run.status.value} {run.kind} run; rm-eval needs a finished reward run")
    only = _scope(project, version, evalset)
    exclude = training_items(project.conn, run.dataset)
    pairs = held_out_pairs(project.conn, exclude, threshold, only)
    quads = best_of_four(project.conn, exclude, only)
    items = sorted({p.item_id for p in pairs.pairs} | {q.item_id for q in quads})
    stored = _stored(project, run_id, items)
    missing = sorted({i for i in items if i not in stored})
    if missing and score_missing:
        train.score(project, run_id, python, item_ids=missing)
        stored = _stored(project, run_id, items)

    def score(item_id: str, position: int, dim: str | None) -> float | None:
        got = stored.get(item_id, {}).get(position)
        if got is None:
            return None
        value, dims = got
        return value if dim is None else (json.loads(dims).get(dim) if dims else None)
    report = evaluate(pairs, quads, score)
    report.update(run=run_id, kind=run.kind, threshold=threshold, version=version, evalset=evalset)
    return report


def _stored(project, run_id: str, items: list[str]) -> dict[str, dict[int, tuple[float, str | None]]]:
    out: dict[str, dict[int, tuple[float, str | None]]] = defaultdict(dict)
    for item_id, position, value, dims in project.conn.execute(
            "SELECT item_id, position, score, dims FROM scores WHERE run_id = ? AND item_id IN "
            "(SELECT value FROM json_each(?))", (run_id, json.dumps(items))):
        out[item_id][position] = (value, dims)
    return out


def _scope(project, version: str | None, evalset: str | None) -> set[str] | None:
    """The items a version's labels are on, or those whose prompt is one of an eval set's; None: every item."""
    if version is not None:
        from prefdesk.store import versions

        ids = sorted(versions.get(project, version).label_ids)
        return {i for (i,) in project.conn.execute(
            "SELECT DISTINCT item_id FROM labels WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))}
    if evalset is not None:
        from prefdesk.store import evalsets

        prompts = [p.prompt for p in evalsets.prompts_of(project, evalsets.get(project, evalset))]
        return {i for (i,) in project.conn.execute(
            "SELECT id FROM items WHERE prompt IN (SELECT value FROM json_each(?))", (json.dumps(prompts),))}
    return None
