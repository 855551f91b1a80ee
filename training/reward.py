"""Bradley-Terry reward model on TRL's RewardTrainer, from an export folder's preference.jsonl.

The job tokenizes the pairs itself and hands TRL `chosen_ids`/`rejected_ids`, because TRL's own
preparation (a) appends an EOS by string concatenation, which fails for BERT-like encoders that have
none, and (b) silently drops pairs longer than max_length; here a long pair is cut to fit (the prompt's
oldest tokens first, never the answer while it fits alone: `PairEncoder`), and the cuts are counted and reported.
TRL has no per-row weights: `bt_trainers.WeightedRewardTrainer` adds them to the loss when the spec asks, batches
pairs of like length together, and normalises the loss over every process's share of the batch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from trl import RewardConfig

from training.bt_trainers import MultiHeadCollator, MultiHeadRewardTrainer, WeightedCollator, WeightedRewardTrainer

from training.callbacks import StopRequest
from training.common import default_base, is_encoder, train_with_events, training_arguments, write_report
from training.data import DataError, as_text, held_out, read_jsonl, test_file
from training.device import DeviceChoice
from training.protocol import JobSpec, emit
from training.token_cache import cached, cut_counts, file_digest

SCORING_FILE = "prefdesk_scoring.json"


def fitting_length(asked: int, config) -> int:
    """The longest input the job uses: the spec's max_length, within the model's position embeddings."""
    limit = getattr(config, "max_position_embeddings", None) or asked
    return min(int(asked), int(limit))


class PairEncoder:
    """Prompt + response -> token ids, the same way in training and in `score`.

    A pair longer than `max_length` tokens is cut, never dropped: the prompt loses its oldest tokens first
    (the oldest turns of a dialogue; the newest turn, next to the answer, stays), and the answer is cut at
    its end only when it alone does not fit. `encode` says which was cut, so jobs count and report it.
    """

    def __init__(self, tokenizer, encoder: bool, max_length: int | None = None) -> None:
        self.tok = tokenizer
        self.encoder = encoder
        self.max_length = max_length

    def __call__(self, prompt: Any, response: Any) -> list[int]:
        return self.encode(prompt, response)[0]

    def encode(self, prompt: Any, response: Any) -> tuple[list[int], str | None]:
        """(ids, what was cut to fit: None, "prompt" or "answer")."""
        ids = self._whole(prompt, response)
        if self.max_length is None or len(ids) <= self.max_length:
            return ids, None
        if self.encoder:  # the tokenizer cuts: the prompt from its start, or (not fitting alone) the answer's end
            tail = self.tok(as_text(response), add_special_tokens=False)["input_ids"]
            fits = len(tail) + self.tok.num_special_tokens_to_add(pair=True) <= self.max_length
            side = self.tok.truncation_side
            self.tok.truncation_side = "left" if fits else "right"
            try:
                ids = self.tok(as_text(prompt) if fits else "", as_text(response), max_length=self.max_length,
                               truncation="only_first" if fits else "only_second")["input_ids"]
            finally:
                self.tok.truncation_side = side
            return ids, "prompt" if fits else "answer"
        if isinstance(prompt, list) and isinstance(response, list) and self.tok.chat_template:
            head = self.tok.apply_chat_template(prompt, tokenize=True, return_dict=False)
            if ids[:len(head)] != head:  # a template that rewrites earlier turns: cut the text form instead
                return self._cut(as_text(prompt), as_text(response))
            return self._fit([], head, ids[len(head):])
        return self._cut(as_text(prompt), as_text(response))

    def _whole(self, prompt: Any, response: Any) -> list[int]:
        if self.encoder:  # [CLS] prompt [SEP] response [SEP]: a cross-encoder reads both
            return self.tok(as_text(prompt), as_text(response), add_special_tokens=True)["input_ids"]
        if isinstance(prompt, list) and isinstance(response, list) and self.tok.chat_template:
            return self.tok.apply_chat_template(prompt + response, tokenize=True, return_dict=False)
        text = as_text(prompt)
        sep = "" if not text or text[-1].isspace() else "\n"
        return self.tok(text + sep + as_text(response) + (self.tok.eos_token or ""), add_special_tokens=True)["input_ids"]

    def _cut(self, text: str, response: str) -> tuple[list[int], str]:
        sep = "" if not text or text[-1].isspace() else "\n"
        lead = self.tok("", add_special_tokens=True)["input_ids"]  # BOS, if the model has one
        head = self.tok(text + sep, add_special_tokens=False)["input_ids"]
        tail = self.tok(response + (self.tok.eos_token or ""), add_special_tokens=False)["input_ids"]
        return self._fit(lead, head, tail)

    def _fit(self, lead: list[int], head: list[int], tail: list[int]) -> tuple[list[int], str]:
        """`lead` kept whole, `head` (the prompt) cut from its start to make room for `tail` (the answer)."""
        room = self.max_length - len(lead) - len(tail)
        if room >= 0:
            return lead + (head[len(head) - room:] if room else []) + tail, "prompt"
        return (lead + tail)[:self.max_length], "answer"

    def save(self, folder: Path) -> None:
        (folder / SCORING_FILE).write_text(json.dumps({"encoder": self.encoder, "max_length": self.max_length}) + "\n")

    @classmethod
    def load(cls, folder: Path, tokenizer) -> PairEncoder:
        """The encoder a model was trained with: the same layout and the same cut (a model from before cuts
        were recorded is cut at its tokenizer's model_max_length, or 512)."""
        meta = json.loads((folder / SCORING_FILE).read_text()) if (folder / SCORING_FILE).exists() else {}
        limit = meta.get("max_length") or min(int(getattr(tokenizer, "model_max_length", 512) or 512), 512)
        return cls(tokenizer, bool(meta.get("encoder", tokenizer.eos_token is None)), int(limit))


@torch.no_grad()
def rewards(model, ids: list[list[int]], pad_id: int, batch_size: int = 32, all_heads: bool = False,
            on_batch=None) -> np.ndarray:
    """The overall reward per sequence (or every head's), batched, right-padded as in training;
    `on_batch(done)` after each batch."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(ids), batch_size):
        chunk = [torch.tensor(x) for x in ids[start:start + batch_size]]
        input_ids = torch.nn.utils.rnn.pad_sequence(chunk, batch_first=True, padding_value=pad_id).to(device)
        mask = torch.nn.utils.rnn.pad_sequence([torch.ones_like(x) for x in chunk], batch_first=True).to(device)
        out.append(model(input_ids=input_ids, attention_mask=mask).logits.float().cpu())
        if on_batch is not None:
            on_batch(min(start + batch_size, len(ids)))
    logits = torch.cat(out).numpy() if out else np.zeros((0, 1))
    return logits if all_heads else logits[:, 0]


def evaluate_pairs(model, rows: list[dict], encoded: list[tuple[list[int], list[int]]], pad_id: int,
                   dim_names: list[str] = ()) -> dict[str, Any]:
    """Held-out pairwise accuracy, mean margin, per-dimension and per-scenario accuracy, reward histogram.

    Per-dimension accuracy uses the overall reward, and with dimension heads also each dimension's own head.
    """
    if not rows:
        return {"n_pairs": 0}
    chosen_all = rewards(model, [c for c, _ in encoded], pad_id, all_heads=True)
    rejected_all = rewards(model, [r for _, r in encoded], pad_id, all_heads=True)
    chosen, rejected = chosen_all[:, 0], rejected_all[:, 0]
    diff = chosen - rejected
    report: dict[str, Any] = {"n_pairs": len(rows), "accuracy": float((diff > 0).mean()), "mean_margin": float(diff.mean())}
    per_dim: dict[str, list[bool]] = {}
    for row, d in zip(rows, diff):
        for dim, sign in (row.get("dims") or {}).items():
            if sign:
                per_dim.setdefault(dim, []).append((d > 0) == (sign > 0))
    report["per_dimension_accuracy"] = {k: {"accuracy": float(np.mean(v)), "n": len(v)} for k, v in sorted(per_dim.items())}
    if dim_names:
        heads = {}
        for k, dim in enumerate(dim_names, start=1):
            hits = [(c[k] - r[k] > 0) == (row["dims"][dim] > 0) for row, c, r in zip(rows, chosen_all, rejected_all)
                    if (row.get("dims") or {}).get(dim)]
            heads[dim] = {"accuracy": float(np.mean(hits)) if hits else None, "n": len(hits)}
        report["dimension_head_accuracy"] = heads
    for key in ("scenario", "bucket"):
        groups: dict[str, list[bool]] = {}
        for row, d in zip(rows, diff):
            value = (row.get("meta") or {}).get(key)
            if value is not None:
                groups.setdefault(str(value), []).append(bool(d > 0))
        if groups:
            report[f"accuracy_by_{key}"] = {k: {"accuracy": float(np.mean(v)), "n": len(v)} for k, v in sorted(groups.items())}
    both = np.concatenate([chosen, rejected])
    edges = np.linspace(float(both.min()), float(both.max()) + 1e-6, 21)
    report["reward_histogram"] = {"edges": edges.tolist(), "chosen": np.histogram(chosen, edges)[0].tolist(),
                                  "rejected": np.histogram(rejected, edges)[0].tolist()}
    return report


def run(spec: JobSpec, device: DeviceChoice, stop: StopRequest) -> dict[str, Any]:
    """Train, save, evaluate; returns the `finished` event's payload (or a `cancelled` one)."""
    out = Path(spec.output_dir)
    base = spec.base_model or default_base()
    tok = AutoTokenizer.from_pretrained(base)
    rows = read_jsonl(spec.data_file)
    dim_names = sorted({d for row in rows for d in (row.get("dims") or {})}) if spec.heads == "dimensions" else []
    if spec.heads == "dimensions" and not dim_names:
        raise DataError(f"{spec.data_file}: heads 'dimensions' asked for, but no row has per-dimension verdicts")
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1 + len(dim_names), use_safetensors=not spec.allow_pickle_weights)
    if dim_names:
        model.config.id2label = {0: "overall", **{i + 1: d for i, d in enumerate(dim_names)}}
        model.config.label2id = {v: k for k, v in model.config.id2label.items()}
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model.config.pad_token_id = tok.pad_token_id
    encode = PairEncoder(tok, is_encoder(model.config), fitting_length(spec.hyper.max_length, model.config))

    train_rows, eval_rows, held_from = held_out(rows, spec.data_file, spec.eval_fraction, spec.seed)
    for path, subset in ((spec.data_file, train_rows), (test_file(spec.data_file), eval_rows)):
        for n, row in enumerate(subset, start=1):
            for key in ("prompt", "chosen", "rejected"):
                if key not in row:
                    raise DataError(f"{path}:{n}: {key}: missing")

    def encode_rows(subset: list[dict]) -> tuple[list[tuple[list[int], list[int]]], list[int]]:
        pairs, marks = [], []
        for row in subset:
            (c, cut_c), (r, cut_r) = encode.encode(row["prompt"], row["chosen"]), encode.encode(row["prompt"], row["rejected"])
            cuts = {cut_c, cut_r}
            marks.append(("prompt" in cuts) | ("answer" in cuts) << 1)  # a pair counts once for each
            pairs.append((c, r))
        return pairs, marks

    def tokenized(path: Path, file_rows: list[dict]):  # every row of a file, from the cache beside it when it has them
        def build():
            pairs, marks = encode_rows(file_rows)
            return {"chosen": [c for c, _ in pairs], "rejected": [r for _, r in pairs], "marks": marks}

        columns, hit = cached(path.parent, tok, ["reward", file_digest(path), encode.encoder, encode.max_length], build)
        return list(zip(columns["chosen"], columns["rejected"])), columns["marks"], hit

    every, every_marks, from_cache = tokenized(spec.data_file, rows)
    at = {id(row): k for k, row in enumerate(rows)}
    train_pairs, train_marks = [every[at[id(r)]] for r in train_rows], [every_marks[at[id(r)]] for r in train_rows]
    if test_file(spec.data_file).is_file():  # the export's own test split: a file of its own
        eval_pairs, eval_marks, _ = tokenized(test_file(spec.data_file), eval_rows)
    else:
        eval_pairs, eval_marks = [every[at[id(r)]] for r in eval_rows], [every_marks[at[id(r)]] for r in eval_rows]
    cut_train, cut_eval = cut_counts(train_marks), cut_counts(eval_marks)
    if not train_pairs:
        raise DataError(f"{spec.data_file}: no rows to train on after the held-out split")
    truncated = {"max_length": encode.max_length, "train": cut_train, "eval": cut_eval}
    records = []
    for row, (c, r) in zip(train_rows, train_pairs):
        rec = {"chosen_ids": c, "rejected_ids": r}
        if spec.use_margin:
            rec["margin"] = float(row.get("margin") or 0.0)
        if spec.use_weights:
            rec["weight"] = float(row.get("weight", 1.0))
        if dim_names:
            rec["dims"] = [float((row.get("dims") or {}).get(d) or 0) for d in dim_names]
        records.append(rec)
    args = training_arguments(RewardConfig, spec, device, lora=False, max_length=None, disable_dropout=True,
                              remove_unused_columns=False)
    common = dict(model=model, args=args, train_dataset=Dataset.from_list(records), processing_class=tok)
    if dim_names:
        trainer = MultiHeadRewardTrainer(**common, data_collator=MultiHeadCollator(pad_token_id=tok.pad_token_id))
    else:
        trainer = WeightedRewardTrainer(**common, data_collator=WeightedCollator(pad_token_id=tok.pad_token_id))
    if spec.hyper.group_by_length:  # pairs of like length in a batch (less padding); seeded
        trainer.pair_lengths = [max(len(c), len(r)) for c, r in train_pairs]
    result, cancelled = train_with_events(
        trainer, spec, stop, "reward", device, base_model=base, train_pairs=len(train_pairs),
        eval_pairs=len(eval_pairs), truncated=truncated, heads=["overall", *dim_names])
    if cancelled:
        return cancelled
    trainer.save_model(str(out))  # the main process only (transformers' should_save)
    if trainer.is_world_process_zero():
        tok.save_pretrained(str(out))
        encode.save(out)
    report = {"job": "reward", "base_model": base, "train_pairs": len(train_pairs), "eval_pairs": len(eval_pairs),
              "held_out": held_from, "tokens_from_cache": from_cache,  # `training.token_cache`
              "truncated": truncated,  # pairs cut to max_length: {"prompt": n, "answer": n} in each split
              "train_loss": result.training_loss, "train_runtime_s": result.metrics.get("train_runtime"),
              "steps": trainer.state.global_step,
              "heads": ["overall", *dim_names], "eval": evaluate_pairs(model, eval_rows, eval_pairs, tok.pad_token_id, dim_names)}
    emit("eval", step=trainer.state.global_step, **{k: v for k, v in report["eval"].items() if not isinstance(v, dict)})
    return {"output_dir": str(out), "report": report, "report_path": str(write_report(spec, report))}
