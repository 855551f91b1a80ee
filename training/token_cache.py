"""A dataset's token ids, made once and kept beside it: `<folder>/.tokens/<key>.npz`.

The key is a hash of everything the ids depend on: the data file's bytes, the tokenizer (its full definition, special
tokens and chat template, not its folder's name), the cut (`max_length`, the layout) and `VERSION`, raised whenever
the encoding changes. An export folder is written whole or not at all, so a new export of the folder drops the ids
of the old one with it; a frozen version's folder keeps them for every run on it. A folder that cannot be written (a
shared, read-only one) is tokenized every time, as it would be without the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

VERSION = 1
Pairs = list[tuple[list[int], list[int]]]  # (chosen ids, rejected ids) a row
Marks = list[int]  # a row: 1 when its prompt was cut to fit, 2 when an answer was, 3 both


def tokenizer_fingerprint(tok) -> str | None:
    """What decides a tokenizer's ids, or None for one without a serialisable definition (a slow tokenizer)."""
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is None:
        return None
    return json.dumps([type(tok).__name__, backend.to_str(), tok.special_tokens_map, tok.chat_template,
                       getattr(tok, "truncation_side", None)], sort_keys=True, default=str)


def _digest(data_file: Path, parts: list) -> str:
    h = hashlib.sha256(json.dumps([VERSION, *parts], sort_keys=True, default=str).encode())
    with open(data_file, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()[:32]


def _pack(seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(seqs) + 1, np.int64)
    np.cumsum([len(s) for s in seqs], out=offsets[1:])
    flat = np.fromiter((t for s in seqs for t in s), np.int32, count=int(offsets[-1]))
    return flat, offsets


def _unpack(flat: np.ndarray, offsets: np.ndarray) -> list[list[int]]:
    return [flat[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])]


def cached_pairs(data_file: Path, tok, parts: list, build: Callable[[], tuple[Pairs, Marks]]) -> tuple[Pairs, Marks, bool]:
    """(token ids of every row of `data_file`, in file order, what was cut in each, whether they came from the cache):
    read from the cache when it holds them for this key, else `build()` and kept for the next run."""
    fingerprint = tokenizer_fingerprint(tok)
    if fingerprint is None:
        return *build(), False
    path = Path(data_file).parent / ".tokens" / f"{_digest(Path(data_file), [fingerprint, *parts])}.npz"
    if path.is_file():
        try:
            with np.load(path) as z:
                chosen, rejected = _unpack(z["chosen"], z["chosen_at"]), _unpack(z["rejected"], z["rejected_at"])
                marks = z["marks"].tolist()
            if len(chosen) == len(rejected) == len(marks):
                return list(zip(chosen, rejected)), marks, True
        except (OSError, ValueError, KeyError):  # a damaged cache file: tokenize again, and replace it
            pass
    pairs, marks = build()
    try:
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        (c, c_at), (r, r_at) = _pack([p[0] for p in pairs]), _pack([p[1] for p in pairs])
        np.savez(tmp, chosen=c, chosen_at=c_at, rejected=r, rejected_at=r_at, marks=np.array(marks, np.int8))
        os.replace(tmp, path)  # whole or not at all, also when two processes of one job write it at once
    except OSError:
        pass
    return pairs, marks, False


def cut_counts(marks: Marks) -> dict[str, int]:
    """How many rows had their prompt cut, and how many an answer (a row can count in both)."""
    out = {"prompt": sum(1 for m in marks if m & 1), "answer": sum(1 for m in marks if m & 2)}
    return {k: n for k, n in out.items() if n}
