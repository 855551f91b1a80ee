"""Arbitration: disputed pairwise items, a reviewer's or expert's decision on them, and what a decision can
lead to (the item promoted to gold, a clause added to the guidelines).

An item is disputed when its raters' first-round verdicts differ (under the project's `arbitration_rule`:
any difference, or no majority), when raters differ at all on a high-risk item, or when a label misses
the item's gold answer. A decision is a label of its own source (`arbitration`) by the reviewer, with the
reason as its rationale and the ids of the labels it decided between: the raters' labels stay as they
were, so the dispute stays in the history. A decided item leaves the queue; a new label on it after the
decision makes it disputed again only if it disagrees with the decision.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass

from prefdesk.domain.roles import LEADS
from prefdesk.domain import Label, LabelKind, LabelSource, Rater, Session, Verdict
from prefdesk.store.overlap import IS_A_VOTE, NOT_VOTES
from prefdesk.store.project import Project, ProjectError
from prefdesk.store.rows import LABEL_COLUMNS, label_from_row

ARBITERS = LEADS  # who may decide: see domain.roles

# Items with two or more verdicts among their current first-round labels, or a label off the gold answer.
_CANDIDATES = f"""
    SELECT l.item_id FROM current_labels l JOIN items i ON i.id = l.item_id
    WHERE l.kind = 'pairwise' AND l.{IS_A_VOTE} AND l.round = 1
    GROUP BY l.item_id
    HAVING COUNT(DISTINCT json_extract(l.payload, '$.verdict')) > 1
        OR MAX(i.is_gold = 1 AND json_extract(l.payload, '$.verdict') IS NOT json_extract(i.gold_answer, '$.verdict'))
"""


@dataclass
class Dispute:
    item_id: str
    reasons: list[str]  # "raters disagree", "no majority", "high-risk", "gold miss"
    labels: list[Label]  # the raters' current first-round labels, oldest first
    decision: Label | None = None  # the arbitration label in force, if any


def disputes(project: Project) -> list[Dispute]:
    """Open disputes (not decided, or decided and disagreed with since), high-risk and gold misses first."""
    rule = project.settings["arbitration_rule"]
    out = []
    for (item_id,) in project.conn.execute(_CANDIDATES).fetchall():
        dispute = dispute_of(project, item_id, rule)
        if dispute is not None:
            out.append(dispute)
    out.sort(key=lambda d: ("high-risk" not in d.reasons and "gold miss" not in d.reasons, d.labels[0].created_at))
    return out


def dispute_of(project: Project, item_id: str, rule: str | None = None) -> Dispute | None:
    """The item's dispute, or None when it is not (or no longer) disputed."""
    rule = rule or project.settings["arbitration_rule"]
    rows = project.conn.execute(
        f"SELECT {LABEL_COLUMNS} FROM current_labels WHERE item_id = ? AND kind = 'pairwise' ORDER BY id", (item_id,))
    labels = [label_from_row(r) for r in rows]
    decision = next((lab for lab in reversed(labels) if lab.source is LabelSource.ARBITRATION), None)
    # a public dataset's reference label, a judge's or a rule's is compared with in the quality report, never
    # disputed with
    votes = [lab for lab in labels if lab.source.value not in NOT_VOTES and lab.round == 1]
    if decision is not None:  # decided: only labels given since, against the decision, reopen it
        if not [v for v in votes if v.id > decision.id and v.payload["verdict"] != decision.payload["verdict"]]:
            return None
    risk, is_gold, gold_answer = project.conn.execute(
        "SELECT risk_level, is_gold, gold_answer FROM items WHERE id = ?", (item_id,)).fetchone()
    verdicts = [v.payload["verdict"] for v in votes]
    counts = Counter(verdicts).most_common()
    reasons = []
    if len(counts) > 1:
        no_majority = counts[0][1] == counts[1][1]
        if risk == "high":
            reasons.append("high-risk")
        if no_majority:
            reasons.append("no majority")
        elif rule == "disagreement":
            reasons.append("raters disagree")
    gold = json.loads(gold_answer).get("verdict") if is_gold and gold_answer else None
    if gold is not None and any(v != gold for v in verdicts):
        reasons.append("gold miss")
    if not reasons:
        return None
    return Dispute(item_id, reasons, votes, decision)


def decide(project: Project, item_id: str, arbiter: Rater, verdict: str, reason: str, *,
           dims: dict[str, str] | None = None, session: Session | None = None,
           duration_ms: int | None = None) -> Label:
    """Write the arbiter's decision on a disputed item: a pairwise label of source `arbitration`."""
    check_decision(arbiter, verdict, reason)
    dispute = dispute_of(project, item_id)
    if dispute is None:
        raise ProjectError(f"item {item_id} is not disputed (or was decided already)")
    payload = {"verdict": verdict, "rationale": reason.strip(), "arbitrates": [lab.id for lab in dispute.labels],
               "reasons": dispute.reasons}
    if dims:
        payload["dims"] = dict(sorted(dims.items()))
    return project.commit_label(item_id, arbiter, LabelKind.PAIRWISE, payload, session=session,
                                duration_ms=duration_ms, source=LabelSource.ARBITRATION)


def check_decision(arbiter: Rater, verdict: str, reason: str) -> None:
    """What a decision needs before it is written (the panel asks at once, before the write runs)."""
    if arbiter.role not in ARBITERS:
        raise ProjectError(f"{arbiter.name} is an {arbiter.role.value}: only reviewers and experts arbitrate")
    Verdict(verdict)
    if not reason.strip():
        raise ProjectError("a decision needs its reason: the raters and the next reviewer read it")


def promote_to_gold(project: Project, decision: Label) -> None:
    """Make the decided item a gold item whose expected answer is the decision (kept: where it came from)."""
    _check_decision(decision)
    answer = {"verdict": decision.payload["verdict"]}
    if decision.payload.get("dims"):
        answer["dims"] = decision.payload["dims"]
    with project.transaction() as conn:
        conn.execute("UPDATE items SET is_gold = 1, gold_answer = ?, gold_from = ? WHERE id = ?",
                     (json.dumps(answer), decision.id, decision.item_id))


def add_clause(project: Project, decision: Label, clause: str) -> str:
    """A new guideline version: the version in force with `clause` appended (citing the item), put in force
    at once. Returns the new version's name."""
    _check_decision(decision)
    clause = clause.strip()
    if not clause:
        raise ProjectError("the clause is empty")
    version, text = project.guidelines()
    new = next_version(version, project.guideline_versions())
    # raters read this: the item as they know it (its prompt), not its id (kept in `guidelines.item_id`)
    prompt = " ".join(project.item(decision.item_id).prompt.split())
    cited = prompt if len(prompt) <= 80 else prompt[:79].rstrip() + "…"
    text = f"{text.rstrip()}\n\n## Added in {new}, after a disputed item\n\n> {cited}\n\n{clause}\n"
    project.set_guidelines(new, text, clause=clause, item_id=decision.item_id)
    return new


def next_version(version: str, taken: list[str]) -> str:
    """The next free name after `version`: v1 -> v2, 2026.3 -> 2026.4, draft -> draft.1."""
    match = re.fullmatch(r"(.*?)(\d+)", version)
    stem, n = (match.group(1), int(match.group(2))) if match else (f"{version}.", 0)
    while f"{stem}{n + 1}" in taken:
        n += 1
    return f"{stem}{n + 1}"


def _check_decision(decision: Label) -> None:
    if decision.source is not LabelSource.ARBITRATION:
        raise ProjectError("only an arbitration decision can promote an item or add a clause")
