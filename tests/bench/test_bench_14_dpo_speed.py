"""DPO training speed against TRL's DPOTrainer, hand-configured for the CPU (issue 23): the shared HH-RLHF rows, a
4-layer, 128-wide Llama (random, from a config), full fine-tuning, batch 8, max_length 512, one epoch, fp32, no
checkpointing, the same held-out split for both. Reported: tokens/s of each (the tokens each trained on, over the time
from building the trainer to the end of training: tokenizing, and the DPO job's precomputed reference log-probs,
count) and their ratio (budget >= 1.5x), the pairs each trained on (TRL drops a pair whose prompt fills max_length;
the job cuts it), and the held-out reward accuracy of each."""

import sys
import time
from pathlib import Path

import pytest

from conftest import hh_export, report, run_job

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
HYPER = {"epochs": 1, "batch_size": 8, "max_length": 512, "learning_rate": 5e-6, "lora": False}


def _trl(tmp_path: Path, dataset: Path, base: str) -> dict:
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed
    from trl import DPOConfig, DPOTrainer

    set_seed(0)
    data = load_dataset(str(dataset), cache_dir=str(tmp_path / "hf")).select_columns(["prompt", "chosen", "rejected"])
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base)
    args = DPOConfig(output_dir=str(tmp_path / "trl"), num_train_epochs=1, per_device_train_batch_size=8,
                     per_device_eval_batch_size=8, learning_rate=5e-6, max_length=512, bf16=False,
                     gradient_checkpointing=False, use_cpu=True, report_to=[], save_strategy="no", disable_tqdm=True,
                     seed=0)
    began = time.perf_counter()
    trainer = DPOTrainer(model=model, args=args, train_dataset=data["train"], eval_dataset=data["test"],
                         processing_class=tok)
    setup = time.perf_counter() - began
    result = trainer.train()
    ds = trainer.train_dataset  # its collator cuts each sequence's end at max_length
    tokens = sum(min(len(p) + len(c), 512) + min(len(p) + len(r), 512)
                 for p, c, r in zip(ds["prompt_ids"], ds["chosen_ids"], ds["rejected_ids"]))
    evaluated = trainer.evaluate()
    return {"tokens_per_s": tokens / (setup + result.metrics["train_runtime"]), "pairs": len(ds),
            "of": len(data["train"]), "accuracy": evaluated["eval_rewards/accuracies"], "held": len(trainer.eval_dataset)}


def test_dpo_job_tokens_per_second_against_trl_hand_configured(tmp_path):
    pytest.importorskip("trl")
    from desktools import llama_lm

    dataset = hh_export(tmp_path)
    base = llama_lm(tmp_path / "lm", hidden=128, intermediate=256, layers=4, heads=4)
    ours = run_job(tmp_path, "dpo", {"kind": "dpo", "dataset": str(dataset), "base_model": base, "hyper": HYPER})
    rate = ours["train_tokens_per_epoch"] / (ours["setup_s"] + ours["train_runtime_s"])
    trl = _trl(tmp_path, dataset, base)
    print("\n[bench] HH-RLHF harmless 200 rows, Llama 4x128, CPU, full fine-tuning, batch 8, max_length 512, 1 epoch")
    print(f"[bench]   DPO job: {rate:.0f} tokens/s on {ours['trained_pairs']} of {ours['train_pairs']} pairs (cut to "
          f"fit: {ours['truncated']['train']}; setup with the reference's log-probs {ours['setup_s']:.1f} s, training "
          f"{ours['train_runtime_s']:.1f} s), held-out reward accuracy {ours['eval']['reward_accuracy']:.3f} on "
          f"{ours['eval']['n_pairs']}")
    print(f"[bench]   TRL DPOTrainer, hand-configured: {trl['tokens_per_s']:.0f} tokens/s on {trl['pairs']} of "
          f"{trl['of']} pairs, held-out reward accuracy {trl['accuracy']:.3f} on {trl['held']}")
    report("DPO job / TRL hand-configured, tokens/s", rate / trl["tokens_per_s"], 1.5, "x", at_least=True)
    assert ours["trained_pairs"] == ours["train_pairs"]
    assert rate / trl["tokens_per_s"] >= 1.5
