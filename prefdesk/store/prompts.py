"""The prompt pool: the prompts generation samples answers for (production logs, a curated set).

One row per distinct prompt (its text, or its chat turns, hashed: the same prompt imported twice is kept once),
with scenario / risk level / bucket / source for stratified sampling and for the items made from it. A run that
samples prompts marks them (`generated_by`), so the next draw from the pool takes fresh ones unless asked not to;
a prompt frozen in an eval set (`store.evalsets`) is never drawn for generation.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from typing import Any, NamedTuple

import orjson

from prefdesk.store.ids import utc_now, uuid7
from prefdesk.store.project import Project, ProjectError

STRATA = ("bucket", "scenario", "risk_level")


class PoolPrompt(NamedTuple):
    prompt: str  # the text, or a plain rendering of the turns
    messages: list[dict] | None = None
    scenario: str | None = None
    risk_level: str | None = None
    bucket: str | None = None
    source: str | None = None
    meta: dict[str, Any] | None = None
    id: str | None = None  # set once in the pool

    @property
    def content_hash(self) -> str:
        content = self.messages if self.messages is not None else self.prompt
        return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()

    def as_json(self) -> dict[str, Any]:
        """What a generation job reads (`training.generate`): the key, the prompt as given, its metadata, and the
        content hash its samples' seeds derive from (the same prompt gets the same seeds in every project)."""
        out = {"key": self.id, "seed_key": self.content_hash,
               "prompt": self.messages if self.messages is not None else self.prompt}
        out.update((k, v) for k in ("scenario", "risk_level", "bucket", "source") if (v := getattr(self, k)) is not None)
        return out


class Added(NamedTuple):
    added: int
    duplicates: int  # already in the pool, or twice in the file


def add(project: Project, prompts: list[PoolPrompt], file: str | None = None) -> Added:
    """Add prompts to the pool in one transaction; a prompt already there (same text or turns) is left as it is."""
    added = 0
    now = utc_now()
    with project.transaction() as conn:
        for p in prompts:
            cur = conn.execute(
                "INSERT OR IGNORE INTO prompts (id, content_hash, prompt, prompt_messages, scenario, risk_level, bucket, "
                "source, meta, file, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (uuid7(), p.content_hash, p.prompt, orjson.dumps(p.messages).decode() if p.messages is not None else None,
                 p.scenario, p.risk_level, p.bucket, p.source, orjson.dumps(p.meta or {}).decode(), file, now))
            added += cur.rowcount
    return Added(added, len(prompts) - added)


_COLUMNS = "id, prompt, prompt_messages, scenario, risk_level, bucket, source, meta"


def _row(r: tuple) -> PoolPrompt:
    return PoolPrompt(r[1], orjson.loads(r[2]) if r[2] else None, r[3], r[4], r[5], r[6], orjson.loads(r[7]), r[0])


_IN_EVALSETS = "id IN (SELECT value FROM evalsets, json_each(evalsets.prompt_ids))"


def pool(project: Project, fresh_only: bool = False, for_training: bool = False) -> list[PoolPrompt]:
    """Every prompt in the pool, in the order they came; only those no run has sampled yet (`fresh_only`); none
    of an eval set's (`for_training`: a prompt the policy is judged on never becomes training data)."""
    where = [c for c, on in (("generated_by IS NULL", fresh_only), (f"NOT {_IN_EVALSETS}", for_training)) if on]
    sql = f"SELECT {_COLUMNS} FROM prompts{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY rowid"
    return [_row(r) for r in project.conn.execute(sql)]


def counts(project: Project) -> dict[str, int]:
    total, fresh, held = project.conn.execute(
        f"SELECT COUNT(*), COALESCE(SUM(generated_by IS NULL), 0), COALESCE(SUM({_IN_EVALSETS}), 0) FROM prompts"
    ).fetchone()
    return {"prompts": total, "not_generated": fresh, "in_eval_sets": held}


def sample(project: Project, n: int | None, *, by: str | None = None, quotas: dict[str, int] | None = None,
           seed: int = 0, fresh_only: bool = True, for_training: bool = True) -> list[PoolPrompt]:
    """`n` prompts from the pool (all when None), seeded. With `by`, stratified as `version create` does:
    each stratum's share of `n` follows its share of the pool (largest remainder), and `quotas` cap a stratum
    (`--quota BUCKET=N`). The same pool, arguments and seed draw the same prompts, whatever order the pool was
    filled in: the draw runs over the prompts ordered by their content hash."""
    if by is not None and by not in STRATA:
        raise ProjectError(f"--by {by!r}: one of {', '.join(STRATA)}")
    if n is not None and n < 1:
        raise ProjectError(f"--sample {n}: give a number of prompts >= 1")
    rows = sorted(pool(project, fresh_only, for_training), key=lambda p: p.content_hash)
    rng = random.Random(seed)
    quotas = quotas or {}
    if by is None:
        if quotas:
            raise ProjectError("--quota needs --by (which field the quota names)")
        return rows if n is None or n >= len(rows) else rng.sample(rows, n)
    strata: dict[str | None, list[PoolPrompt]] = defaultdict(list)
    for row in rows:
        strata[getattr(row, by)].append(row)
    unknown = sorted(set(quotas) - {str(k) for k in strata})
    if unknown:
        raise ProjectError(f"--quota: no prompt in the pool has {by} {', '.join(unknown)}")
    caps = {k: min(len(v), quotas.get(str(k), len(v))) for k, v in strata.items()}
    want = sum(caps.values()) if n is None else min(n, sum(caps.values()))
    total = sum(caps.values()) or 1
    shares = {k: want * c / total for k, c in caps.items()}
    take = {k: int(s) for k, s in shares.items()}
    order = sorted(shares, key=lambda k: (-(shares[k] - take[k]), str(k)))
    for k in order[:want - sum(take.values())]:
        take[k] += 1
    out = []
    for k in sorted(strata, key=str):
        out += rng.sample(strata[k], take[k])
    return out


def mark_generated(project: Project, prompt_ids: list[str], run_id: str) -> None:
    with project.transaction() as conn:
        conn.executemany("UPDATE prompts SET generated_by = ? WHERE id = ?", [(run_id, i) for i in prompt_ids])
