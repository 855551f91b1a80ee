"""Exports the reward-model benchmarks read: `--format rewardbench` and `--format rewardbench-2`.

Only held-out decided items go out: decided as `quality.rm_pairs` decides (gold, arbitrated, a majority of at least
70% of the votes; ties and splits left out), and never an item any training run of the project trained on (its
dataset's train rows). A frozen version exports its own items only.

- rewardbench (`rewardbench.jsonl`, RewardBench's columns): `id, prompt, chosen, rejected, chosen_model,
  rejected_model, subset`. Each pair once with `subset` its bucket (else scenario, else "overall"), and once more per
  dimension the votes decided, as subset `dimension:<name>` with that dimension's chosen and rejected answers.
- rewardbench-2 (`rewardbench_2.jsonl`, RewardBench 2's best-of-4 columns): `id, prompt, chosen[1], rejected[3],
  num_correct, num_incorrect, total_completions, models, subset`: each ranking of four answers whose raters agree on
  one best, `subset` its bucket (else scenario, else "overall").
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from prefdesk.quality.rm_pairs import best_of_four, held_out_pairs, trained_items

THRESHOLD = 0.7


def _scope_items(scope) -> set[str] | None:
    if scope.only is None:
        return None
    return {i for (i,) in scope.conn.execute("SELECT DISTINCT item_id FROM labels WHERE id IN (SELECT value FROM "
                                             "json_each(?))", (json.dumps(sorted(scope.only)),))}


def _in_range(scope, item_id: str) -> bool:
    """Whether the item is in the scope's id range (an export in workers gives each a range of items)."""
    return (scope.lo is None or item_id >= scope.lo) and (scope.hi is None or item_id < scope.hi)


def rewardbench_rows(scope, agg, report) -> Iterator[dict]:
    trained = trained_items(scope.conn)
    pairs = held_out_pairs(scope.conn, trained, THRESHOLD, _scope_items(scope))
    report.left_out.update({f"not decided: {why}": n for why, n in pairs.excluded.items()})
    if pairs.trained_on:
        report.left_out["trained on by a run"] += pairs.trained_on
    for p in pairs.pairs:
        if not _in_range(scope, p.item_id):
            continue
        base = {"id": p.item_id, "prompt": p.prompt, "chosen": p.texts[0], "rejected": p.texts[1],
                "chosen_model": p.models[0] or "", "rejected_model": p.models[1] or ""}
        yield {**base, "subset": p.bucket or p.scenario or "overall"}
        for dim, winner in sorted(p.dims.items()):
            texts = p.texts if winner == p.chosen else p.texts[::-1]
            models = p.models if winner == p.chosen else p.models[::-1]
            yield {**base, "id": f"{p.item_id}:{dim}", "chosen": texts[0], "rejected": texts[1],
                   "chosen_model": models[0] or "", "rejected_model": models[1] or "", "subset": f"dimension:{dim}"}


def rewardbench2_rows(scope, agg, report) -> Iterator[dict]:
    for q in best_of_four(scope.conn, trained_items(scope.conn), _scope_items(scope)):
        if _in_range(scope, q.item_id):
            yield {"id": q.item_id, "prompt": q.prompt, "chosen": [q.texts[0]], "rejected": list(q.texts[1:]),
               "num_correct": 1, "num_incorrect": 3, "total_completions": 4, "models": [m or "" for m in q.models],
               "subset": q.bucket or q.scenario or "overall"}


FIELDS = {
    "rewardbench": [("id", "string", "the item (and `:dimension` for a dimension's row)"),
                    ("prompt", "string", "the prompt"), ("chosen", "string", "the preferred answer"),
                    ("rejected", "string", "the other"), ("chosen_model", "string", "the model that wrote it, or empty"),
                    ("rejected_model", "string", "the same for the rejected answer"),
                    ("subset", "string", "the bucket (or scenario), or dimension:<name> for a dimension's verdict")],
    "rewardbench_2": [("id", "string", "the item"), ("prompt", "string", "the prompt"),
                      ("chosen", "list of one string", "the answer ranked best by every rater"),
                      ("rejected", "list of three strings", "the other three"),
                      ("num_correct", "int", "1"), ("num_incorrect", "int", "3"), ("total_completions", "int", "4"),
                      ("models", "list of strings", "the models that wrote them, chosen first"),
                      ("subset", "string", "the bucket (or scenario)")],
}
