"""Several processes train the model one process would (issue 23): `accelerate launch --multi_gpu --num_processes 2
-m training run JOB.json` on the CPU (gloo) against `python -m training run JOB.json`, the same spec (`hyper.batch_size` is the
global batch), for the plain, weighted and multi-head reward jobs and for DPO: the same losses step by step and the
same final weights. Only rank 0 writes events; a stop asked of two processes stops both at the same step with a
checkpoint, and the resumed run ends where the run that never stopped did."""

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
pytest.importorskip("accelerate")
torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                                reason="torch.distributed with gloo is not available")
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
       "OMP_NUM_THREADS": "1"}


def _dataset(folder: Path, weighted: bool, dims: bool) -> Path:
    """An export folder: the rule pairs, with uneven weights and margins and per-dimension verdicts if asked."""
    rng = random.Random(4)
    rows = []
    for line in (FIXTURES / "rule_pairs.jsonl").read_text().splitlines()[:96]:
        rec = json.loads(line)
        row = {"prompt": rec["prompt"], "chosen": rec["winner"], "rejected": rec["loser"]}
        if weighted:
            row.update(weight=round(rng.uniform(0.1, 1.0), 3), margin=rng.choice([0.0, 0.5, 1.0]))
        if dims:
            row["dims"] = {"helpfulness": rng.choice([1, -1, 0]), "safety": rng.choice([1, 0])}
        rows.append(row)
    folder.mkdir(parents=True)
    (folder / "preference.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def _run(tmp_path: Path, name: str, spec: dict, processes: int) -> tuple[list[dict], Path]:
    job = tmp_path / f"{name}.json"
    out = tmp_path / name
    job.write_text(json.dumps({**spec, "output_dir": str(out)}))
    # `--multi_gpu` is accelerate's torchrun launcher, on the CPU with gloo when the spec says device cpu (in
    # accelerate 1.15 `--cpu --num_processes 2` runs ONE process unless mpirun is set up: a trap the README names)
    launcher = ([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
                 "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"] if processes > 1
                else [sys.executable])
    proc = subprocess.run([*launcher, "-m", "training", "run", str(job)], capture_output=True, text=True, env=ENV,
                          cwd=tmp_path, timeout=180)  # ~10 s each: a hang fails fast
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    # a cancelled job exits 3; accelerate's launcher turns any non-zero exit into 1: the events say what happened
    assert proc.returncode == 0 or events and events[-1]["event"] == "cancelled", proc.stderr[-4000:]
    return events, out


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    files = sorted(folder.glob("*.safetensors"))
    assert files, list(folder.iterdir())
    return {k: v for f in files for k, v in load_file(f).items()}


def _same_model(one: Path, two: Path, tolerance: float = 2e-3) -> None:
    """Within two learning-rate steps: Adam moves a weight whose gradient is ~0 by +-lr on rounding alone (the
    all-reduce sums in another order), while the loss trajectory above is held to 1e-4."""
    a, b = _weights(one), _weights(two)
    assert a.keys() == b.keys()
    worst = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    assert worst < tolerance, worst


CASES = {
    "plain": ({"kind": "reward"}, False, False),
    "weighted": ({"kind": "reward", "use_weights": True, "use_margin": True}, True, False),
    "multi-head": ({"kind": "reward", "heads": "dimensions", "use_weights": True}, True, True),
    "dpo": ({"kind": "dpo"}, False, False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_two_processes_train_the_model_one_process_would(case, tmp_path, tiny_encoder, tiny_lm):
    extra, weighted, dims = CASES[case]
    spec = {**extra, "dataset": str(_dataset(tmp_path / "ds", weighted, dims)), "device": "cpu", "eval_fraction": 0.0,
            "base_model": tiny_lm if case == "dpo" else tiny_encoder,
            "hyper": {"max_steps": 4, "batch_size": 8, "max_length": 64, "learning_rate": 1e-3, "logging_steps": 1,
                      "warmup_ratio": 0.0, **({"lora": False} if case == "dpo" else {})}}
    one, one_out = _run(tmp_path, "one", spec, 1)
    two, two_out = _run(tmp_path, "two", spec, 2)
    for events in (one, two):  # rank 0 alone writes events: one start and one end
        kinds = [e["event"] for e in events]
        assert kinds.count("started") == 1 and kinds.count("finished") == 1, kinds
    losses = [[e["loss"] for e in events if e["event"] == "metrics"] for events in (one, two)]
    assert len(losses[0]) == len(losses[1]) == 4
    assert losses[1] == pytest.approx(losses[0], rel=1e-4), losses
    _same_model(one_out, two_out)


def test_a_stop_reaches_both_processes_and_the_resumed_run_ends_where_an_unstopped_one_does(tmp_path, tiny_encoder):
    from training.protocol import STOP_FILE

    spec = {"kind": "reward", "dataset": str(_dataset(tmp_path / "ds", False, False)), "device": "cpu",
            "eval_fraction": 0.0, "base_model": tiny_encoder,
            "hyper": {"max_steps": 6, "batch_size": 8, "max_length": 64, "learning_rate": 1e-3, "logging_steps": 1,
                      "warmup_ratio": 0.0}}
    _, whole = _run(tmp_path, "whole", spec, 2)
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / STOP_FILE).write_text("")  # asked before the first step: both stop after it
    events, cut = _run(tmp_path, "cut", spec, 2)
    assert [e["event"] for e in events][-1] == "cancelled" and events[-1]["step"] == 1
    assert (cut / "checkpoints" / "checkpoint-1").is_dir()
    (cut / STOP_FILE).unlink()
    events, _ = _run(tmp_path, "cut", {**spec, "resume": True}, 2)
    assert events[-1]["event"] == "finished" and events[0]["resumed_from"].endswith("checkpoint-1")
    _same_model(whole, cut)
    shutil.rmtree(tmp_path / "cut" / "checkpoints", ignore_errors=True)
