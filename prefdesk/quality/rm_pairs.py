"""The held-out, decided pairs a reward model is judged on, and the best-of-4 sets (RewardBench 2's shape).

A pair's answer comes from the strongest decision the project holds on it, in this order:
- gold: a gold item's expected verdict (A or B);
- arbitrated: a lead's arbitration decision;
- majority: the people's first-round votes (`store.overlap.IS_A_VOTE`: no judge, rule, reference or online label),
  when the top verdict has at least `threshold` of them; a single rater's vote is its own level.
A tie or "both bad" as the decision, an even split and a majority under the threshold are not pairs: they are
counted apart (`Pairs.excluded`). Items used in training the run (its dataset's train rows) are left out; so are an
evaluation's own arena items.

Per dimension, a pair's dimension verdict is the majority of the votes' verdicts on it, when decisive.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import sqlite3

LEVELS = ("gold", "arbitrated", "unanimous", "majority", "single rater")


class Pair(NamedTuple):
    item_id: str
    chosen: int  # candidate positions
    rejected: int
    level: str  # LEVELS
    agreement: float  # the top verdict's share of the votes (1.0 for gold and arbitrated)
    dims: dict  # dimension -> the position that dimension prefers
    prompt: str
    texts: tuple[str, str]  # (chosen, rejected)
    models: tuple[str | None, str | None]
    bucket: str | None
    scenario: str | None
    source: str | None
    tags: tuple[str, ...]


@dataclass
class Pairs:
    pairs: list[Pair] = field(default_factory=list)
    excluded: Counter = field(default_factory=Counter)  # why a labelled pair is not one: tie, split, ...
    trained_on: int = 0  # decided pairs left out because the run trained on them


def training_items(conn: sqlite3.Connection, dataset: str | None) -> set[str]:
    """The items a run's train rows came from (its dataset folder's `preference.jsonl`, by their label ids)."""
    if not dataset:
        return set()
    path = Path(dataset) / "preference.jsonl"
    if not path.is_file():
        return set()
    ids = [i for line in path.read_text().splitlines() if line.strip() for i in json.loads(line).get("label_ids", [])]
    if not ids:
        return set()
    return {i for (i,) in conn.execute(
        "SELECT DISTINCT item_id FROM labels WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))}


def trained_items(conn: sqlite3.Connection) -> set[str]:
    """The items any finished training run of the project trained on."""
    return {i for (dataset,) in conn.execute("SELECT dataset FROM runs WHERE status = 'finished'")
            for i in training_items(conn, dataset)}


def held_out_pairs(conn: sqlite3.Connection, exclude: set[str], threshold: float = 0.7,
                   only: set[str] | None = None) -> Pairs:
    """Every decided pairwise item not in `exclude` (and in `only`, when given); see the module docstring."""
    from prefdesk.store.overlap import IS_A_VOTE
    from prefdesk.store.votes import SUPERSEDED

    rows = conn.execute(
        f"SELECT i.id, i.is_gold, i.gold_answer, i.prompt, i.candidates, i.bucket, i.scenario, i.source, l.source, "
        f"l.payload FROM items i LEFT JOIN labels l ON l.item_id = i.id AND l.kind = 'pairwise' AND l.round = 1 "
        f"AND l.id NOT IN ({SUPERSEDED}) AND (l.{IS_A_VOTE} OR l.source = 'arbitration') "
        f"WHERE i.kind = 'pairwise' AND i.eval_run IS NULL AND (l.id IS NOT NULL OR i.is_gold) "
        f"ORDER BY i.id, l.created_at, l.id").fetchall()  # a gold item counts with no vote on it
    out = Pairs()
    by_item: dict[str, list] = {}
    for row in rows:
        by_item.setdefault(row[0], []).append(row)
    for item_id, labels in by_item.items():
        if only is not None and item_id not in only:
            continue
        decided = _decision(labels, threshold)
        if isinstance(decided, str):
            out.excluded[decided] += 1
            continue
        if item_id in exclude:
            out.trained_on += 1
            continue
        winner, level, agreement = decided
        first = labels[0]
        cands = json.loads(first[4])
        votes = [json.loads(lab[9]) for lab in labels if lab[8] not in (None, "arbitration")]
        loser = 1 - winner
        tags = tuple(sorted({t for v in votes for t in v.get("reason_tags") or []}))
        out.pairs.append(Pair(item_id, winner, loser, level, agreement, _dims(votes), first[3],
                              (cands[winner]["text"], cands[loser]["text"]),
                              (cands[winner].get("model"), cands[loser].get("model")), first[5], first[6], first[7],
                              tags))
    return out


def _decision(labels: list, threshold: float) -> tuple[int, str, float] | str:
    """(winning position, level, agreement), or why there is no decided pair."""
    first = labels[0]
    gold = json.loads(first[2]) if first[1] and first[2] else None
    if gold and gold.get("verdict") in ("A", "B"):
        return ("AB".index(gold["verdict"]), "gold", 1.0)
    labels = [lab for lab in labels if lab[8] is not None]
    if not labels:
        return "gold without an expected verdict"
    decisions = [json.loads(lab[9])["verdict"] for lab in labels if lab[8] == "arbitration"]
    if decisions:
        last = decisions[-1]
        return ("AB".index(last), "arbitrated", 1.0) if last in ("A", "B") else f"decided {last.replace('_', ' ')}"
    verdicts = [json.loads(lab[9])["verdict"] for lab in labels]
    counts = Counter(verdicts).most_common()
    top, n = counts[0]
    if len(counts) > 1 and counts[1][1] == n:
        return "split evenly"
    if top not in ("A", "B"):
        return f"majority {top.replace('_', ' ')}"
    share = n / len(verdicts)
    if share < threshold:
        return f"agreement under {threshold:.0%}"
    level = "single rater" if len(verdicts) == 1 else "unanimous" if share == 1 else "majority"
    return ("AB".index(top), level, share)


def _dims(votes: list[dict]) -> dict[str, int]:
    out = {}
    for dim in sorted({d for v in votes for d in (v.get("dims") or {})}):
        counts = Counter((v.get("dims") or {}).get(dim) for v in votes if (v.get("dims") or {}).get(dim)).most_common()
        if counts and counts[0][0] in ("A", "B") and (len(counts) == 1 or counts[0][1] > counts[1][1]):
            out[dim] = "AB".index(counts[0][0])
    return out


class Quad(NamedTuple):
    """A best-of-4 set: one accepted answer and three rejected, from a ranking whose top place is one answer."""
    item_id: str
    accepted: int
    rejected: tuple[int, int, int]
    prompt: str
    texts: tuple[str, ...]  # accepted first, then the three rejected
    models: tuple[str | None, ...]
    bucket: str | None
    scenario: str | None


def best_of_four(conn: sqlite3.Connection, exclude: set[str], only: set[str] | None = None) -> list[Quad]:
    """Ranking items of four answers whose current votes agree on one best (each rater's top place, the same one)."""
    from prefdesk.store.overlap import IS_A_VOTE
    from prefdesk.store.votes import SUPERSEDED

    rows = conn.execute(
        f"SELECT i.id, i.prompt, i.candidates, i.bucket, i.scenario, l.payload FROM items i JOIN labels l ON "
        f"l.item_id = i.id WHERE i.kind = 'ranking' AND l.kind = 'ranking' AND l.round = 1 AND i.eval_run IS NULL "
        f"AND l.{IS_A_VOTE} AND l.id NOT IN ({SUPERSEDED}) ORDER BY i.id").fetchall()
    tops: dict[str, list] = {}
    for item_id, prompt, cands, bucket, scenario, payload in rows:
        order = json.loads(payload)["order"]
        tops.setdefault(item_id, [prompt, json.loads(cands), bucket, scenario, []])[4].append(
            order[0][0] if len(order[0]) == 1 else None)
    out = []
    for item_id, (prompt, cands, bucket, scenario, firsts) in tops.items():
        if item_id in exclude or (only is not None and item_id not in only) or len(cands) != 4:
            continue
        if None in firsts or len(set(firsts)) != 1:
            continue
        best = firsts[0]
        rest = tuple(p for p in range(4) if p != best)
        out.append(Quad(item_id, best, rest, prompt, tuple(cands[p]["text"] for p in (best, *rest)),
                        tuple(cands[p].get("model") for p in (best, *rest)), bucket, scenario))
    return out
