"""A generation run from the project: prompts (a file, or a draw from the pool) written into the run's folder,
the job (`python -m training generate`) run as a subprocess and followed like a training run, and its samples
turned into items, one transaction, when it finishes.

The job never opens the project: it appends to `RUN/model/samples.jsonl`, so a job cancelled or killed leaves
the project as it was, and the same run resumed skips the prompts already in that file. Items come in once,
when the run has finished; the run's report says how many (`items_added`).
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefdesk.domain import Candidate, ItemKind, NewItem
from prefdesk.formats.prompts import read_prompts
from prefdesk.jobs.runtime import INSTALL_HINT, NoRuntime, training_command
from prefdesk.jobs.train import follow
from prefdesk.quality.prefilter import run_rules
from prefdesk.store import prompts as pool
from prefdesk.store import runs as store_runs
from prefdesk.store.ids import uuid7
from prefdesk.store.ingest import Ingest, finish_batch, start_batch
from prefdesk.store.project import Project, ProjectError
from prefdesk.store.runs import run_folder
from training.gen_spec import GenerateSpec
from training.protocol import SAMPLES_FILE, RunStatus

KIND = "generate"
REFERENCE_KIND = "generate-reference"  # the reference model's half of on-policy pairs (`prepare(reference=...)`)
SOURCE = "generated"  # the candidates' source: sampled by a generation run


def prepare(project: Project, model: str, *, prompts_file: str | None = None, sample: int | None = None,
            by: str | None = None, quotas: dict[str, int] | None = None, reuse: bool = False,
            reference: str | None = None, **params: Any) -> tuple[str, Path]:
    """Choose the prompts and write the spec of a new run; (run id, spec path). Prompts from a file join the pool
    first (deduplicated); without a file they are drawn from the pool, fresh ones unless `reuse`. `params`:
    the `GenerateSpec` fields (n, temperature, top_p, max_new_tokens, seed, device, backend, url, ...).

    `reference`: an on-policy pair a prompt, one answer from `model` (the new policy) and one from the reference
    model, with the same sampling parameters and seeds; the reference's answers are a run of kind
    `generate-reference` that `run` follows after the policy's, and each item puts the two answers on sides drawn
    at random (seeded), recorded in its meta."""
    seed = int(params.get("seed", 0))
    eval_left_out = 0
    if prompts_file is not None:
        read, _ = read_prompts(prompts_file, project_path=project.path)
        pool.add(project, read, file=str(prompts_file))
        wanted = {p.content_hash for p in read}
        chosen = [p for p in pool.pool(project, for_training=True) if p.content_hash in wanted]  # no eval prompt
        eval_left_out = len(wanted) - len(chosen)
        if sample is not None or by is not None:
            chosen = [p for p in pool.sample(project, sample, by=by, quotas=quotas, seed=seed, fresh_only=False)
                      if p.content_hash in wanted]
    else:
        chosen = pool.sample(project, sample, by=by, quotas=quotas, seed=seed, fresh_only=not reuse)
    if not chosen:
        raise ProjectError("no prompts to generate for: the pool has none left that no run has sampled "
                           "(import some with `prefdesk prompts import`, or pass --reuse)")
    manifest = {"prompts": len(chosen), "from": str(prompts_file) if prompts_file else "pool", "sample": sample,
                "by": by, "quotas": quotas or {}, "eval_prompts_left_out": eval_left_out}
    if reference is None:
        return write_run(project, model, chosen, KIND, manifest, **params)
    if params.get("n", 1) != 1 or params.get("pair"):
        raise ProjectError("an on-policy pair is one answer from each model: no --n, no --pair random|spread|closest")
    params["n"] = 1
    partner, _ = write_run(project, reference, chosen, REFERENCE_KIND, manifest, **params)
    return write_run(project, model, chosen, KIND, {**manifest, "reference_run": partner,
                                                    "reference": str(Path(reference).resolve())}, **params)


def write_run(project: Project, model: str, prompts: list[pool.PoolPrompt], kind: str, manifest: dict,
              **params: Any) -> tuple[str, Path]:
    """The run's folder (its prompts and spec) and its record; refused, leaving nothing, on a bad spec."""
    run_id = uuid7()
    folder = run_folder(project, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    prompts_path = folder / "prompts.jsonl"
    prompts_path.write_text("".join(json.dumps(p.as_json(), ensure_ascii=False) + "\n" for p in prompts),
                            encoding="utf-8")
    spec = GenerateSpec(model=model, prompts=str(prompts_path), output_dir=str(folder / "model"), **params)
    problems = spec.problems()
    if problems:
        shutil.rmtree(folder)  # the run's folder, made here a moment ago: nothing of a refused run stays
        raise ProjectError("; ".join(problems))
    spec_path = folder / "job.json"
    spec_path.write_text(json.dumps(spec.to_dict(), indent=2) + "\n")
    store_runs.start_run(project, kind, spec.to_dict(), str(prompts_path), manifest, run_id)
    return run_id, spec_path


def command(spec_path: Path, python: str | None = None) -> list[str]:
    return [*training_command(python), "generate", str(spec_path)]


def run(project: Project, run_id: str, spec_path: Path, on_event: Callable[[dict], None] | None = None,
        python: str | None = None, resumed: bool = False) -> store_runs.Run:
    """Run the job to its end and bring its items in (the CLI; the desk launches the same command)."""
    try:
        cmd = command(spec_path, python)
    except NoRuntime as exc:
        store_runs.finish_run(project, run_id, RunStatus.FAILED, {"error": str(exc), "hint": INSTALL_HINT})
        raise
    done = follow(project, run_id, cmd, spec_path.parent, on_event, resumed)
    partner = (done.dataset_manifest or {}).get("reference_run")
    if done.status == RunStatus.FINISHED and partner:  # the reference's half of on-policy pairs
        other = store_runs.run(project, partner)
        if other.status != RunStatus.FINISHED:
            if other.status != RunStatus.RUNNING:
                store_runs.reopen_run(project, partner)
            folder = run_folder(project, partner)
            other = follow(project, partner, command(folder / "job.json", python), folder, on_event, True)
        if other.status != RunStatus.FINISHED:
            store_runs.finish_run(project, run_id, RunStatus.FAILED, {
                "error": f"the reference's run {partner} {other.status.value}; resume this run to go on"})
            return store_runs.run(project, run_id)
    if done.status == RunStatus.FINISHED and done.kind == KIND:
        ingest(project, run_id)  # (an evaluation's answers are read by `jobs.evaluate`, never made items)
    return store_runs.run(project, run_id)


def resume(project: Project, run_id: str) -> Path:
    """A cancelled or failed generation run goes on: the prompts in its samples file are not done again."""
    done = store_runs.run(project, run_id)
    if done.kind != KIND or done.status not in (RunStatus.CANCELLED, RunStatus.FAILED):
        raise ProjectError(f"run {run_id} is a {done.status.value} {done.kind} run; only a cancelled or failed "
                           "generation run resumes")
    store_runs.reopen_run(project, run_id)
    return run_folder(project, run_id) / "job.json"


def _item(prompt: pool.PoolPrompt, line: dict, run_id: str, partner: dict | None = None, seed: int = 0) -> NewItem:
    cands = line["candidates"]
    pair = line.get("pair")
    chosen = [cands[i] for i in pair] if pair else cands
    policy_side = None
    if partner is not None:  # an on-policy pair: the policy's answer and the reference's, sides drawn at random
        # from the run's seed and the prompt's content: the same seed and prompts put the same answers on the same sides
        policy_side = random.Random(f"{seed}:{prompt.content_hash}").randrange(2)
        chosen = [cands[0], partner["candidates"][0]][::1 if policy_side == 0 else -1]
    candidates = tuple(
        Candidate(i, c["text"], None, Path(c["meta"].get("model", "")).name or None,
                  {k: c["meta"][k] for k in ("temperature", "top_p", "max_new_tokens", "seed") if k in c["meta"]},
                  SOURCE, c["meta"]) for i, c in enumerate(chosen))
    meta = {**(prompt.meta or {}), "prompt_id": prompt.id, "prompt_source": prompt.source, "generated_by": run_id,
            "samples": len(cands)}
    meta.update((k, v) for k in ("scenario", "risk_level", "bucket") if (v := getattr(prompt, k)) is not None)
    if pair:
        meta["pair"] = {"chosen_from": pair, "scores": line.get("pair_scores")}
    if policy_side is not None:
        meta["pair"] = {"on_policy": True, "policy_position": policy_side}
    kind = ItemKind.PAIRWISE if len(candidates) == 2 else ItemKind.RANKING
    return NewItem(kind, prompt.prompt, candidates, prompt.messages, meta=meta, source=SOURCE)


def _same(line: dict, other: dict) -> bool:
    """Whether the two models gave the same answer (whitespace and case aside): no pair to judge."""
    a, b = (" ".join(x["candidates"][0]["text"].split()).lower() for x in (line, other))
    return a == b


def _lines(samples: Path) -> list[dict]:
    return [json.loads(line) for line in samples.read_text(encoding="utf-8").splitlines() if line.strip()]


def ingest(project: Project, run_id: str) -> dict[str, int]:
    """Turn a finished run's samples into items, in one transaction (once: a second call adds nothing); the
    counts go into the run's report."""
    done = store_runs.run(project, run_id)
    report = dict(done.report or {})
    if "items_added" in report:
        return {k: report.get(k, 0) for k in ("items_added", "duplicate_prompts", "unfit_prompts", "already_items",
                                              "rule_hits", "held_back")}
    samples = run_folder(project, run_id) / "model" / SAMPLES_FILE
    by_id = {p.id: p for p in pool.pool(project)}
    lines = _lines(samples)
    partner = (done.dataset_manifest or {}).get("reference_run")
    theirs = {line["key"]: line for line in _lines(run_folder(project, partner) / "model" / SAMPLES_FILE)} if partner else None
    batch_id = uuid7()
    counts = {"items_added": 0, "duplicate_prompts": 0, "unfit_prompts": 0, "already_items": 0, "rule_hits": 0,
              "held_back": 0}
    with project.transaction() as conn:
        start_batch(conn, batch_id, str(samples), KIND)
        ingesting = Ingest(project, batch_id, f"generate {run_id}")
        for line in lines:
            other = theirs.get(line["key"]) if theirs is not None else None
            if line.get("unfit") or (other or {}).get("unfit"):  # an empty or cut answer: never shown to a rater
                counts["unfit_prompts"] += 1
                continue
            if line.get("duplicate") or (theirs is not None and (other is None or _same(line, other))):
                counts["duplicate_prompts"] += 1
                continue
            ingesting.add(_item(by_id[line["key"]], line, run_id, other, int((done.spec or {}).get("seed", 0))), [])
        ingesting.flush()
        counts["items_added"] = ingesting.counts.items_added
        counts["already_items"] = ingesting.counts.duplicate_items
        finish_batch(conn, batch_id, "", KIND, counts["items_added"], 0, counts["already_items"])
        added = [i for (i,) in conn.execute("SELECT id FROM items WHERE batch_id = ?", (batch_id,))]
        rules = run_rules(project, added)  # the pre-filter, in the same transaction: items land checked
        counts["rule_hits"] = sum(rules.hits.values())
        counts["held_back"] = rules.dropped
        pool.mark_generated(project, [line["key"] for line in lines], run_id)
        conn.execute("UPDATE runs SET report = ? WHERE id = ?", (json.dumps({**report, **counts}), run_id))
    return counts
