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
