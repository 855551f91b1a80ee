"""Reading an export folder and splitting it by prompt, so a prompt never sits on both sides."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


class DataError(Exception):
    """A dataset the job cannot use; the message names the file and line."""


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{n}: invalid JSON ({exc.msg})") from exc
    if not rows:
        raise DataError(f"{path}: no usable rows")
    return rows


def prompt_key(row: dict[str, Any]) -> str:
    prompt = row.get("prompt", "")
    return prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True)


def split_by_prompt(rows: list[dict], eval_fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Deterministic split on a hash of (seed, prompt): every row of one prompt lands on the same side."""
    if eval_fraction <= 0:
        return rows, []
    train, held = [], []
    for row in rows:
        digest = hashlib.blake2b(f"{seed}\x1f{prompt_key(row)}".encode(), digest_size=8).digest()
        (held if int.from_bytes(digest, "big") / 2**64 < eval_fraction else train).append(row)
    if not train or not held:  # tiny sets: fall back to a split that keeps both sides non-empty
        keys = sorted({prompt_key(r) for r in rows})
        if len(keys) < 2:
            raise DataError("need at least two distinct prompts to hold some out for evaluation")
        n_eval = max(1, round(len(keys) * eval_fraction))
        held_keys = set(keys[:n_eval])
        train = [r for r in rows if prompt_key(r) not in held_keys]
        held = [r for r in rows if prompt_key(r) in held_keys]
    return train, held


def test_file(data_file: Path) -> Path:
    """The held-out split an export wrote beside its data (`export --test-fraction`): preference-test.jsonl."""
    data_file = Path(data_file)
    return data_file.with_name(f"{data_file.stem}-test{data_file.suffix}")


def held_out(rows: list[dict], data_file: Path, eval_fraction: float, seed: int) -> tuple[list[dict], list[dict], str]:
    """(train rows, held-out rows, where the held-out rows came from): the export's own test split when the folder
    has one (the lead chose it, so every run on the folder is evaluated on the same prompts), else a split of
    the rows by prompt."""
    test = test_file(data_file)
    if test.is_file():
        return rows, read_jsonl(test), f"the export's test split ({test.name})"
    return (*split_by_prompt(rows, eval_fraction, seed), f"a split by prompt (eval_fraction {eval_fraction})")


def job_rows(spec, columns: tuple[str, ...], check=None) -> tuple[list[dict], list[dict], str]:
    """(train rows, held-out rows, where they came from) of a job's data file (`held_out`), each cut to `columns`;
    a row missing one, or one `check(row)` finds a problem with, is refused by file, line and field."""
    train, held, held_from = held_out(read_jsonl(spec.data_file), spec.data_file, spec.eval_fraction, spec.seed)

    def clean(path, rows):
        for n, row in enumerate(rows, start=1):
            for key in columns:
                if key not in row:
                    raise DataError(f"{path}:{n}: {key}: missing")
            problem = check(row) if check else None
            if problem:
                raise DataError(f"{path}:{n}: {problem}")
        return [{k: row[k] for k in columns} for row in rows]

    return clean(spec.data_file, train), clean(test_file(spec.data_file), held), held_from


def as_text(value: Any) -> str:
    """Text of a prompt or response given as text or as chat messages."""
    if isinstance(value, str):
        return value
    return "\n\n".join(f"{m['role']}: {m['content']}" if m["role"] != "assistant" else m["content"] for m in value)
