"""Frozen evaluation sets: the prompts a trained policy is judged on, kept apart from the training data.

An eval set is an ordered list of pool prompts (`store.prompts`) frozen under a name, with the SHA-256 of their
content and a manifest (counts by bucket, scenario and risk level; where they came from; the draw's seed), like a
dataset version. A prompt whose content is an item of any dataset version (a training prompt) would make the
evaluation flatter the policy: creating the set is refused, naming the prompts and versions, unless the lead
asks to leave those prompts out (reported). Prompts in an eval set are never drawn for generation again.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass

import orjson

from prefdesk.store import prompts as pool
from prefdesk.store.ids import utc_now
from prefdesk.store.project import Project, ProjectError
from prefdesk.store.rows import rows_in


@dataclass(frozen=True)
class EvalSet:
    name: str
    created_at: str
    prompt_ids: tuple[str, ...]
    sha256: str
    manifest: dict


def _content_hash(prompts: list[pool.PoolPrompt]) -> str:
    """The SHA-256 of the prompts' content (text, or chat turns), in order."""
    return hashlib.sha256(orjson.dumps([p.messages if p.messages is not None else p.prompt for p in prompts],
                                       option=orjson.OPT_SORT_KEYS)).hexdigest()


def training_overlap(project: Project, prompts: list[pool.PoolPrompt]) -> dict[str, list[str]]:
    """Prompt id -> the dataset versions holding an item with the same prompt (text, or chat turns)."""
    from prefdesk.store import versions

    wanted = {p.content_hash: p.id for p in prompts}
    found: dict[str, list[str]] = defaultdict(list)
    for listed in versions.listing(project):
        name = listed["name"]
        seen = set()
        for prompt, messages in rows_in(project.conn, "SELECT DISTINCT i.prompt, i.prompt_messages FROM labels l "
                                        "JOIN items i ON i.id = l.item_id WHERE l.id IN ({marks})",
                                        versions.get(project, name).label_ids):
            digest = pool.PoolPrompt(prompt, orjson.loads(messages) if messages else None).content_hash
            if digest in wanted and digest not in seen:
                seen.add(digest)
                found[wanted[digest]].append(name)
    return dict(found)


def create(project: Project, name: str, prompts: list[pool.PoolPrompt], source: dict,
           drop_overlap: bool = False) -> tuple[EvalSet, dict[str, list[str]]]:
    """Freeze `prompts` (pool prompts, in this order) as eval set `name`; (the set, the training overlap left
    out). Refused (ProjectError) on a name in use, no prompts, or prompts in a training version unless
    `drop_overlap`."""
    if not name.strip() or name != name.strip():
        raise ProjectError(f"eval set name {name!r}: give a name without surrounding spaces")
    if project.conn.execute("SELECT 1 FROM evalsets WHERE name = ?", (name,)).fetchone():
        raise ProjectError(f"an eval set named {name!r} exists already: it is frozen; choose another name")
    overlap = training_overlap(project, prompts)
    if overlap and not drop_overlap:
        by_id = {p.id: p for p in prompts}
        shown = "; ".join(f"{by_id[i].prompt[:60]!r} (in {', '.join(v)})" for i, v in list(overlap.items())[:5])
        raise ProjectError(f"{len(overlap)} of these prompts are training prompts of a dataset version: {shown}"
                           f"{' …' if len(overlap) > 5 else ''}. An eval set must be kept apart from training: "
                           "leave them out with --drop-overlap")
    kept = [p for p in prompts if p.id not in overlap]
    if not kept:
        raise ProjectError("no prompts left for the eval set")
    digest = _content_hash(kept)
    manifest = {"name": name, "prompts": len(kept), "sha256": digest, "source": source,
                "left_out_as_training_prompts": len(overlap),
                "by_bucket": dict(Counter(p.bucket or "(none)" for p in kept)),
                "by_scenario": dict(Counter(p.scenario or "(none)" for p in kept)),
                "by_risk_level": dict(Counter(p.risk_level or "(none)" for p in kept))}
    evalset = EvalSet(name, utc_now(), tuple(p.id for p in kept), digest, manifest)
    with project.transaction() as conn:
        conn.execute("INSERT INTO evalsets VALUES (?, ?, ?, ?, ?)",
                     (name, evalset.created_at, json.dumps(evalset.prompt_ids), digest, json.dumps(manifest)))
    return evalset, overlap


def get(project: Project, name: str) -> EvalSet:
    row = project.conn.execute("SELECT name, created_at, prompt_ids, sha256, manifest FROM evalsets WHERE name = ?",
                               (name,)).fetchone()
    if row is None:
        known = ", ".join(e.name for e in listing(project)) or "none yet"
        raise ProjectError(f"no eval set {name!r} in {project.path.name} (eval sets: {known})")
    return EvalSet(row[0], row[1], tuple(json.loads(row[2])), row[3], json.loads(row[4]))


def listing(project: Project) -> list[EvalSet]:
    return [get(project, n) for (n,) in project.conn.execute("SELECT name FROM evalsets ORDER BY created_at, name")]


def prompts_of(project: Project, evalset: EvalSet) -> list[pool.PoolPrompt]:
    """The set's prompts, in its order, checked against its hash (a changed pool row is refused, never used)."""
    by_id = {p.id: p for p in pool.pool(project)}
    prompts = [by_id[i] for i in evalset.prompt_ids]
    if _content_hash(prompts) != evalset.sha256:
        raise ProjectError(f"eval set {evalset.name}: its prompts no longer hash to {evalset.sha256[:12]}…")
    return prompts
