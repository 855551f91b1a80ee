"""Checks of an export folder against a job kind, without loading a model."""

from __future__ import annotations

import json

from training.protocol import JobSpec

REQUIRED = {"reward": ("prompt", "chosen", "rejected"), "dpo": ("prompt", "chosen", "rejected"),
            "kto": ("prompt", "completion", "label"),
            "prm": ("prompt", "completions", "labels")}


def dataset_problems(spec: JobSpec, limit: int = 20) -> list[str]:
    """Every row problem (first `limit`), by file, line and field."""
    if spec.kind not in REQUIRED or not spec.data_file.is_file():
        return []
    problems, rows = [], 0
    with open(spec.data_file, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{spec.data_file}:{n}: invalid JSON ({exc.msg})")
                continue
            rows += 1
            for key in REQUIRED[spec.kind]:
                if key not in row:
                    problems.append(f"{spec.data_file}:{n}: {key}: missing")
            if spec.kind == "prm" and "labels" in row and len(row.get("labels", [])) != len(row.get("completions", [])):
                problems.append(f"{spec.data_file}:{n}: labels: {len(row['labels'])} labels for "
                                f"{len(row.get('completions', []))} completions")
    if rows == 0:
        problems.append(f"{spec.data_file}: no usable rows")
    elif rows < 2 and spec.eval_fraction > 0:
        problems.append(f"{spec.data_file}: {rows} row; need at least 2 prompts to hold some out (or eval_fraction 0)")
    return problems[:limit] + ([f"... and {len(problems) - limit} more"] if len(problems) > limit else [])
