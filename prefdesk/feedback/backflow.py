"""Backflow: conversations whose feedback was bad, or said two things, go back to the candidate pool and to people.

A conversation is sent when it has a negative signal (a thumbs down, a rating in the lower half of its scale, a
regenerate, a correction, a handoff, an abandon) or conflicting ones (a thumbs up and a thumbs down, or a thumbs up
beside a regenerate). For each conversation chosen, the context of its latest such event goes into the prompt pool
as a chat prompt (new answers get sampled for it), and, where the logged answer is kept, that answer becomes an item
people label, recorded as coming from feedback (`items.source` feedback:<tool>, `meta.feedback`: the conversation, the event, why). The pool and the
items are deduplicated by content, so sending a conversation twice adds nothing; it is one transaction. An item the
feedback import made for a weak label (held back from people until now) is the same content: it is sent to people.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

import orjson

from prefdesk.domain import ItemKind, NewItem
from prefdesk.formats.base import candidates
from prefdesk.formats.fields import render_messages
from prefdesk.store import prompts as pool
from prefdesk.store.ids import utc_now
from prefdesk.store.ingest import Ingest, prepare
from prefdesk.store.overlap import OPEN
from prefdesk.store.project import Project

STRATA = {"tool": 0, "model": 6, "bucket": 7, "scenario": 8}  # --by: the column of an `eligible` row
FILTERS = ("tool", "model", "model_version", "bucket", "scenario", "signal", "since", "until")
NEGATIVE = ("(signal = 'thumbs' AND value < 0) OR signal IN ('regenerate', 'correction', 'handoff', 'abandon') OR "
            "(signal = 'rating' AND json_extract(meta, '$.scale') IS NOT NULL AND value < "
            "(json_extract(meta, '$.scale[0]') + json_extract(meta, '$.scale[1]')) / 2.0)")


@dataclass
class BackflowReport:
    conversations: int = 0  # sent this time
    eligible: int = 0  # matching the filters, negative or conflicting
    prompts_added: int = 0
    prompts_already: int = 0
    items_added: int = 0
    items_released: int = 0  # items the feedback import had made and held back, now served to people
    by_stratum: dict | None = None

    def summary(self) -> str:
        strata = ", ".join(f"{k}: {v}" for k, v in sorted((self.by_stratum or {}).items()))
        return (f"backflow: {self.conversations} of {self.eligible} conversations with negative or conflicting "
                f"feedback sent ({strata or 'one stratum'}); {self.prompts_added} prompts added to the pool "
                f"({self.prompts_already} there already); {self.items_added} items made and {self.items_released} "
                "held-back items sent to people")


def eligible(project: Project, where: dict[str, str] | None = None) -> list[tuple]:
    """(tool, conversation, why, the latest such event's external id, prompt, answer, model, bucket, scenario) of
    every conversation with negative or conflicting feedback, matching `where` (`FILTERS`; since/until: ISO dates)."""
    where = where or {}
    unknown = set(where) - set(FILTERS)
    if unknown:
        raise ValueError(f"--where: unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(FILTERS)}")
    clauses, params = [], []
    for key, value in where.items():
        clauses.append("at >= ?" if key == "since" else "at < ?" if key == "until" else f"{key} = ?")
        params.append(value)
    cond = " AND ".join(clauses) or "1"
    rows = project.conn.execute(
        f"WITH e AS (SELECT * FROM feedback_events WHERE {cond} AND conversation_id IS NOT NULL), "
        "c AS (SELECT tool, conversation_id, SUM(signal = 'thumbs' AND value > 0) AS up, "
        f"SUM(signal = 'thumbs' AND value < 0) AS down, SUM(signal = 'regenerate') AS regen, SUM({NEGATIVE}) AS bad "
        "FROM e GROUP BY tool, conversation_id) "
        "SELECT c.tool, c.conversation_id, CASE WHEN c.up > 0 AND (c.down > 0 OR c.regen > 0) THEN 'conflicting' "
        "ELSE 'negative' END, (SELECT external_id || char(31) || COALESCE(prompt_messages, '') || char(31) || "
        "COALESCE(answer, '') || char(31) || COALESCE(model, '') || char(31) || COALESCE(bucket, '') || char(31) || "
        f"COALESCE(scenario, '') FROM e WHERE e.tool = c.tool AND e.conversation_id = c.conversation_id AND "
        f"(({NEGATIVE}) OR c.up > 0) AND prompt_messages IS NOT NULL ORDER BY ({NEGATIVE}) DESC, at DESC LIMIT 1) "
        "FROM c WHERE c.bad > 0 OR (c.up > 0 AND c.down > 0) ORDER BY c.tool, c.conversation_id", params).fetchall()
    out = []
    for tool, conversation, why, packed in rows:
        if packed is None:
            continue  # no event of it carries the conversation's context
        external, messages, answer, model, bucket, scenario = packed.split("\x1f")
        out.append((tool, conversation, why, external, orjson.loads(messages), answer or None, model or None,
                    bucket or None, scenario or None))
    return out


def backflow(project: Project, where: dict[str, str] | None = None, sample: int | None = None, by: str | None = None,
             seed: int = 0) -> BackflowReport:
    """Send up to `sample` eligible conversations (all when None), spread evenly over the strata of `by` (bucket,
    scenario, model or tool), drawn with `seed`."""
    if by is not None and by not in STRATA:
        raise ValueError(f"--by: expected bucket, scenario, model or tool, got {by!r}")
    found = eligible(project, where)
    report = BackflowReport(eligible=len(found))
    chosen = _draw(found, sample, by, seed)
    report.conversations = len(chosen)
    report.by_stratum = defaultdict(int)
    column = STRATA.get(by or "")
    now = utc_now()
    with project.transaction() as conn:
        added = pool.add(project, [pool.PoolPrompt(
            render_messages(msgs), msgs if len(msgs) > 1 or msgs[0]["role"] != "user" else None, scenario, None, bucket,
            f"feedback:{tool}", {"feedback": {"tool": tool, "conversation_id": conv, "event": ext, "why": why}})
            for tool, conv, why, ext, msgs, _, _, bucket, scenario in chosen], file=f"backflow {now}")
        report.prompts_added, report.prompts_already = added.added, added.duplicates
        ingest = Ingest(project, None, "feedback backflow")
        hashes = []
        for row in chosen:
            tool, conv, why, ext, msgs, answer, model, bucket, scenario = row
            report.by_stratum[str(row[column]) if column is not None else "all"] += 1
            if not answer:
                continue
            meta = {"feedback": {"tool": tool, "conversation_id": conv, "event": ext, "why": why},
                    **{k: v for k, v in (("bucket", bucket), ("scenario", scenario)) if v}}
            prepared = prepare(NewItem(ItemKind.SCALAR, render_messages(msgs), candidates(answer, models=(model,)),
                                       msgs if len(msgs) > 1 or msgs[0]["role"] != "user" else None, meta=meta,
                                       source=f"feedback:{tool}"), [])
            ingest.add_prepared(prepared)
            hashes.append((prepared.content_hash, prepared.prompt, prepared.candidates))
        ingest.flush()
        report.items_added = ingest.counts.items_added
        ids = [r[0] for h, prompt, cands in hashes for r in conn.execute(
            "SELECT id FROM items WHERE content_hash = ? AND prompt = ? AND candidates = ?", (h, prompt, cands))]
        overlap = int(project.settings["overlap"])
        report.items_released = conn.execute(
            "UPDATE items SET held_back = NULL WHERE held_back LIKE 'feedback:%' AND id IN "
            "(SELECT value FROM json_each(?))", (orjson.dumps(ids).decode(),)).rowcount
        conn.execute(f"UPDATE items SET open = {OPEN} WHERE id IN (SELECT value FROM json_each(?))",
                     (overlap, orjson.dumps(ids).decode()))
    report.by_stratum = dict(report.by_stratum)
    return report


def _draw(found: list[tuple], sample: int | None, by: str | None, seed: int) -> list[tuple]:
    if sample is None or sample >= len(found):
        return found
    column = STRATA.get(by or "")
    strata: dict[str, list[tuple]] = defaultdict(list)
    for row in found:
        strata[str(row[column]) if column is not None else ""].append(row)
    rng = random.Random(seed)
    for rows in strata.values():
        rng.shuffle(rows)
    out, names = [], sorted(strata)
    while len(out) < sample:  # round robin: each stratum its turn until the sample is full
        for name in names:
            if strata[name] and len(out) < sample:
                out.append(strata[name].pop())
    return out
