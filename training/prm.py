"""Process reward model from stepwise.jsonl: token classification with a label at each step separator.

The design of TRL's former PRMTrainer (trl.experimental.prm, gone in TRL 1.16), written on
transformers' Trainer: the prompt, then each step followed by a separator; the separator's last token
carries the step's label (1 correct, 0 wrong), every other token -100. Works for encoders and decoders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset
from transformers import (AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification, Trainer,
                          TrainingArguments)

from training.callbacks import StopRequest
from training.common import default_base, train_with_events, training_arguments, write_report
from training.data import DataError, as_text, held_out, read_jsonl, test_file
from training.device import DeviceChoice
from training.protocol import JobSpec, emit


class StepEncoder:
    """(prompt, steps) -> input ids and the positions of each step's separator token."""

    def __init__(self, tokenizer, separator: str = "\n") -> None:
        self.tok = tokenizer
        sep = tokenizer.encode(separator, add_special_tokens=False)
        if not sep:  # encoders drop a bare newline: use their [SEP] (or EOS)
            sep = [tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id]
        self.sep = sep

    def __call__(self, prompt: Any, steps: list[str], max_length: int) -> tuple[list[int], list[int], int]:
        """(ids, separator positions, steps dropped to fit max_length)."""
        ids = self.tok(as_text(prompt), add_special_tokens=True)["input_ids"]
        if self.tok.eos_token_id is not None and ids and ids[-1] == self.tok.eos_token_id:
            ids = ids[:-1]
        ids = ids + self.sep
        positions = []
        for n, step in enumerate(steps):
            piece = self.tok.encode(step, add_special_tokens=False) + self.sep
            if len(ids) + len(piece) > max_length:
                return ids, positions, len(steps) - n
            ids = ids + piece
            positions.append(len(ids) - 1)
        return ids, positions, 0


def run(spec: JobSpec, device: DeviceChoice, stop: StopRequest) -> dict[str, Any]:
    out = Path(spec.output_dir)
    base = spec.base_model or default_base()
    tok = AutoTokenizer.from_pretrained(base)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForTokenClassification.from_pretrained(base, num_labels=2, use_safetensors=not spec.allow_pickle_weights)
    model.config.pad_token_id = tok.pad_token_id
    encode = StepEncoder(tok)
    rows = read_jsonl(spec.data_file)
    train_rows, eval_rows, held_from = held_out(rows, spec.data_file, spec.eval_fraction, spec.seed)
    for path, subset in ((spec.data_file, train_rows), (test_file(spec.data_file), eval_rows)):
        for n, row in enumerate(subset, start=1):
            if len(row.get("labels", [])) != len(row.get("completions", [])) or "prompt" not in row:
                raise DataError(f"{path}:{n}: needs prompt, and one label per completion")

    def encoded(subset):
        records, truncated = [], 0
        for row in subset:
            ids, positions, dropped = encode(row["prompt"], row["completions"], spec.hyper.max_length)
            truncated += bool(dropped)
            if not positions:
                continue
            labels = [-100] * len(ids)
            for pos, ok in zip(positions, row["labels"]):
                labels[pos] = int(bool(ok))
            records.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})
        return records, truncated

    train, truncated_train = encoded(train_rows)
    held, truncated_eval = encoded(eval_rows)
    if not train:
        raise DataError(f"{spec.data_file}: no usable rows")
    args = training_arguments(TrainingArguments, spec, device, lora=False, remove_unused_columns=False)
    trainer = Trainer(model=model, args=args, train_dataset=Dataset.from_list(train),
                      data_collator=DataCollatorForTokenClassification(tok), processing_class=tok)
    result, cancelled = train_with_events(trainer, spec, stop, "prm", device, base_model=base, train_examples=len(train),
                                          eval_examples=len(held), truncated=truncated_train + truncated_eval)
    if cancelled:
        return cancelled
    trainer.save_model(str(out))  # the main process only
    if trainer.is_world_process_zero():
        tok.save_pretrained(str(out))
    report = {"job": "prm", "base_model": base, "train_examples": len(train), "eval_examples": len(held),
              "held_out": held_from,
              "truncated": {"train": truncated_train, "eval": truncated_eval}, "train_loss": result.training_loss,
              "steps": trainer.state.global_step, "eval": evaluate_steps(model, held, tok.pad_token_id)}
    emit("eval", step=trainer.state.global_step, **report["eval"])
    return {"output_dir": str(out), "report": report, "report_path": str(write_report(spec, report))}


@torch.no_grad()
def evaluate_steps(model, records: list[dict], pad_id: int) -> dict[str, Any]:
    """Step accuracy, and first-error accuracy (the first step predicted wrong, or none, matches the label)."""
    if not records:
        return {"n_examples": 0}
    model.eval()
    device = next(model.parameters()).device
    correct = total = first_right = 0
    for rec in records:
        ids = torch.tensor([rec["input_ids"]], device=device)
        pred = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0].argmax(-1).cpu().numpy()
        labels = np.array(rec["labels"])
        at = labels != -100
        correct += int((pred[at] == labels[at]).sum())
        total += int(at.sum())
        true_first = next((i for i, v in enumerate(labels[at]) if v == 0), None)
        pred_first = next((i for i, v in enumerate(pred[at]) if v == 0), None)
        first_right += int(true_first == pred_first)
    return {"n_examples": len(records), "step_accuracy": correct / total if total else None,
            "first_error_accuracy": first_right / len(records)}
