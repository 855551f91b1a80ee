"""Prompt files for the pool (`prefdesk prompts import`): JSONL, one object a line with `prompt` as text or as
chat turns `[{role, content}]` and optional `scenario`, `risk_level`, `bucket`, `source` (other keys are kept as
metadata); or plain text, one prompt a line. A bad line names its file, line and field; the file is refused
whole unless the good lines are asked for (`skip_bad`)."""

from __future__ import annotations

from pathlib import Path

import orjson

from prefdesk.formats import fields as F
from prefdesk.formats.errors import FieldError, ImportRefused, RecordError
from prefdesk.store.connection import refuse_project_file
from prefdesk.store.prompts import PoolPrompt

_USED = {"prompt", "scenario", "risk_level", "bucket", "source"}


def _record(rec: object) -> PoolPrompt:
    if not isinstance(rec, dict):
        raise FieldError("", f"expected a JSON object, got {type(rec).__name__}")
    text, msgs = F.prompt(rec)
    labels = {}
    for key in ("scenario", "risk_level", "bucket", "source"):
        value = rec.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise FieldError(key, f"expected text, got {value!r}")
        labels[key] = value.strip() if isinstance(value, str) else None
    return PoolPrompt(text, msgs, meta=F.meta_of(rec, _USED), **labels)


def is_jsonl(path: Path, head: bytes) -> bool:
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        return True
    if path.suffix.lower() == ".txt":
        return False
    return head.lstrip().startswith(b"{")


def read_prompts(path: str | Path, skip_bad: bool = False, project_path: str | Path | None = None
                 ) -> tuple[list[PoolPrompt], list[RecordError]]:
    """(the prompts, the bad lines skipped). Raises ImportRefused (nothing read) on a bad line unless `skip_bad`.
    `project_path`: the open project's file, refused as input before it is opened."""
    path = Path(path)
    if project_path is not None:
        refuse_project_file(path, project_path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportRefused(str(path), [RecordError(str(path), 0, "", f"cannot be read ({exc.strerror})")]) from None
    name = str(path)
    good: list[PoolPrompt] = []
    errors: list[RecordError] = []
    jsonl = is_jsonl(path, raw[:64])
    for line_no, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(RecordError(name, line_no, "", f"not UTF-8 text (byte {exc.start})"))
            continue
        if not jsonl:
            good.append(PoolPrompt(text.rstrip("\r")))
            continue
        try:
            rec = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            errors.append(RecordError(name, line_no, "", f"invalid JSON ({exc})"))
            continue
        try:
            good.append(_record(rec))
        except FieldError as exc:
            errors.append(RecordError(name, line_no, exc.field, exc.message))
    if not good and not errors:
        errors.append(RecordError(name, 0, "", "the file holds no prompts"))
    if errors and (not skip_bad or not good):
        raise ImportRefused(name, errors, skip_hint="add the good prompts; the bad lines are named, not added")
    return good, errors
