"""Stream records out of JSONL, CSV and Parquet files, reporting bad lines with their place."""

from __future__ import annotations

import csv

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
    """A whole-file JSON array (small files only), numbered by element. Parsed by orjson, as JSONL is: the
    same limits (nesting, 64-bit integers, lone surrogates) and the same refusals."""
    raw = path.read_bytes()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        line = raw.count(b"\n", 0, exc.pos) + 1 if exc.pos is not None else 1
        yield line, None, RecordError(str(path), line, "", _json_problem(raw, exc)), 0
        return
    if not isinstance(data, list):
        yield 1, None, RecordError(str(path), 1, "", f"expected a JSON array of objects, got {type(data).__name__}"), 0
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
    """A CSV or Parquet cell that holds JSON (a message list, say) as that JSON; anything else, or JSON
    orjson refuses (too deep, out-of-range numbers), stays text."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _decoded_lines(f, bad: dict[int, str]) -> Iterator[str]:
    """The lines of a binary file as text; a line that is not UTF-8 is noted in `bad` (line: problem) and
    given with replacement characters, so the reader goes on listing problems."""
    for number, raw in enumerate(f, start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad[number] = f"not UTF-8 (byte {exc.start} of the line: {raw[exc.start:exc.start + 1]!r})"
            yield raw.decode("utf-8", "replace")


def csv_records(path: Path, mapping: dict[str, str] | None) -> Iterator[tuple[int, dict | None, RecordError | None, int]]:
    """CSV rows as records (header = keys; JSON-looking cells parsed); `mapping` is target -> column.
    A row is numbered by the line it ends on; a cell may be as long as a JSONL record (16 MB)."""
    csv.field_size_limit(MAX_RECORD_BYTES)
    name, bad = str(path), {}
    with open(path, "rb") as f:
        reader = csv.DictReader(_decoded_lines(f, bad))
        first = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                yield reader.line_num, None, RecordError(name, reader.line_num, "", f"bad CSV: {exc}"), 0
                first = reader.line_num + 1
                continue
            span = [n for n in bad if first <= n <= reader.line_num]
            if span:
                yield span[0], None, RecordError(name, span[0], "", bad[span[0]]), 0
            else:
                record = {k: _maybe_json(v) for k, v in row.items() if k is not None}
                yield reader.line_num, apply_mapping(record, mapping), None, 0
            first = reader.line_num + 1
        if reader.line_num <= 1 and bad:  # only a header, or nothing readable at all
            yield min(bad), None, RecordError(name, min(bad), "", bad[min(bad)]), 0


def parquet_records(path: Path, mapping: dict[str, str] | None) -> Iterator[tuple[int, dict | None, RecordError | None, int]]:
    """Parquet rows as records, read a batch at a time; rows are numbered from 1."""
    import pyarrow.parquet as pq  # imported here: only parquet imports pay for it

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        yield 0, None, RecordError(str(path), 0, "", f"not a readable Parquet file: {exc}"), 0
        return
    n = 0
    batches = pf.iter_batches(batch_size=4096)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as exc:  # a corrupt page: pyarrow raises several types
            yield n + 1, None, RecordError(str(path), n + 1, "", f"unreadable from this row on: {exc}"), 0
            return
        for row in batch.to_pylist():
            n += 1
            yield n, apply_mapping({k: _maybe_json(v) for k, v in row.items()}, mapping), None, 0
