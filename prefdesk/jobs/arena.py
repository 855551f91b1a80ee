"""The blind arena of an evaluation (issue 21): pairs of a policy's and its reference's answers to the same eval
prompt, judged by people in the desk like any pairwise item.

- Blind: the answers carry no model, no sampling record and no run; which side is the policy's is kept in
  `arena_items`, apart from the item, and drawn at random (seeded) per item. The desk shows the two answers in
  its own random screen order on top and records it on every label (`display_order`), as it does everywhere.
- Never training data: the items carry `eval_run` (the evaluation's run), which exports, dataset versions, the
  rule pre-filter and the model judges skip (`store.snapshot`, `store.versions`).
- Their content hash includes the run, so an import of the same texts never lands its labels on them.

People's verdicts on them are read back by `quality.arena`.
"""

from __future__ import annotations

import random

from prefdesk.domain import Candidate, ItemKind, NewItem
from prefdesk.store.ids import content_hash, utc_now, uuid7
from prefdesk.store.ingest import prepare
from prefdesk.store.project import Project

SOURCE = "evaluation"
PRIORITY = 1.0  # arena items come before the training queue: a release waits on them


def make(project: Project, run_id: str, prompts: list, mine: dict[str, str], theirs: dict[str, str], n: int,
         seed: int = 0) -> list[str]:
    """N arena items (fewer when fewer prompts have two different answers) for evaluation run `run_id`; their
    ids. `mine` / `theirs`: prompt id -> the policy's / the reference's answer."""
    rng = random.Random(f"arena:{run_id}:{seed}")
    usable = [p for p in prompts if mine.get(p.id) and theirs.get(p.id) and mine[p.id] != theirs[p.id]]
    chosen = sorted(rng.sample(usable, min(n, len(usable))), key=lambda p: prompts.index(p))
    now, made = utc_now(), []
    with project.transaction() as conn:
        for p in chosen:
            policy_position = rng.randrange(2)
            texts = [mine[p.id], theirs[p.id]] if policy_position == 0 else [theirs[p.id], mine[p.id]]
            meta = {"evaluation": run_id, "prompt_id": p.id}
            meta.update((k, v) for k in ("scenario", "risk_level", "bucket") if (v := getattr(p, k)) is not None)
            item = NewItem(ItemKind.PAIRWISE, p.prompt, tuple(Candidate(i, t, source=SOURCE) for i, t in enumerate(texts)),
                           p.messages, meta=meta, priority=PRIORITY, source=SOURCE)
            row = prepare(item, [])
            item_id = uuid7()
            conn.execute(
                "INSERT INTO items (id, kind, prompt, prompt_messages, meta, scenario, risk_level, bucket, is_gold, "
                "priority, source, content_hash, created_at, n_raters, open, candidates, eval_run) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, 0, 1, ?, ?)",
                (item_id, row.kind, row.prompt, row.prompt_messages, row.meta, row.scenario, row.risk_level,
                 row.bucket, row.priority, SOURCE, content_hash(row.kind, row.prompt, [*texts, f"arena:{run_id}"]),
                 now, row.candidates, run_id))
            conn.execute("INSERT INTO arena_items VALUES (?, ?, ?, ?)", (item_id, run_id, p.id, policy_position))
            made.append(item_id)
    return made
