"""Score prompt/response rows with a trained reward model, batched, as the desk needs to bring scores back."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from training.protocol import emit
from training.reward import PairEncoder, rewards


def score_file(model_dir: str, input_path: str, output_path: str, batch_size: int = 32) -> int:
    """Write each input row with a `score` added (and `cut` when the pair was cut to the model's max_length);
    returns how many rows were scored. A `progress` event
    (step = rows scored) goes to stdout at most twice a second, for the desk's progress bar."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    folder = Path(model_dir)
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    if torch.cuda.is_available():
        model = model.cuda()
    encode = PairEncoder.load(folder, tok)
    rows = [json.loads(line) for line in open(input_path, encoding="utf-8") if line.strip()]
    for n, row in enumerate(rows, start=1):
        if "prompt" not in row or "response" not in row:
            raise ValueError(f"{input_path}:{n}: needs prompt and response")
    started = last = time.monotonic()

    def progress(done: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= 0.5 or done == len(rows):
            last = now
            rate = done / (now - started) if now > started else 0.0
            emit("progress", step=done, total_steps=len(rows), samples_per_s=round(rate, 1),
                 eta_s=round((len(rows) - done) / rate, 1) if rate else None)

    encoded = [encode.encode(r["prompt"], r["response"]) for r in rows]  # cut to fit as in training, never dropped
    scores = rewards(model, [ids for ids, _ in encoded], tok.pad_token_id, batch_size, all_heads=True, on_batch=progress)
    heads = [model.config.id2label[i] for i in range(scores.shape[1])] if scores.shape[1] > 1 else []
    with open(output_path, "w", encoding="utf-8") as f:
        for row, s, (_, cut) in zip(rows, scores, encoded):
            out = {**row, "score": float(s[0])}
            if cut:
                out["cut"] = cut  # "prompt": its oldest tokens left out to fit; "answer": the answer alone did not fit
            if heads:  # a multi-objective model: every dimension's score too
                out["dims"] = {h: float(v) for h, v in zip(heads[1:], s[1:])}
            f.write(json.dumps(out) + "\n")
    return len(rows)
