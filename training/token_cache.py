"""A dataset's token ids, made once and kept beside it: `<folder>/.tokens/<key>.npz`.

The key is a hash of everything the ids depend on: the rows (the data file's bytes, or the rows themselves where a
job tokenizes a subset), the tokenizer (its full definition, special tokens and chat template, not its folder's
name), the job's own choices (the cut, the layout, TRL's version for DPO) and `VERSION`, raised whenever an encoding
changes. An export folder is written whole or not at all, so a new export of the folder drops the ids of the old one
with it; a frozen version's folder keeps them for every run on it. A folder that cannot be written (a shared,
read-only one) is tokenized every time, as it would be without the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from training.protocol import file_sha256

VERSION = 1
Columns = dict[str, list]  # a column a name: token-id lists (one a row), or one whole number a row


def tokenizer_fingerprint(tok) -> str | None:
    """What decides a tokenizer's ids, or None for one without a serialisable definition (a slow tokenizer)."""
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is None:
        return None
    definition = json.loads(backend.to_str())
    for state in ("truncation", "padding"):  # set by the last call that padded or cut, not part of the ids
        definition.pop(state, None)
    return json.dumps([type(tok).__name__, definition, tok.special_tokens_map, tok.chat_template,
                       getattr(tok, "truncation_side", None)], sort_keys=True, default=str)


file_digest = file_sha256  # (the name the jobs use)


def rows_digest(rows: list[dict]) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _pack(values: list) -> dict[str, np.ndarray]:
    if values and isinstance(values[0], list):
        offsets = np.zeros(len(values) + 1, np.int64)
        np.cumsum([len(v) for v in values], out=offsets[1:])
        return {"ids": np.fromiter((t for v in values for t in v), np.int32, count=int(offsets[-1])), "at": offsets}
    return {"n": np.array(values, np.int64)}


def _unpack(z, name: str) -> list:
    if f"{name}.n" in z:
        return z[f"{name}.n"].tolist()
    flat, offsets = z[f"{name}.ids"], z[f"{name}.at"]
    return [flat[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])]


def cached(folder: Path, tok, key: list, build: Callable[[], Columns]) -> tuple[Columns, bool]:
    """(the columns `build()` makes, whether they came from the cache): read from `folder/.tokens` when it holds them
    for this key (with the tokenizer's fingerprint), else built and kept for the next run."""
    fingerprint = tokenizer_fingerprint(tok)
    if fingerprint is None:
        return build(), False
    digest = hashlib.sha256(json.dumps([VERSION, fingerprint, *key], sort_keys=True, default=str).encode())
    path = Path(folder) / ".tokens" / f"{digest.hexdigest()[:32]}.npz"
    if path.is_file():
        try:
            with np.load(path) as z:
                names = json.loads(str(z["names"]))
                columns = {name: _unpack(z, name) for name in names}
            if len({len(v) for v in columns.values()}) <= 1:
                return columns, True
        except (OSError, ValueError, KeyError):  # a damaged cache file: tokenize again, and replace it
            pass
    columns = build()
    try:
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        arrays = {f"{name}.{part}": a for name, values in columns.items() for part, a in _pack(values).items()}
        np.savez(tmp, names=np.array(json.dumps(list(columns))), **arrays)
        os.replace(tmp, path)  # whole or not at all, also when two processes of one job write it at once
    except OSError:
        pass
    return columns, False


def cut_counts(marks: list[int]) -> dict[str, int]:
    """How many rows had their prompt cut (mark bit 1), and how many an answer (bit 2): a row can count in both."""
    out = {"prompt": sum(1 for m in marks if m & 1), "answer": sum(1 for m in marks if m & 2)}
    return {k: n for k, n in out.items() if n}
