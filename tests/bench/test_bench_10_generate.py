"""Generation throughput on CPU (issue 20): tokens/s of the job's batched backend (prompts grouped by length, a
seeded sampler a row, KV cache) against a plain one-prompt-at-a-time `model.generate` loop (its n answers as
num_return_sequences), on the same prompts and the same small causal LM built from a config, in one run: >= 3x."""

import json
import time
from pathlib import Path

import pytest

from conftest import report

ROOT = Path(__file__).resolve().parents[2]
N_PROMPTS, N, NEW = 64, 2, 48


@pytest.fixture(scope="module")
def small_lm(tmp_path_factory) -> str:
    from desktools import llama_lm

    return llama_lm(tmp_path_factory.mktemp("small-lm"), hidden=256, intermediate=688, layers=4, heads=4)


def _prompts() -> list[str]:
    rows = [json.loads(line)["prompt"] for line in (ROOT / "tests" / "fixtures" / "prompts-sample.jsonl").read_text().splitlines()]
    return [rows[i % len(rows)] + ("" if i < len(rows) else f" (variant {i})") for i in range(N_PROMPTS)]


def test_batched_generation_is_at_least_3x_a_plain_generate_loop(small_lm):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.sampling import TransformersBackend, sample_seed

    prompts = _prompts()
    backend = TransformersBackend(small_lm, None, "cpu")
    rows = sorted([(p, True, sample_seed(0, str(i), j, 0)) for i, p in enumerate(prompts) for j in range(N)],
                  key=lambda r: backend.token_count(r[0], True))
    t = time.perf_counter()
    tokens = 0
    for start in range(0, len(rows), 16 * N):  # the job's default batch: 16 prompts and their answers
        tokens += sum(s.answer_tokens for s in backend.sample(rows[start:start + 16 * N], 0.8, 0.95, NEW))
    batched = tokens / (time.perf_counter() - t)

    tok = AutoTokenizer.from_pretrained(small_lm)
    model = AutoModelForCausalLM.from_pretrained(small_lm).eval()
    torch.manual_seed(0)
    t = time.perf_counter()
    plain_tokens = 0
    with torch.inference_mode():
        for p in prompts:
            enc = tok(p, return_tensors="pt")
            out = model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], do_sample=True,
                                 temperature=0.8, top_p=0.95, max_new_tokens=NEW, num_return_sequences=N,
                                 pad_token_id=tok.pad_token_id)
            answers = out[:, enc["input_ids"].shape[1]:]
            plain_tokens += int(sum(min(len(a), (a == tok.eos_token_id).nonzero()[0].item() + 1
                                        if (a == tok.eos_token_id).any() else len(a)) for a in answers))
    plain = plain_tokens / (time.perf_counter() - t)
    report(f"generation, batched backend ({N_PROMPTS} prompts x {N}, {NEW} new tokens, CPU, "
           f"{torch.get_num_threads()} threads)", batched, 0.0, "tokens/s", at_least=True)
    report("generation, plain model.generate a prompt at a time", plain, 0.0, "tokens/s", at_least=True)
    report("generation speed-up, batched over plain", batched / plain, 3.0, "x", at_least=True)
    assert batched / plain >= 3.0
