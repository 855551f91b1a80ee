"""The blind arena of an evaluation (issue 21): pairs of a policy's and its reference's answers to the same eval
prompt, judged by people in the desk like any pairwise item.

- Blind: the answers carry no model, no sampling record and no run; which side is the policy's is kept in
  `arena_items`, apart from the item, and drawn at random (seeded) per item. The desk shows the two answers in
  its own random screen order on top and records it on every label (`display_order`), as it does everywhere.
- Never training data: the items carry `eval_run` (the evaluation's run), which exports, dataset versions, the
  rule pre-filter and the model judges skip (`store.snapshot`, `store.versions`).
- Their content hash includes the run, so an import of the same texts never lands its labels on them.

`results` reads people's verdicts back: the policy's human win rate per dimension (every current vote a
comparison, ties and both-bad as 1/2) with its bootstrap interval, and the automatic judge's agreement with
people's majority on the same pairs (share and Cohen's kappa).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict

from prefdesk.domain import Candidate, ItemKind, NewItem
from prefdesk.store.ids import content_hash, utc_now, uuid7
from prefdesk.store.ingest import prepare
from prefdesk.store.overlap import IS_A_VOTE
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


_FOR_POLICY = ({"A": 1.0, "B": 0.0}, {"A": 0.0, "B": 1.0})  # by the policy's position; tie and both bad: 1/2


def vote_rows(project: Project, run_id: str) -> list[tuple[str, str, float, str | None, str, str]]:
    """(prompt id, dimension ('overall' and each one a voter gave), the policy's outcome, the verdict's strength,
    the policy's answer, the reference's) of each current human vote on the run's arena items."""
    out = []
    for prompt_id, position, payload, candidates in project.conn.execute(
            "SELECT a.prompt_id, a.policy_position, l.payload, i.candidates FROM arena_items a JOIN current_labels l "
            "ON l.item_id = a.item_id JOIN items i ON i.id = a.item_id WHERE a.run_id = ? AND l.kind = 'pairwise' "
            f"AND l.round = 1 AND l.{IS_A_VOTE}", (run_id,)):
        p = json.loads(payload)
        side = _FOR_POLICY[position]
        texts = [c["text"] for c in json.loads(candidates)]
        mine, theirs = texts[position], texts[1 - position]
        out.append((prompt_id, "overall", side.get(p.get("verdict"), 0.5), p.get("strength"), mine, theirs))
        out += [(prompt_id, dim, side.get(v, 0.5), None, mine, theirs) for dim, v in (p.get("dims") or {}).items()]
    return out


def votes(project: Project, run_id: str) -> dict[str, dict[str, list[float]]]:
    """Prompt id -> dimension ('overall' and each dimension a voter gave) -> the policy's outcome in each current
    human vote on the run's arena items."""
    out: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for prompt_id, dim, outcome, *_ in vote_rows(project, run_id):
        out[prompt_id][dim].append(outcome)
    return out


def results(project: Project, run_id: str, judged: dict[str, dict[str, float]]) -> dict:
    """People's verdicts on the run's arena: {items, voted, dims: {dim: win rate, interval, votes},
    judge_agreement: {pairs, agreement, kappa}}; `judged`: prompt id -> dimension -> the automatic judge's outcome."""
    from prefdesk.quality.winrate import summary

    items = project.conn.execute("SELECT COUNT(*) FROM arena_items WHERE run_id = ?", (run_id,)).fetchone()[0]
    got = votes(project, run_id)
    per_dim: dict[str, list[float]] = defaultdict(list)
    for by_dim in got.values():
        for dim, outcomes in by_dim.items():
            per_dim[dim] += outcomes
    dims = {}
    for dim, outcomes in sorted(per_dim.items()):
        s = summary(outcomes)
        dims[dim] = {"votes": s.pop("n"), **s}
    return {"items": items, "voted": len(got), "dims": dims, "judge_agreement": agreement(got, judged),
            "style_controlled": style_controlled(vote_rows(project, run_id))}


def style_controlled(rows: list[tuple]) -> dict | None:
    """People's overall verdicts with style control: the policy's win rate at equal length and markdown (Bradley-Terry
    of the two with the style differences fitted beside them, clear verdicts weighted double), and the style
    coefficients; None with fewer than 8 votes or no win and no loss among them."""
    import math

    from prefdesk.quality.winrate import (ELO_SCALE, STRENGTH_WEIGHT, bradley_terry, markdown_count,
                                          style_coefficients, style_row)

    overall = [r for r in rows if r[1] == "overall"]
    if len(overall) < 8 or len({o for _, _, o, *_ in overall} - {0.5}) < 2:
        return None
    plain = [("policy", "reference", o) for _, _, o, *_ in overall]
    style = [style_row((len(m), len(t)), (markdown_count(m), markdown_count(t))) for *_, m, t in overall]
    weights = [STRENGTH_WEIGHT.get(strength, 1.0) for _, _, _, strength, _, _ in overall]
    scores = bradley_terry(plain, rounds=0, style=style, weights=weights)  # the point: read on every panel refresh
    gap = (scores["policy"]["score"] - scores["reference"]["score"]) / ELO_SCALE
    return {"win_rate": round(1 / (1 + math.exp(-gap)), 4), "votes": len(overall),
            "style": style_coefficients(plain, style, weights)}


def _side(x: float) -> str:
    return "policy" if x > 0.5 else "reference" if x < 0.5 else "tie"


def agreement(people: dict[str, dict[str, list[float]]], judged: dict[str, dict[str, float]]) -> dict:
    """The automatic judge against people's majority on the same pairs, overall: share agreeing, Cohen's kappa."""
    pairs = [(_side(sum(v["overall"]) / len(v["overall"])), _side(judged[pid]["overall"]))
             for pid, v in sorted(people.items()) if v.get("overall") and pid in judged]
    if not pairs:
        return {"pairs": 0}
    out = {"pairs": len(pairs), "agreement": round(sum(a == b for a, b in pairs) / len(pairs), 4)}
    if len({x for pair in pairs for x in pair}) > 1:
        from sklearn.metrics import cohen_kappa_score

        out["kappa"] = round(float(cohen_kappa_score(*zip(*pairs))), 4)
    return out
