"""`python -m training generate SPEC`: sample n answers a prompt from the team's model, with every parameter and
seed recorded on each answer, near-duplicates sampled again, and one line a prompt appended to
`output_dir/samples.jsonl` (fsynced a batch at a time). A prompt already in that file is not done again, so a
job cancelled or killed goes on where it stopped. The job never opens the project: the desk turns the samples
into items (`prefdesk.jobs.generate`)."""

from __future__ import annotations

import json
import os
import random
import re
import time
from pathlib import Path

from training.gen_spec import GenerateSpec
from training.protocol import SAMPLES_FILE, STOP_FILE, emit

PREVIEW_CHARS = 240
_SPACE = re.compile(r"\s+")


def normalised(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def shingles(text: str, k: int = 3) -> set[tuple[str, ...]]:
    words = normalised(text).split(" ")
    return {tuple(words[i:i + k]) for i in range(max(1, len(words) - k + 1))}


def same_answer(a: str, b: str, threshold: float) -> bool:
    """The same text after normalising whitespace and case, or word 3-shingle Jaccard >= threshold."""
    if normalised(a) == normalised(b):
        return True
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb) >= threshold


def duplicates(texts: list[str], threshold: float) -> list[int]:
    """Indexes of the texts that repeat an earlier one."""
    return [j for j in range(len(texts)) if any(same_answer(texts[i], texts[j], threshold) for i in range(j))]


def unfit(got, spec: GenerateSpec) -> str | None:
    """Why an answer should not reach a rater (resampled, then its prompt held back), or None: empty or whitespace
    (an answer of special tokens alone decodes to nothing), or cut at max_new_tokens (unless `cut_answers` keep:
    raters would judge a cut answer beside a finished one, a length and position confound)."""
    if not got.text.strip():
        return "empty"
    if got.finish == "length" and spec.cut_answers == "resample":
        return "cut at the token limit"
    return None


def done_keys(path: Path) -> set[str]:
    """Prompts already in the samples file; a last line cut by a kill is dropped from the file first."""
    if not path.exists():
        return set()
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with open(path, "r+b") as f:
            f.truncate(end)
    keys = set()
    for line in data[:end].splitlines():
        if line.strip():
            keys.add(json.loads(line)["key"])
    return keys


def choose_pair(spec: GenerateSpec, key: str, scores: list[float] | None) -> tuple[int, int]:
    """Which two of the n samples make the item: `random` (seeded by the prompt), `spread` (the reward model's best
    against its worst: an easy pair) or `closest` (the two nearest scores: an informative pair)."""
    if spec.pair == "random":
        return tuple(sorted(random.Random(f"{spec.seed}:{key}:pair").sample(range(spec.n), 2)))  # type: ignore[return-value]
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    if spec.pair == "spread":
        return tuple(sorted((order[0], order[-1])))  # type: ignore[return-value]
    gaps = [(scores[order[i + 1]] - scores[order[i]], order[i], order[i + 1]) for i in range(len(order) - 1)]
    _, a, b = min(gaps)
    return tuple(sorted((a, b)))  # type: ignore[return-value]


def run_generate(spec: GenerateSpec) -> int:
    from training.sampling import Cancelled, load_prompts, over_context, sample_seed

    out_dir = Path(spec.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    samples_path = out_dir / SAMPLES_FILE
    prompts = load_prompts(spec.prompts)
    done = done_keys(samples_path)
    todo = [p for p in prompts if p["key"] not in done]
    # seeds from the prompt's content (older prompt files: its key), so the same prompt gets the same answers anywhere
    seed_key = {p["key"]: p.get("seed_key") or p["key"] for p in prompts}
    backend, device = _backend(spec, lambda: (out_dir / STOP_FILE).exists())
    identity = backend.identity()
    emit("started", prompts=len(prompts), already_done=len(done), backend=backend.name, device=device,
         model=identity.get("model"))
    rendered = [(p, *backend.render(p["prompt"])) for p in todo]
    names = {p["key"]: f"{spec.prompts}:{n} ({_preview(p['prompt'])})" for n, p in enumerate(prompts, start=1)}
    if too_long := over_context(backend, [(names[r[0]["key"]], r[1], r[2]) for r in rendered], spec.max_new_tokens):
        emit("failed", error=too_long, hint="shorten those prompts or leave them out (prefdesk prompts), or lower "
                                            "--max-new-tokens, or use a model with a longer context")
        return 1
    if backend.name == "transformers":  # group by length: a batch pads little
        rendered.sort(key=lambda r: backend.token_count(r[1], r[2]))
    scorer = _scorer(spec) if spec.pair in ("spread", "closest") else None
    started, tokens, made, dup_prompts, resampled = time.monotonic(), 0, 0, 0, 0
    unfit_prompts: dict[str, int] = {}  # why a prompt's answers stayed unfit for a rater after resampling
    with open(samples_path, "a", encoding="utf-8") as out:
        for start in range(0, len(rendered), spec.batch_size):
            if (out_dir / STOP_FILE).exists():
                emit("cancelled", step=len(done) + start, checkpoint=str(samples_path))
                return 3
            batch = rendered[start:start + spec.batch_size]
            answers = {(r[0]["key"], j): None for r in batch for j in range(spec.n)}
            attempts = {k: 0 for k in answers}
            pending = list(answers)
            by_key = {r[0]["key"]: r for r in batch}
            for round_ in range(spec.max_resample + 1):
                rows = [(by_key[k][1], by_key[k][2], sample_seed(spec.seed, seed_key[k], j, attempts[(k, j)]))
                        for k, j in pending]
                try:  # a cancel ends a batch within a token (a model here) or POLL_S (a server): nothing of it is kept
                    got_all = backend.sample(rows, spec.temperature, spec.top_p, spec.max_new_tokens)
                except Cancelled:
                    emit("cancelled", step=len(done) + start, checkpoint=str(samples_path))
                    return 3
                for (k, j), got in zip(pending, got_all):
                    answers[(k, j)] = got
                    tokens += got.answer_tokens
                again = {(k, j) for k in by_key
                         for j in duplicates([answers[(k, i)].text for i in range(spec.n)], spec.near_duplicate)}
                again |= {kj for kj, got in answers.items() if unfit(got, spec)}  # empty, or cut at the limit
                pending = [kj for kj in answers if kj in again]
                if not pending or round_ == spec.max_resample:
                    break
                resampled += len(pending)
                for key in pending:
                    attempts[key] += 1
            still = {k for k, _ in pending}
            lines = []
            for key, (prompt, _text, _special, template) in by_key.items():
                cands = [_candidate(spec, identity, template, answers[(key, j)], sample_seed(spec.seed, seed_key[key], j, attempts[(key, j)]),
                                    attempts[(key, j)], device) for j in range(spec.n)]
                why = next((r for j in range(spec.n) if (r := unfit(answers[(key, j)], spec))), None)
                line = {"key": key, "candidates": cands, "duplicate": key in still and why is None}
                if why is not None:  # never shown to a rater beside a finished answer: the prompt makes no item
                    line["unfit"] = why
                    unfit_prompts[why] = unfit_prompts.get(why, 0) + 1
                elif key in still:
                    dup_prompts += 1
                elif spec.pair:
                    scores = scorer(prompt["prompt"], [c["text"] for c in cands]) if scorer else None
                    line["pair"] = list(choose_pair(spec, key, scores))
                    if scores is not None:
                        line["pair_scores"] = scores
                    made += 1
                else:
                    made += 1
                lines.append(json.dumps(line, ensure_ascii=False) + "\n")
            out.write("".join(lines))
            out.flush()
            os.fsync(out.fileno())
            elapsed = time.monotonic() - started
            finished = start + len(batch)
            emit("progress", step=len(done) + finished, total_steps=len(prompts),
                 tokens_per_s=round(tokens / elapsed, 1) if elapsed else None,
                 eta_s=round(elapsed / finished * (len(todo) - finished), 1),
                 preview=[answers[(r[0]["key"], 0)].text[:PREVIEW_CHARS] for r in batch[-2:]])
    elapsed = time.monotonic() - started
    report = {"prompts": len(prompts), "generated_now": len(todo), "already_done": len(done), "items": made,
              "duplicate_prompts": dup_prompts, "unfit": unfit_prompts, "resampled": resampled, "answer_tokens": tokens,
              "seconds": round(elapsed, 2), "tokens_per_s": round(tokens / elapsed, 1) if elapsed else None,
              "samples": str(samples_path), **identity}
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    emit("finished", output_dir=str(out_dir), report=report, report_path=str(out_dir / "report.json"))
    return 0


def _preview(prompt) -> str:
    text = prompt if isinstance(prompt, str) else " / ".join(str(m.get("content", "")) for m in prompt)
    text = _SPACE.sub(" ", text).strip()
    return repr(text[:60] + ("..." if len(text) > 60 else ""))


def _candidate(spec: GenerateSpec, identity: dict, template: str, got, seed: int, attempt: int, device: str) -> dict:
    meta = {**identity, "temperature": spec.temperature, "top_p": spec.top_p, "max_new_tokens": spec.max_new_tokens,
            "seed": seed, "run_seed": spec.seed, "attempt": attempt, "template": template, "device": device,
            "prompt_tokens": got.prompt_tokens, "answer_tokens": got.answer_tokens, "finish": got.finish,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    return {"text": got.text, "meta": meta}


def _backend(spec: GenerateSpec, stop):
    if spec.backend == "openai":
        from training.openai_backend import OpenAIBackend

        return OpenAIBackend(spec.url, spec.model, spec.max_response_bytes, spec.timeout_s, stop=stop,
                             token_env=spec.token_env), "server"
    import torch

    from training.sampling import TransformersBackend

    device = spec.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    backend = TransformersBackend(spec.model, spec.adapter, device, stop=stop, raw_prompts=spec.raw_prompts)
    return backend, device


def _scorer(spec: GenerateSpec):
    """score(prompt, answers) -> the reward model's score of each answer (`spread`, `closest`)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from training.reward import PairEncoder, rewards

    tok = AutoTokenizer.from_pretrained(spec.reward_model)
    model = AutoModelForSequenceClassification.from_pretrained(spec.reward_model).eval()
    encode = PairEncoder.load(Path(spec.reward_model), tok)

    def score(prompt, answers: list[str]) -> list[float]:
        text = prompt if isinstance(prompt, str) else "\n\n".join(m["content"] for m in prompt)
        ids = [encode.encode(text, a)[0] for a in answers]
        return [float(s[0]) for s in rewards(model, ids, tok.pad_token_id, 32, all_heads=True)]

    return score
