"""A training run from the project: freeze the labels into a snapshot export, write the job spec, run
`python -m training` as a subprocess, record every event in the project's `runs` table; and score every
candidate with a finished reward model.

The snapshot lives in the run's folder beside the project (`P.runs/RUN_ID/dataset` with its manifest and
hashes), so a run can be reproduced and compared with another. The job never opens the project file.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from prefdesk.formats.export import export_dataset
from prefdesk.jobs import KINDS
from prefdesk.jobs.runtime import INSTALL_HINT, NoRuntime, training_command
from prefdesk.quality.aggregate import Policy
from prefdesk.store import runs as store_runs
from prefdesk.store.ids import uuid7
from prefdesk.store.project import Project
from training.protocol import parse_event

_JOB_ENV = {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}


def runs_folder(project: Project) -> Path:
    return project.path.with_name(project.path.stem + ".runs")


def prepare(project: Project, kind: str, *, base_model: str | None = None, epochs: float | None = None,
            device: str = "auto", aggregate: str = "majority", hyper: dict | None = None) -> tuple[str, Path]:
    """Freeze the dataset and write the job spec for a new run; returns (run id, spec path)."""
    if kind not in KINDS:
        raise ValueError(f"unknown job {kind!r}; choose one of {', '.join(KINDS)}")
    job, heads = KINDS[kind]
    run_id = uuid7()
    folder = runs_folder(project) / run_id
    dataset = folder / "dataset"
    export_dataset(project, "trl-stepwise" if job == "prm" else "trl-preference", dataset, Policy(aggregate))
    spec = {"kind": job, "dataset": str(dataset), "output_dir": str(folder / "model"), "base_model": base_model,
            "device": device, "hyper": {**({"epochs": epochs} if epochs else {}), **(hyper or {})}}
    if heads:
        spec["heads"] = heads
    spec_path = folder / "job.json"
    spec_path.write_text(json.dumps(spec, indent=2) + "\n")
    manifest = json.loads((dataset / "manifest.json").read_text())
    store_runs.start_run(project, kind, {**spec, "aggregate": aggregate}, str(dataset), manifest, run_id)
    return run_id, spec_path


def run(project: Project, run_id: str, spec_path: Path, on_event: Callable[[dict], None] | None = None,
        python: str | None = None) -> store_runs.Run:
    """Run the job to its end, recording its events; the run's final state."""
    try:
        command = [*training_command(python), "run", str(spec_path)]
    except NoRuntime as exc:
        store_runs.finish_run(project, run_id, "failed", {"error": str(exc), "hint": INSTALL_HINT})
        raise
    log = spec_path.with_name("job.log")  # the job's log (stderr), beside its spec: read on failure
    with open(log, "w") as log_file, subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log_file, text=True,
                                                      env={**os.environ, **_JOB_ENV}) as proc:
        last: dict | None = None
        for line in proc.stdout:
            event = parse_event(line)
            if event is None:
                continue
            store_runs.add_event(project, run_id, line)
            last = event
            if on_event:
                on_event(event)
        code = proc.wait()
    err_tail = log.read_text(errors="replace").splitlines()[-20:]
    if last is not None and last["event"] == "finished":
        store_runs.finish_run(project, run_id, "finished", last["report"], last["output_dir"])
    elif last is not None and last["event"] == "cancelled":
        store_runs.finish_run(project, run_id, "cancelled", {"checkpoint": last.get("checkpoint")})
    else:
        failure = ({"error": last["error"], "hint": last.get("hint")} if last and last["event"] == "failed" else
                   {"error": f"the training runtime ended with code {code} and no result", "hint": "\n".join(err_tail)})
        store_runs.finish_run(project, run_id, "failed", failure)
    return store_runs.run(project, run_id)


def score(project: Project, run_id: str, python: str | None = None, unlabelled_only: bool = False,
          batch_size: int = 32) -> int:
    """Score every candidate (or those of unlabelled items) with a finished reward run; stored in `scores`."""
    done = store_runs.run(project, run_id)
    if done.status != "finished" or done.kind not in ("reward", "reward-dims") or not done.model_dir:
        raise ValueError(f"run {run_id} is a {done.status} {done.kind} run; scores need a finished reward run")
    rows = store_runs.candidates_to_score(project, unlabelled_only)
    with tempfile.TemporaryDirectory(prefix="prefdesk-score-") as tmp:
        src, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        src.write_text("".join(json.dumps({"prompt": p, "response": r, "item_id": i, "position": pos}) + "\n"
                               for i, pos, p, r in rows))
        proc = subprocess.run([*training_command(python), "score", done.model_dir, str(src), str(out),
                               "--batch-size", str(batch_size)], capture_output=True, text=True,
                              env={**os.environ, **_JOB_ENV})
        if proc.returncode != 0:
            raise RuntimeError(f"scoring failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}")
        scored = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    store_runs.store_scores(project, run_id, [(r["item_id"], r["position"], r["score"], r.get("dims")) for r in scored])
    return len(scored)
