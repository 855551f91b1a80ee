import os
from pathlib import Path

import pytest

N = int(os.environ.get("PREFDESK_BENCH_N", "1000000"))


@pytest.fixture(scope="session")
def bench_dir() -> Path:
    """Generated data is cached here between runs (it is large: ~1.2 GB for 1M records)."""
    folder = Path(os.environ.get("PREFDESK_BENCH_DIR", Path(__file__).parent / ".data"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def report(name: str, value: float, budget: float, unit: str, at_least: bool = False) -> None:
    """Print a figure beside its budget (an upper bound, or a lower one with `at_least`)."""
    ok = value >= budget if at_least else value <= budget
    bound = ">=" if at_least else "<="
    print(f"\n[bench] {name}: {value:.3f} {unit} (budget {bound} {budget} {unit}: {'within' if ok else 'MISSED'})")


def json_loads_pass(path: Path) -> float:
    """Seconds a bare `json.loads` of every line of the file takes: the import budgets' yardstick."""
    import json
    import time

    start = time.perf_counter()
    with open(path, "rb") as f:
        for line in f:
            json.loads(line)
    return time.perf_counter() - start


def fresh_project(bench_dir: Path, name: str) -> Path:
    """A new, empty project of this name in the bench folder (an old one and its -wal/-shm removed first)."""
    import subprocess
    import sys

    project = bench_dir / name
    for old in bench_dir.glob(project.name + "*"):
        old.unlink()
    subprocess.run([sys.executable, "-m", "prefdesk", "new", str(project)], check=True, capture_output=True)
    return project


ROOT = Path(__file__).resolve().parents[2]
HH = ROOT / "tests" / "fixtures" / "hh_rlhf_harmless_200.jsonl"
JOB_ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}


def hh_export(tmp_path: Path) -> Path:
    """The shared HH-RLHF rows (long multi-turn transcripts of very different lengths) imported and exported as a
    lead does, with a test split of a fifth of the prompts: the training speed benchmarks' data."""
    from prefdesk.cli import main

    project, out = tmp_path / "p.prefdesk", tmp_path / "ds"
    assert main(["new", str(project)]) == 0
    assert main(["import", str(HH), "-p", str(project)]) == 0
    assert main(["export", "-p", str(project), "--format", "trl-preference", "--out", str(out),
                 "--test-fraction", "0.2"]) == 0
    return out


def run_job(tmp_path: Path, name: str, spec: dict) -> dict:
    """Run a training job spec as the desk does (`python -m training run`); its `finished` report."""
    import json
    import subprocess
    import sys

    job = tmp_path / f"{name}.json"
    job.write_text(json.dumps({"output_dir": str(tmp_path / name), "device": "cpu", **spec}))
    out = subprocess.run([sys.executable, "-m", "training", "run", str(job)], cwd=ROOT, env=JOB_ENV,
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"event": "finished"')][0]["report"]


def label_shorter(path: Path, right: float = 0.85, seed: int = 3) -> list:
    """A simulated rater who prefers the shorter answer (right `right` of the time) labels every training pair,
    one commit at a time through the call the desk makes; the items labelled."""
    import random

    from prefdesk.domain import LabelKind, RaterRole
    from prefdesk.store.project import Project

    rng = random.Random(seed)
    with Project.open(path) as project:
        rater = project.ensure_rater("lea", RaterRole.EXPERT)
        items = [project.item(i) for (i,) in project.conn.execute("SELECT id FROM items WHERE eval_run IS NULL")]
        for item in items:
            shorter = "A" if len(item.candidates[0].text) <= len(item.candidates[1].text) else "B"
            verdict = shorter if rng.random() < right else "AB"[shorter == "A"]
            project.commit_label(item.id, rater, LabelKind.PAIRWISE, {"verdict": verdict}, duration_ms=9000,
                                 display_order=(0, 1))
    return items
