"""DPO on a causal LM from preference.jsonl, on TRL's DPOTrainer.

LoRA by default: the base with adapters switched off is the reference, so no second model is held.
Full fine-tuning precomputes the reference log-probs instead. Conversational rows go through the
tokenizer's chat template (TRL does this when the rows are message lists). padding_free is forced off (TRL 1.16
disables it). Batches hold pairs of like length (`GroupedDPOTrainer`).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from datasets import Dataset
from trl import DPOConfig, DPOTrainer

from training.bt_trainers import LengthGrouped
from training.callbacks import StopRequest
from training.common import causal_lm, train_with_events, training_arguments, write_report
from training.data import job_rows
from training.device import DeviceChoice
from training.protocol import JobSpec
from training.token_cache import cached, rows_digest

COLUMNS = ("prompt", "chosen", "rejected")


class GroupedDPOTrainer(LengthGrouped, DPOTrainer):
    """TRL's DPOTrainer, changed for long multi-turn transcripts and repeated runs:

    - a pair longer than `cut_to` tokens is cut, never dropped (TRL drops a pair whose prompt fills max_length and
      cuts the answers' ends of the rest): the prompt loses its oldest tokens first, the answers are cut at their
      end only when the longer one alone does not fit; `cut` counts what was cut in each split;
    - batches hold pairs of like length (`hyper.group_by_length`): TRL pads a batch's chosen and rejected sequences
      to its longest one, and HH-style transcripts range from tens to thousands of tokens; the pairs are stored
      shortest first, so the reference's precomputed log-probabilities come in like-length batches too;
    - TRL's token ids are kept beside the export (`token_cache`), so the next run on the folder reads them back.
    """

    def __init__(self, *args, cut_to: int | None = None, by_length: bool = False,
                 token_cache: tuple[Path, dict[str, str]] | None = None, **kwargs) -> None:
        self.cut_to = cut_to  # TRL is given no max_length: it neither drops nor cuts
        self.by_length = by_length
        self.token_cache = token_cache  # (the export folder, each split's rows digest): TRL's token ids kept there
        self.tokens_from_cache: dict[str, bool] = {}
        self.cut: dict[str, dict[str, int]] = {}
        super().__init__(*args, **kwargs)

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        columns = ("prompt_ids", "chosen_ids", "rejected_ids")
        tokenize = super()._prepare_dataset
        if self.token_cache is not None and dataset_name in self.token_cache[1]:
            import trl

            folder, digests = self.token_cache
            key = ["dpo", trl.__version__, args.max_length, args.truncation_mode, digests[dataset_name]]
            ids, self.tokens_from_cache[dataset_name] = cached(folder, processing_class, key, lambda: {
                k: v for k, v in tokenize(dataset, processing_class, args, dataset_name).to_dict().items() if k in columns})
            dataset = Dataset.from_dict(ids)
        else:
            dataset = tokenize(dataset, processing_class, args, dataset_name)
        if self.cut_to:
            bos = getattr(processing_class, "bos_token_id", None)
            fitted = [fit_pair(p, c, r, self.cut_to, bos) for p, c, r in zip(*(dataset[k] for k in columns))]
            self.cut[dataset_name] = dict(Counter(what for *_, what in fitted if what))
            if self.cut[dataset_name]:
                for k, name in enumerate(columns):
                    dataset = dataset.remove_columns(name).add_column(name, [f[k] for f in fitted])
        if self.by_length:
            # stored shortest first: TRL precomputes the reference's log-probs in stored order, so its batches are of
            # like length too (the training order is the sampler's, whatever the stored one): 30 s -> 16 s on the
            # shared HH rows
            lengths = pair_lengths(dataset)
            dataset = dataset.select(sorted(range(len(dataset)), key=lengths.__getitem__))
        return dataset


def fit_pair(prompt: list[int], chosen: list[int], rejected: list[int], limit: int,
             bos: int | None = None) -> tuple[list[int], list[int], list[int], str | None]:
    """(prompt, chosen, rejected, what was cut: None, "prompt" or "answer") within `limit` tokens for the prompt and
    the longer answer. The prompt keeps its newest tokens (and its BOS); answers are cut at their end only when the
    longer one does not fit with the BOS alone."""
    longest = max(len(chosen), len(rejected))
    if len(prompt) + longest <= limit:
        return prompt, chosen, rejected, None
    lead = prompt[:1] if prompt and bos is not None and prompt[0] == bos else []
    room = limit - len(lead) - longest
    if room >= 0:
        return lead + (prompt[len(prompt) - room:] if room else []), chosen, rejected, "prompt"
    keep = limit - len(lead)
    return lead, chosen[:keep], rejected[:keep], "answer"


def pair_lengths(dataset) -> list[int]:
    """Each tokenized pair's padded length in a batch: its prompt and its longer answer."""
    return [len(p) + max(len(c), len(r)) for p, c, r in zip(dataset["prompt_ids"], dataset["chosen_ids"],
                                                             dataset["rejected_ids"])]


def _rows(spec: JobSpec) -> tuple[list[dict], list[dict], str]:
    return job_rows(spec, COLUMNS)


def _processes() -> int:
    """How many processes train together (`accelerate launch`). TRL precomputes the reference's log-probabilities
    into a cache file of the in-memory dataset, a temporary folder of the main process's own that the others
    cannot find (TRL 1.16): with several processes the reference runs beside the policy instead."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def run(spec: JobSpec, device: DeviceChoice, stop: StopRequest) -> dict[str, Any]:
    out = Path(spec.output_dir)
    base = spec.base_model
    tok, model, lora, peft_config = causal_lm(spec)
    train_rows, eval_rows, held_from = _rows(spec)
    args = training_arguments(DPOConfig, spec, device, lora=lora, beta=spec.hyper.beta,
                              loss_type=[spec.hyper.loss_type], max_length=None,
                              padding_free=False, precompute_ref_log_probs=not lora and _processes() == 1, disable_dropout=True)
    began = time.perf_counter()
    digests = {"train": rows_digest(train_rows), **({"eval": rows_digest(eval_rows)} if eval_rows else {})}
    trainer = GroupedDPOTrainer(model=model if lora else base, args=args, train_dataset=Dataset.from_list(train_rows),
                                eval_dataset=Dataset.from_list(eval_rows) if eval_rows else None,
                                processing_class=tok, peft_config=peft_config, cut_to=spec.hyper.max_length,
                                by_length=spec.hyper.group_by_length, token_cache=(spec.data_file.parent, digests))
    setup_s = time.perf_counter() - began  # tokenizing, cutting, and the reference's log-probs when precomputed
    if spec.hyper.group_by_length:
        trainer.pair_lengths = pair_lengths(trainer.train_dataset)
    truncated = {"max_length": spec.hyper.max_length, "train": trainer.cut.get("train", {}),
                 "eval": trainer.cut.get("eval", {})}
    result, cancelled = train_with_events(trainer, spec, stop, "dpo", device, base_model=base,
                                          train_pairs=len(train_rows), eval_pairs=len(eval_rows), lora=lora,
                                          truncated=truncated)
    if cancelled:
        return cancelled
    trainer.save_model(str(out))  # LoRA: the adapter (safetensors); full: the model (main process only)
    main = trainer.is_world_process_zero()
    if main:
        tok.save_pretrained(str(out))
    metrics = trainer.evaluate() if eval_rows else {}  # before any merge: the reference is the adapter switched off
    merged = None
    if lora and spec.merge_lora:
        merged = out / "merged"
        if main:
            trainer.model.merge_and_unload().save_pretrained(str(merged))
            tok.save_pretrained(str(merged))
    evaluation = {
        "n_pairs": len(eval_rows),
        "reward_accuracy": metrics.get("eval_rewards/accuracies"),
        "reward_margin": metrics.get("eval_rewards/margins"),
        "rewards_chosen": metrics.get("eval_rewards/chosen"),
        "rewards_rejected": metrics.get("eval_rewards/rejected"),
        "loss": metrics.get("eval_loss"),
    }
    report = {"job": "dpo", "base_model": base, "lora": lora, "merged_dir": str(merged) if merged else None,
              "train_pairs": len(train_rows), "eval_pairs": len(eval_rows), "held_out": held_from,
              "trained_pairs": len(trainer.train_dataset),  # what TRL kept of train_pairs: all of them
              "tokens_from_cache": trainer.tokens_from_cache.get("train", False),  # `training.token_cache`
              "train_tokens_per_epoch": sum(2 * len(p) + len(c) + len(r) for p, c, r in zip(*(
                  trainer.train_dataset[k] for k in ("prompt_ids", "chosen_ids", "rejected_ids")))),
              "setup_s": setup_s,
              "truncated": truncated,  # pairs cut to max_length: {"prompt": n, "answer": n} in each split
              "train_loss": result.training_loss,
              "train_runtime_s": result.metrics.get("train_runtime"), "steps": trainer.state.global_step,
              "eval": evaluation}
    return {"output_dir": str(out), "report": report, "report_path": str(write_report(spec, report))}
