"""Synthetic preference data for the benchmarks: deterministic, realistic lengths (~1 KB a record)."""

from __future__ import annotations

import json
import random
from pathlib import Path

WORDS = ("the model answer user safety policy data result step because however therefore example "
         "response prompt rater item label dataset training reward value clear helpful correct concise "
         "medical legal finance support code query function return error check").split()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def write_pairwise(path: Path, n: int, seed: int = 0) -> Path:
    """n seed-format pairwise records (prompt ~25 words, answers ~70 words each), written once and cached."""
    if path.exists() and path.stat().st_size > 0:
        return path
    rng = random.Random(seed)
    pool = [sentence(rng, k) for k in (25, 70) for _ in range(500)]
    short, long = pool[:500], pool[500:]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        for i in range(n):
            rec = {"type": "pairwise", "prompt": f"Q{i}: " + rng.choice(short), "winner": f"A{i} " + rng.choice(long),
                   "loser": f"B{i} " + rng.choice(long), "meta": {"scenario": rng.choice(("medical", "legal", "coding")), "n": i}}
            f.write(json.dumps(rec) + "\n")
    tmp.replace(path)
    return path


SIGNAL_MIX = (("thumbs", 50), ("rating", 10), ("regenerate", 10), ("copy", 15), ("follow_up", 10), ("handoff", 5))


def write_feedback_events(path: Path, n: int, seed: int = 0) -> Path:
    """n PrefDesk feedback events (README: the event JSONL a team's app writes), ~0.9 KB each: conversations of one
    to three turns, an answer of ~70 words, the signal mix of `SIGNAL_MIX`, 60 days, 3 model versions, 5 buckets;
    written once and cached."""
    if path.exists() and path.stat().st_size > 0:
        return path
    rng = random.Random(seed)
    short = [sentence(rng, 20) for _ in range(500)]
    long = [sentence(rng, 70) for _ in range(500)]
    signals = [s for s, weight in SIGNAL_MIX for _ in range(weight)]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        for i in range(n):
            conv = i // 3
            turns = [{"role": "user", "content": f"C{conv}: " + rng.choice(short)}]
            for _ in range(rng.randrange(2)):
                turns += [{"role": "assistant", "content": rng.choice(long)}, {"role": "user", "content": rng.choice(short)}]
            signal = rng.choice(signals)
            day = 1 + (i * 60) // n
            rec = {"id": f"ev-{i}", "conversation_id": f"conv-{conv}", "message_id": f"m-{i}", "parent_id": f"u-{conv}",
                   "prompt": turns, "answer": f"A{i} " + rng.choice(long), "signal": signal,
                   "at": f"2026-{9 + (day - 1) // 30:02d}-{1 + (day - 1) % 30:02d}T{rng.randrange(24):02d}:00:00Z",
                   "model": "support-bot", "model_version": f"v{1 + (i * 3) // n}", "user_id": f"u{rng.randrange(50000)}",
                   "bucket": rng.choice(("billing", "safety", "account", "shipping", "other"))}
            if signal == "thumbs":
                rec["value"] = rng.choice((1, 1, -1))
            elif signal == "rating":
                rec["value"] = rng.randrange(1, 11)
            f.write(json.dumps(rec) + "\n")
    tmp.replace(path)
    return path
