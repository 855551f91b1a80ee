"""A training run from the project: freeze the labels into a snapshot export, write the job spec, run
`python -m training` as a subprocess, record every event in the project's `runs` table; and score every
candidate with a finished reward model.

The snapshot lives in the run's folder beside the project (`P.runs/RUN_ID/dataset` with its manifest and
hashes), so a run can be reproduced and compared with another. The job never opens the project file: its
events go to the run folder and `watch.RunWatch` records them.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from prefdesk.formats.export import export_dataset
from prefdesk.jobs import KINDS
from prefdesk.jobs.runtime import INSTALL_HINT, NoRuntime, training_command
from prefdesk.jobs.watch import EVENTS_FILE, LOG_FILE, RunWatch, mark_launch
from prefdesk.quality.export_policy import export_policy
from prefdesk.store import runs as store_runs
from prefdesk.store.ids import uuid7
from prefdesk.store.project import Project
from prefdesk.store.runs import run_folder
from training.protocol import RunStatus, parse_event

_JOB_ENV = {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}


def prepare(project: Project, kind: str, *, base_model: str | None = None, epochs: float | None = None,
            device: str = "auto", aggregate: str = "majority", hyper: dict | None = None,
            version: str | None = None, eval_fraction: float | None = None,
            test_fraction: float = 0.0) -> tuple[str, Path]:
    """Freeze the dataset (the project's labels now, or exactly a dataset version's, with its own policy)
    and write the job spec for a new run; returns (run id, spec path)."""
    run_id = uuid7()
    folder = run_folder(project, run_id)
    spec, manifest, aggregate = freeze(project, kind, folder, base_model=base_model, epochs=epochs, device=device,
                                       aggregate=aggregate, hyper=hyper, version=version, eval_fraction=eval_fraction,
                                       test_fraction=test_fraction)
    spec_path = folder / "job.json"
    spec_path.write_text(json.dumps(spec, indent=2) + "\n")
    store_runs.start_run(project, kind, {**spec, "aggregate": aggregate, "version": version}, spec["dataset"], manifest,
                         run_id)
    return run_id, spec_path


def freeze(project: Project, kind: str, folder: Path, *, base_model: str | None = None, epochs: float | None = None,
           device: str = "auto", aggregate: str = "majority", hyper: dict | None = None, version: str | None = None,
           eval_fraction: float | None = None, test_fraction: float = 0.0,
           check_base: bool = True) -> tuple[dict, dict, str]:
    """Check the job, export its snapshot into `folder/dataset`; (the job spec, the snapshot's manifest, the
    aggregation policy: a version's own). Nothing is recorded: `prepare` and `bundle.write_bundle` do that.
    `check_base` false: the base model is a path on another machine (a bundle's), not checked here."""
    if kind not in KINDS:
        raise ValueError(f"unknown job {kind!r}; choose one of {', '.join(KINDS)}")
    job, heads = KINDS[kind]
    from prefdesk.jobs.plan import base_model_problems

    if check_base and (problems := base_model_problems(job, base_model)):  # before anything is frozen or recorded
        raise ValueError("; ".join(problems))
    frozen = None
    if version is not None:
        from prefdesk.store import versions

        frozen = versions.get(project, version)
        aggregate = frozen.aggregate
    dataset = folder / "dataset"
    from training.protocol import EXPORT_FORMATS

    export_dataset(project, EXPORT_FORMATS[job], dataset,
                   export_policy(project, frozen, aggregate), version=frozen, test_fraction=test_fraction)
    spec = {"kind": job, "dataset": str(dataset), "output_dir": str(folder / "model"), "base_model": base_model or None,
            "device": device, "hyper": {**({"epochs": epochs} if epochs else {}), **(hyper or {})}}
    if eval_fraction is not None:
        spec["eval_fraction"] = eval_fraction
    if heads:
        spec["heads"] = heads
    return spec, json.loads((dataset / "manifest.json").read_text()), aggregate


def job_command(spec_path: Path, python: str | None = None) -> list[str]:
    return [*training_command(python), "run", str(spec_path)]


def job_env(threads: int | None = None, nice: int | None = None) -> dict[str, str]:
    """The environment a job runs in, for the CLI and the desk alike: this one, the job's own settings, and
    (from the desk) how many CPU threads it may use and how far it yields the CPU (`training.cli`)."""
    env = {**os.environ, **_JOB_ENV}
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    if nice is not None:
        env["PREFDESK_JOB_NICE"] = str(nice)
    return env


def prepare_resume(project: Project, run_id: str) -> Path:
    """Make a cancelled (or failed) run resumable from its newest complete checkpoint; the spec's path."""
    spec_path = run_folder(project, run_id) / "job.json"
    spec = json.loads(spec_path.read_text())
    spec["resume"] = True
    spec_path.write_text(json.dumps(spec, indent=2) + "\n")
    store_runs.reopen_run(project, run_id)
    return spec_path


def run(project: Project, run_id: str, spec_path: Path, on_event: Callable[[dict], None] | None = None,
        python: str | None = None, resumed: bool = False) -> store_runs.Run:
    """Run the job to its end (the CLI; the desk's panel launches it with QProcess and polls the same files)."""
    try:
        command = job_command(spec_path, python)
    except NoRuntime as exc:
        store_runs.finish_run(project, run_id, "failed", {"error": str(exc), "hint": INSTALL_HINT})
        raise
    return follow(project, run_id, command, spec_path.parent, on_event, resumed)


def follow(project: Project, run_id: str, command: list[str], folder: Path,
           on_event: Callable[[dict], None] | None = None, resumed: bool = False) -> store_runs.Run:
    """Launch a job (training, generation, judge) into its run folder and record its events until it ends: the
    one loop the CLI's jobs share (the desk's panels launch the same command with QProcess and poll)."""
    watch = RunWatch(project, run_id)
    mark_launch(folder, resumed)
    with open(folder / EVENTS_FILE, "ab") as events, open(folder / LOG_FILE, "ab") as log, \
            subprocess.Popen(command, stdout=events, stderr=log, env=job_env()) as proc:
        while watch.status == RunStatus.RUNNING:
            for event in watch.poll(alive=proc.poll() is None):
                if on_event:
                    on_event(event)
            time.sleep(0.2)
    return store_runs.run(project, run_id)


def scoring_job(project: Project, run_id: str, folder: Path, python: str | None = None,
                unlabelled_only: bool = False, batch_size: int = 32,
                item_ids: list[str] | None = None) -> tuple[list[str], Path, int]:
    """Write the candidates to score into `folder`; (the command that scores them, its output, how many)."""
    done = store_runs.run(project, run_id)
    if done.status != RunStatus.FINISHED or done.kind not in ("reward", "reward-dims") or not done.model_dir:
        raise ValueError(f"run {run_id} is a {done.status.value} {done.kind} run; scores need a finished reward run")
    command = training_command(python)
    rows = store_runs.candidates_to_score(project, unlabelled_only, item_ids)
    src, out = folder / "score-in.jsonl", folder / "score-out.jsonl"
    src.write_text("".join(json.dumps({"prompt": p, "response": r, "item_id": i, "position": pos}) + "\n"
                           for i, pos, p, r in rows))
    return [*command, "score", done.model_dir, str(src), str(out), "--batch-size", str(batch_size)], out, len(rows)


class Scored(NamedTuple):
    """What a scoring job stored: candidates scored, and how many were cut to the model's max_length."""
    candidates: int
    prompt_cut: int  # the prompt's oldest tokens left out
    answer_cut: int  # the answer alone did not fit: its end left out

    def summary(self) -> str:
        cut = (f"; {self.prompt_cut + self.answer_cut} cut to the model's length ({self.prompt_cut} prompts "
               f"shortened from their oldest turns, {self.answer_cut} answers cut at the end)"
               if self.prompt_cut + self.answer_cut else "")
        return f"scored {self.candidates} candidates{cut}"


def store_scored(project: Project, run_id: str, out: Path) -> Scored:
    """Store what a scoring job wrote."""
    scored = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    store_runs.store_scores(project, run_id, [(r["item_id"], r["position"], r["score"], r.get("dims")) for r in scored])
    cuts = Counter(r.get("cut") for r in scored)
    return Scored(len(scored), cuts["prompt"], cuts["answer"])


def score(project: Project, run_id: str, python: str | None = None, unlabelled_only: bool = False,
          batch_size: int = 32, on_event: Callable[[dict], None] | None = None,
          item_ids: list[str] | None = None) -> Scored:
    """Score every candidate (or those of unlabelled items, or of `item_ids`) with a finished reward run; stored in
    `scores`."""
    with tempfile.TemporaryDirectory(prefix="prefdesk-score-") as tmp:
        command, out, _ = scoring_job(project, run_id, Path(tmp), python, unlabelled_only, batch_size, item_ids)
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=job_env()) as proc:
            for line in proc.stdout:
                event = parse_event(line)
                if event is not None and on_event:
                    on_event(event)
            err = proc.stderr.read()
        if proc.returncode != 0:
            raise RuntimeError(f"scoring failed: {err.strip().splitlines()[-1] if err.strip() else proc.returncode}")
        return store_scored(project, run_id, out)
