"""People's verdicts on an evaluation's blind arena (`jobs.arena` makes the items), and a finished evaluation's
report with them as they stand now.

`results` reads people's verdicts back: the policy's human win rate per dimension (every current vote a
comparison, ties and both-bad as 1/2) with its bootstrap interval, and the automatic judge's agreement with
people's majority on the same pairs (share and Cohen's kappa).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict

from prefdesk.quality.winrate import (ELO_SCALE, STRENGTH_WEIGHT, bradley_terry, markdown_count, style_coefficients,
                                      style_row, summary)
from prefdesk.store import runs as store_runs
from prefdesk.store.overlap import IS_A_VOTE
from prefdesk.store.project import Project, ProjectError
from training.protocol import RunStatus

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


def evaluation_report(project: Project, run_id: str) -> dict:
    """A finished evaluation's report (`jobs.evaluate` stores it), with people's arena verdicts as they stand now."""
    done = store_runs.run(project, run_id)
    if done.kind != "evaluate" or done.status != RunStatus.FINISHED:
        raise ProjectError(f"run {run_id} is a {done.status.value} {done.kind} run, not a finished evaluation")
    report = {**done.report, "run": run_id}
    if report.get("arena"):
        judged = {row["prompt_id"]: row["outcomes"] for row in report["per_prompt"] if row["outcomes"]}
        report["arena"] = {**report["arena"], **results(project, run_id, judged)}
    return report
