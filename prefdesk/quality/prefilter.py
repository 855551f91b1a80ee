"""Run the project's rules (`domain.rules`) over items: on generation, on import, and by `prefdesk rules run`.

Every hit is recorded (`rule_hits`: item, rule, rule set version, answer, action, reason). By action:
- `reject`: a label of source `rule` by rater `rule:NAME`, in the weak layer: the answer that failed loses
  (pairwise: the other wins, both failing: both bad; ranking: the answers that failed rank below the rest);
- `flag`: a flag by `rule:NAME` with the reason, the badge reviewers see;
- `drop`: the item is held back from people (`items.held_back`) and flagged with the reason.
A human label is never touched. Gold items are checked and flagged, never labelled or held back. Each item
checked records the rule set's version in its metadata (`meta.prefilter`), which travels with every export;
an item already checked by this version is not checked again.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from prefdesk.domain import ItemKind, LabelKind, LabelSource, RaterRole
from prefdesk.domain.rules import Rule, parse_rules, rules_version
from prefdesk.store.ids import utc_now, uuid7
from prefdesk.store.project import Project
from prefdesk.store.rows import candidates_from_json

SIDES = "AB"


@dataclass
class RuleReport:
    version: str = ""
    checked: int = 0
    hits: Counter = field(default_factory=Counter)  # by rule name
    labels: int = 0
    flagged: int = 0
    dropped: int = 0

    def summary(self) -> str:
        if not self.version:
            return "no rules set (prefdesk config --set 'rules=[...]')"
        hits = ", ".join(f"{name} {n}" for name, n in sorted(self.hits.items())) or "none"
        return (f"rules {self.version}: {self.checked} items checked; hits: {hits}; {self.labels} rule labels, "
                f"{self.flagged} items flagged, {self.dropped} held back from people")


def run_rules(project: Project, item_ids: list[str] | None = None) -> RuleReport:
    """Check these items (None: every item not yet checked by the rule set in force), in one transaction."""
    rules = parse_rules(project.settings["rules"])
    report = RuleReport()
    if not rules:
        return report
    report.version = version = rules_version(rules)
    with project.transaction() as conn:
        if item_ids is None:
            rows = conn.execute("SELECT id, kind, prompt, candidates, scenario, risk_level, bucket, is_gold FROM items "
                                "WHERE json_extract(meta, '$.prefilter.rules') IS NOT ? AND eval_run IS NULL", (version,)).fetchall()
        else:
            rows = conn.execute("SELECT id, kind, prompt, candidates, scenario, risk_level, bucket, is_gold FROM items "
                                "WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(item_ids),)).fetchall()
        raters = {r.name: project.ensure_rater(r.rater_name, RaterRole.RULE) for r in rules}
        now = utc_now()
        for item_id, kind, prompt, cands, scenario, risk, bucket, is_gold in rows:
            texts = [c.text for c in candidates_from_json(cands)]
            where = {"scenario": scenario, "risk_level": risk, "bucket": bucket}
            for rule in (r for r in rules if r.applies(where)):
                hits = _hits(rule, prompt, texts)
                for position, reason in hits:
                    conn.execute("INSERT INTO rule_hits VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                 (uuid7(), item_id, rule.name, version, position, rule.action, reason, now))
                if not hits:
                    continue
                report.hits[rule.name] += len(hits)
                note = f"rule {rule.name}: " + "; ".join(
                    (f"answer {position + 1} " if position is not None else "the prompt ") + reason for position, reason in hits)
                if rule.action == "reject" and not is_gold:
                    report.labels += _reject(project, raters[rule.name], item_id, ItemKind(kind), len(texts),
                                             {p for p, _ in hits}, note)
                elif rule.action == "drop" and not is_gold:
                    conn.execute("UPDATE items SET held_back = ?, open = 0 WHERE id = ?", (f"rule:{rule.name}", item_id))
                    report.dropped += 1
                if rule.action != "reject" or is_gold:
                    project.flag(item_id, raters[rule.name], note)
                    report.flagged += 1
            conn.execute("UPDATE items SET meta = json_set(meta, '$.prefilter', json(?)) WHERE id = ?",
                         (json.dumps({"rules": version, "at": now}), item_id))
            report.checked += 1
    return report


def _hits(rule: Rule, prompt: str, texts: list[str]) -> list[tuple[int | None, str]]:
    if rule.applies_to == "prompt":
        reason = rule.hit(prompt)
        return [(None, reason)] if reason else []
    return [(i, reason) for i, text in enumerate(texts) if (reason := rule.hit(text))]


def _reject(project: Project, rater, item_id: str, kind: ItemKind, n: int, failed: set[int], note: str) -> int:
    """The rule's verdict on the item (a label of source `rule`), unless its current one already says the same."""
    if kind is ItemKind.PAIRWISE and n == 2:
        payload = {"verdict": "both_bad" if failed == {0, 1} else SIDES[1 - next(iter(failed))], "rationale": note}
        label_kind = LabelKind.PAIRWISE
    elif kind is ItemKind.RANKING and len(failed) < n:
        payload = {"order": [[i for i in range(n) if i not in failed], sorted(failed)], "rationale": note}
        label_kind = LabelKind.RANKING
    else:
        return 0
    current = [lab for lab in project.labels(item_id) if lab.rater_id == rater.id]
    if current and {k: v for k, v in current[-1].payload.items() if k != "rationale"} == \
            {k: v for k, v in payload.items() if k != "rationale"}:
        return 0
    project.commit_label(item_id, rater, label_kind, payload, source=LabelSource.RULE, confidence=1.0,
                         supersedes=current[-1] if current else None)
    return 1
