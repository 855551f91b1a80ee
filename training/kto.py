"""KTO on a causal LM from unpaired.jsonl (`prompt, completion, label`), on TRL's KTOTrainer.

LoRA by default, as DPO: the base with its adapters off is the reference. The weights of the two classes follow
TRL's guidance (the KTO paper's): `desirable_weight * desirable rows / (undesirable_weight * undesirable rows)`
between 1 and 4/3; PrefDesk sets the weight of the rarer class so that the ratio is 1 (a hyper-parameter given in
the spec wins), and reports both weights and the class counts. Rows from pairs split into their sides are balanced
already (1.0 / 1.0).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import Dataset
from trl import KTOConfig, KTOTrainer

from training.callbacks import StopRequest
from training.common import causal_lm, train_with_events, training_arguments, write_report
from training.data import DataError, job_rows
from training.device import DeviceChoice
from training.protocol import JobSpec

COLUMNS = ("prompt", "completion", "label")


def class_weights(rows: list[dict]) -> tuple[float, float, int, int]:
    """(desirable_weight, undesirable_weight, desirable rows, undesirable rows): the rarer class weighted up to a
    1:1 weighted ratio."""
    good = sum(1 for r in rows if r["label"])
    bad = len(rows) - good
    if not good or not bad:
        return 1.0, 1.0, good, bad
    return (bad / good, 1.0, good, bad) if good < bad else (1.0, good / bad, good, bad)


def _rows(spec: JobSpec) -> tuple[list[dict], list[dict], str]:
    return job_rows(spec, COLUMNS, lambda row: None if isinstance(row["label"], bool) else
                    f"label: expected true or false, got {row['label']!r}")


def run(spec: JobSpec, device: DeviceChoice, stop: StopRequest) -> dict[str, Any]:
    out = Path(spec.output_dir)
    base = spec.base_model
    tok, model, lora, peft_config = causal_lm(spec)
    train_rows, eval_rows, held_from = _rows(spec)
    if len({r["label"] for r in train_rows}) < 2:
        raise DataError(f"{spec.data_file}: KTO needs desirable and undesirable rows; all {len(train_rows)} are "
                        f"{'desirable' if train_rows and train_rows[0]['label'] else 'undesirable'}")
    desirable, undesirable, n_good, n_bad = class_weights(train_rows)
    desirable = spec.hyper.desirable_weight or desirable  # the spec's own weights win
    undesirable = spec.hyper.undesirable_weight or undesirable
    args = training_arguments(KTOConfig, spec, device, lora=lora, beta=spec.hyper.beta,
                              max_length=spec.hyper.max_length, desirable_weight=desirable,
                              undesirable_weight=undesirable, disable_dropout=True)
    trainer = KTOTrainer(model=model, args=args, train_dataset=Dataset.from_list(train_rows),
                         eval_dataset=Dataset.from_list(eval_rows) if eval_rows else None, processing_class=tok,
                         peft_config=peft_config)
    weights = {"desirable_weight": desirable, "undesirable_weight": undesirable, "desirable_rows": n_good,
               "undesirable_rows": n_bad, "weighted_ratio": desirable * n_good / (undesirable * n_bad)}
    result, cancelled = train_with_events(trainer, spec, stop, "kto", device, base_model=base,
                                          train_rows=len(train_rows), eval_rows=len(eval_rows), lora=lora, **weights)
    if cancelled:
        return cancelled
    trainer.save_model(str(out))
    if trainer.is_world_process_zero():
        tok.save_pretrained(str(out))
    metrics = trainer.evaluate() if eval_rows else {}
    evaluation = {"rows": len(eval_rows), "loss": metrics.get("eval_loss"), "kl": metrics.get("eval_kl"),
                  "rewards_chosen": metrics.get("eval_rewards/chosen"),  # desirable answers' implicit reward
                  "rewards_rejected": metrics.get("eval_rewards/rejected"),
                  "reward_margin": metrics.get("eval_rewards/margins")}
    report = {"job": "kto", "base_model": base, "lora": lora, "train_rows": len(train_rows),
              "eval_rows": len(eval_rows), "held_out": held_from, **weights, "train_loss": result.training_loss,
              "train_runtime_s": result.metrics.get("train_runtime"), "steps": trainer.state.global_step,
              "eval": evaluation}
    return {"output_dir": str(out), "report": report, "report_path": str(write_report(spec, report))}
