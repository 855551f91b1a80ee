"""Stream records out of JSONL, CSV and Parquet files, reporting bad lines with their place."""

from __future__ import annotations

import csv
import json

import orjson
from collections.abc import Iterator
from pathlib import Path

from prefdesk.formats.errors import RecordError

MAX_RECORD_BYTES = 16 * 1024 * 1024  # a longer line is refused rather than parsed into memory


def jsonl_records(path: Path) -> Iterator[tuple[int, dict | None, RecordError | None, int]]:
    """Yield (line number, record or None, error or None, bytes read so far); blank lines are skipped."""
    name = str(path)
    with open(path, "rb") as f:
        line_no, done = 0, 0
        while True:
            raw = f.readline(MAX_RECORD_BYTES + 1)
            if not raw:
                return
            line_no += 1
            done += len(raw)
            if len(raw) > MAX_RECORD_BYTES and not raw.endswith(b"\n"):
                while True:  # skip the rest of the oversized line
                    more = f.readline(1 << 20)
                    done += len(more)
                    if not more or more.endswith(b"\n"):
                        break
                yield line_no, None, RecordError(name, line_no, "", too_long()), done
                continue
            if not raw.strip():
                continue
            record, problem = parse_line(raw)
            yield line_no, record, RecordError(name, line_no, "", problem) if problem else None, done


def parse_line(raw: bytes) -> tuple[dict | None, str | None]:
    """One non-blank JSONL line as (record, None), or (None, what is wrong with it)."""
    try:
        record = orjson.loads(raw.rstrip(b"\r\n"))  # without the strip, an error points past the line end
    except orjson.JSONDecodeError as exc:
        return None, _json_problem(raw, exc)
    if not isinstance(record, dict):
        return None, f"expected a JSON object, got {type(record).__name__}"
    return record, None


def too_long() -> str:
    return f"line longer than {MAX_RECORD_BYTES // (1 << 20)} MB; refused unread"


def _json_problem(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not UTF-8 (byte {bad.start}: {raw[bad.start:bad.start + 1]!r})"
    return f"invalid JSON at column {exc.colno}: {exc.msg}"


def json_array_records(path: Path) -> Iterator[tuple[int, dict | None, RecordError | None, int]]:
    """A whole-file JSON array (small files only), numbered by element."""
    try:
        data = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        yield 1, None, RecordError(str(path), 1, "", f"invalid JSON: {exc}"), 0
        return
    for i, record in enumerate(data, start=1):
        if isinstance(record, dict):
            yield i, record, None, 0
        else:
            yield i, None, RecordError(str(path), i, "", "expected a JSON object"), 0


def apply_mapping(row: dict, mapping: dict[str, str] | None) -> dict:
    """Rename columns to the names a format expects (`mapping` is target -> column); the rest stay."""
    if not mapping:
        return row
    out = {target: row.pop(source) for target, source in mapping.items() if source in row}
    out.update(row)
    return out


def _maybe_json(value: object) -> object:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def csv_records(path: Path, mapping: dict[str, str] | None) -> Iterator[tuple[int, dict | None, RecordError | None, int]]:
    """CSV rows as records (header = keys; JSON-looking cells parsed); `mapping` is target -> column."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            for row in reader:
                record = {k: _maybe_json(v) for k, v in row.items() if k is not None}
                yield reader.line_num, apply_mapping(record, mapping), None, 0
    except UnicodeDecodeError as exc:
        yield 0, None, RecordError(str(path), 0, "", f"not UTF-8: {exc}"), 0
    except csv.Error as exc:
        yield 0, None, RecordError(str(path), 0, "", f"bad CSV: {exc}"), 0


def parquet_records(path: Path, mapping: dict[str, str] | None) -> Iterator[tuple[int, dict | None, RecordError | None, int]]:
    """Parquet rows as records, read a batch at a time; rows are numbered from 1."""
    import pyarrow.parquet as pq  # imported here: only parquet imports pay for it

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        yield 0, None, RecordError(str(path), 0, "", f"not a readable Parquet file: {exc}"), 0
        return
    n = 0
    for batch in pf.iter_batches(batch_size=4096):
        for row in batch.to_pylist():
            n += 1
            yield n, apply_mapping({k: _maybe_json(v) for k, v in row.items()}, mapping), None, 0
