"""Batched sampling with transformers `generate`, each answer drawn with its own seed.

`generate` samples a whole batch from one random stream, so an answer would depend on which prompts shared its
batch. Here `generate` runs greedy with a logits processor that does the sampling itself (temperature, top-p)
from one `torch.Generator` per row: the row's chosen token is left as the only one greedy can take. An answer
then depends on its model, prompt, parameters and seed alone (and on float arithmetic: the same device and
batch make the same text). Prompts are grouped by length so a batch pads little; the KV cache is generate's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import (AutoModelForCausalLM, AutoTokenizer, LogitsProcessor, LogitsProcessorList, StoppingCriteria,
                          StoppingCriteriaList)

from training.gen_spec import folder_hash


class Cancelled(Exception):
    """The job was asked to stop (its STOP file) in the middle of a batch: nothing of the batch is kept."""


class _StopAsked(StoppingCriteria):
    """Ends `generate` at the next token once the job is asked to stop (a batch can take minutes on a CPU)."""

    def __init__(self, stop) -> None:
        self.stop = stop

    def __call__(self, input_ids, scores, **kwargs) -> torch.Tensor:
        return torch.full((input_ids.shape[0],), bool(self.stop()), dtype=torch.bool, device=input_ids.device)


def sample_seed(seed: int, key: str, index: int, attempt: int) -> int:
    """The seed of sample `index` of prompt `key` (try `attempt`): distinct per sample, the same every run."""
    digest = hashlib.sha256(f"{seed}:{key}:{index}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & (2 ** 63 - 1)


class SeededSampler(LogitsProcessor):
    """Temperature and top-p sampling for a whole batch at once, each row from its own random stream, then
    greedy takes the chosen token (the only one left).

    A row's uniforms are drawn up front from its seed (ROUNDS a step), so its answer does not depend on the
    batch. Top-p without sorting the vocabulary (a sort of every row at every step cost more than the forward
    pass) by rejection, as FlashInfer samples: draw a token by inverse CDF; it is in the nucleus if the tokens
    more probable than it hold less than top_p; if not, draw again among the tokens more probable than it.
    Accepted draws follow the renormalised nucleus exactly; one round is usually enough (it accepts with
    probability ~top_p). A row still rejected after ROUNDS takes its most probable token."""

    ROUNDS = 16

    def __init__(self, seeds: list[int], temperature: float, top_p: float, device: torch.device, steps: int) -> None:
        self.uniform = torch.stack([
            torch.rand(steps * self.ROUNDS, generator=torch.Generator().manual_seed(s), dtype=torch.float64)
            .view(steps, self.ROUNDS) for s in seeds]).to(device)
        self.temperature = temperature
        self.top_p = top_p
        self.step = 0

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        scores = scores.float()
        if self.temperature == 0:  # greedy, as asked
            chosen = scores.argmax(dim=-1)
        else:
            chosen = self._sample(torch.softmax(scores / self.temperature, dim=-1))
        self.step += 1
        out = torch.full_like(scores, float("-inf"))
        out.scatter_(-1, chosen[:, None], 0.0)
        return out

    def _sample(self, probs: torch.Tensor) -> torch.Tensor:
        rows, vocab = probs.shape
        chosen = torch.empty(rows, dtype=torch.long, device=probs.device)
        rest = torch.arange(rows, device=probs.device)  # the rows still drawing
        current = support = probs  # their probabilities, and what they draw from (a redraw: above the last one)
        for r in range(self.ROUNDS):
            cdf = support.cumsum(dim=-1)
            u = (self.uniform[rest, self.step, r:r + 1] * cdf[:, -1:].double()).float().contiguous()
            token = torch.searchsorted(cdf, u).clamp(max=vocab - 1)
            if self.top_p >= 1.0:
                chosen[rest] = token.squeeze(-1)
                return chosen
            pivot = current.gather(-1, token)
            # the mass of the tokens more probable than the one drawn (sum of (p - pivot)+, plus pivot a token)
            above = (current - pivot).clamp(min=0).sum(dim=-1) + pivot.squeeze(-1) * (current > pivot).sum(dim=-1)
            accept = above < self.top_p
            chosen[rest[accept]] = token.squeeze(-1)[accept]
            redraw = ~accept
            if not redraw.any():
                return chosen
            rest, current, pivot = rest[redraw], current[redraw], pivot[redraw]
            support = current.masked_fill(current <= pivot, 0.0)
        chosen[rest] = current.argmax(dim=-1)  # still rejected after ROUNDS: the most probable token
        return chosen


@dataclass
class Sampled:
    text: str
    prompt_tokens: int
    answer_tokens: int
    finish: str  # eos | length


class TransformersBackend:
    name = "transformers"

    def __init__(self, model_dir: str, adapter: str | None, device: str, stop=lambda: False,
                 raw_prompts: bool = False) -> None:
        import transformers

        self.stop = stop  # asked once a token; True ends the batch with `Cancelled`
        self.raw_prompts = raw_prompts  # a plain prompt as it is, even to a chat model
        self.version = transformers.__version__
        self.tok = AutoTokenizer.from_pretrained(model_dir)
        self.tok.padding_side = "left"
        self.pad_fallback = self.tok.pad_token_id is None  # recorded: batches pad with eos, masked out
        if self.pad_fallback:
            self.tok.pad_token = self.tok.eos_token
        if self.tok.eos_token_id is None:
            raise ValueError(f"model: {model_dir}'s tokenizer has no eos token; an answer could not end")
        self.device = torch.device(device)
        dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(self.device).eval()
        if adapter:
            from peft import PeftModel

            self.model = PeftModel.from_pretrained(self.model, adapter).to(self.device).eval()
        self.dtype = str(dtype).removeprefix("torch.")
        self.template = self.tok.chat_template if isinstance(self.tok.chat_template, str) else None
        self.described = describe(model_dir, adapter)
        # the positions the model was trained on (past them a RoPE model runs on, making text from nothing)
        self.context = getattr(self.model.config, "max_position_embeddings", None)

    def identity(self) -> dict:
        return {**self.described, "backend": self.name, "backend_version": self.version, "dtype": self.dtype,
                **({"pad_token": "eos (the tokenizer has no pad token)"} if self.pad_fallback else {})}

    def render(self, prompt: str | list[dict]) -> tuple[str, bool, str]:
        """(the text the model reads, whether the tokenizer adds its special tokens, the template applied). A plain
        prompt goes to a chat model as one user turn (the way it was trained: sent raw, SmolLM2 gave empty answers and
        document continuations), unless `raw_prompts`."""
        if isinstance(prompt, str) and (self.raw_prompts or not self.template):
            return prompt, True, "none (plain prompt)"
        if isinstance(prompt, str):
            text = self.tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                                add_generation_prompt=True)
            return text, False, ("chat_template:" + hashlib.sha256(self.template.encode()).hexdigest()[:16]
                                 + " (plain prompt as one user turn)")
        if self.template:
            text = self.tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
            return text, False, "chat_template:" + hashlib.sha256(self.template.encode()).hexdigest()[:16]
        turns = "\n\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in prompt)
        return turns + "\n\nAssistant:", True, "none (no chat template: turns joined as text)"

    def token_count(self, text: str, special: bool) -> int:
        return len(self.tok(text, add_special_tokens=special)["input_ids"])

    @torch.inference_mode()
    def sample(self, rows: list[tuple[str, bool, int]], temperature: float, top_p: float,
               max_new_tokens: int) -> list[Sampled]:
        """One batch: rows of (text, add special tokens, seed); rows that share a special-token setting are
        padded together (a batch mixes them only when its prompts do)."""
        out: list[Sampled | None] = [None] * len(rows)
        for special in (True, False):
            idx = [i for i, r in enumerate(rows) if r[1] == special]
            if not idx:
                continue
            enc = self.tok([rows[i][0] for i in idx], return_tensors="pt", padding=True, add_special_tokens=special)
            enc = {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
            sampler = SeededSampler([rows[i][2] for i in idx], temperature, top_p, self.device, max_new_tokens)
            generated = self.model.generate(**enc, do_sample=False, max_new_tokens=max_new_tokens,
                                            logits_processor=LogitsProcessorList([sampler]),
                                            stopping_criteria=StoppingCriteriaList([_StopAsked(self.stop)]),
                                            pad_token_id=self.tok.pad_token_id, eos_token_id=self.tok.eos_token_id)
            if self.stop():
                raise Cancelled()
            width = enc["input_ids"].shape[1]
            prompt_lens = enc["attention_mask"].sum(dim=1).tolist()
            for j, i in enumerate(idx):
                answer = generated[j, width:].tolist()
                end = answer.index(self.tok.eos_token_id) if self.tok.eos_token_id in answer else None
                tokens = answer[:end] if end is not None else answer
                text = self.tok.decode(tokens, skip_special_tokens=True)
                out[i] = Sampled(text, int(prompt_lens[j]), len(tokens) + (end is not None),
                                 "eos" if end is not None else "length")
        return out  # type: ignore[return-value]


def over_context(backend, rows: list[tuple[str, str, bool]], max_new_tokens: int) -> str | None:
    """rows: (the prompt's name, its rendered text, special tokens). None when every prompt and its answer fit the
    model's context; else the message that fails the run before anything is sampled, naming the model, the
    prompts (the first three) and their token counts."""
    context = getattr(backend, "context", None)
    if not context:  # a server knows its own context and says so itself
        return None
    counted = [(name, backend.token_count(text, special)) for name, text, special in rows]
    over = [(name, n) for name, n in counted if n + max_new_tokens > context]
    if not over:
        return None
    named = "; ".join(f"{name}: {n} tokens" for name, n in over[:3])
    fit = "prompt does" if len(over) == 1 else "prompts do"
    return (f"{len(over)} {fit} not fit the context of {backend.described['model']} ({context} tokens, "
            f"max_new_tokens {max_new_tokens} of them for the answer): {named}"
            + (f"; and {len(over) - 3} more" if len(over) > 3 else ""))


def describe(model_dir: str, adapter: str | None) -> dict:
    """The model's identity for every candidate's record: folder and hash, adapter and hash."""
    out = {"model": str(Path(model_dir).resolve()),
           "model_hash": folder_hash(model_dir, ("config.json", "model.safetensors.index.json", "generation_config.json"))}
    if adapter:
        out["adapter"] = str(Path(adapter).resolve())
        out["adapter_hash"] = folder_hash(adapter, ("adapter_config.json",))
    return out


def load_prompts(path: str) -> list[dict]:
    rows = []
    for n, line in enumerate(open(path, encoding="utf-8"), start=1):
        if line.strip():
            row = json.loads(line)
            if not isinstance(row, dict) or "key" not in row or "prompt" not in row:
                raise ValueError(f"{path}:{n}: a prompt line needs key and prompt")
            rows.append(row)
    return rows
