"""Big JSONL files are parsed and converted in worker processes while the importing process writes.

An import spends its time in three parts of similar size: parsing JSON, converting records into
items and labels (and those into column values: `prefdesk.store.ingest.prepare`), and SQLite
writing the rows. The first two need no database, so for a big file worker processes do them a
piece of lines at a time (processes, not threads: under the GIL threads would take turns). The
results come back in file order, so line numbers, duplicate ids, "first record wins" and the
error list are exactly those of the serial path in `importer.py`.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import orjson

from prefdesk.formats.errors import FieldError
from prefdesk.formats import reader
from prefdesk.formats.reader import apply_mapping, json_problem
from prefdesk.formats.registry import BY_NAME
from prefdesk.store.ingest import Prepared, prepare

PIECE_BYTES = 4 << 20  # ~3,000 records of 1.3 KB: big enough to amortise a hand-over, small enough to stream
MIN_BYTES = 32 << 20  # below this, starting the workers (~0.3 s) costs more than they save

# One outcome per record, in file order: (line, parsed as a JSON object?, record id or None,
# (field, problem) or None, prepared items or None, bytes of the file done).
Outcome = tuple[int, bool, str | int | None, tuple[str, str] | None, list[Prepared] | None, int]


def worker_count() -> int:
    """Workers beside the importing process, which keeps a core busy writing."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def pieces(path: Path, size: int) -> Iterator[tuple[int, int, int]]:
    """(offset, length, first line number) of consecutive line-aligned pieces of about `size` bytes.

    A line longer than MAX_RECORD_BYTES comes as a piece of length -1 (refused unread, as the
    serial reader does), with the offset after it.
    """
    with open(path, "rb") as f:
        offset, line = 0, 1
        while block := f.read(size):
            cut = block.rfind(b"\n") + 1
            if cut == 0 and len(block) == size:  # a line longer than a piece: read to its end
                rest = f.readline(reader.MAX_RECORD_BYTES + 1 - len(block))
                if len(block) + len(rest) > reader.MAX_RECORD_BYTES and not rest.endswith(b"\n"):
                    while (more := f.readline(1 << 20)) and not more.endswith(b"\n"):
                        pass
                    yield f.tell(), -1, line
                else:
                    yield offset, len(block) + len(rest), line
                offset, line = f.tell(), line + 1
                continue
            cut = cut or len(block)  # the last line, without a newline
            yield offset, cut, line
            line += block.count(b"\n", 0, cut)
            offset += cut
            f.seek(offset)


def convert_piece(path: str, offset: int, length: int, first_line: int, fmt_name: str,
                  mapping: dict[str, str] | None) -> list[Outcome]:
    """Parse, convert and prepare the records of one piece (runs in a worker)."""
    fmt = BY_NAME[fmt_name]
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(length)
    gc.disable()  # as in the importing process: millions of acyclic objects, and GC passes cost ~30%
    try:
        return _convert_lines(data, offset, first_line, fmt, mapping)
    finally:
        gc.enable()


def _convert_lines(data: bytes, offset: int, first_line: int, fmt, mapping: dict[str, str] | None) -> list[Outcome]:
    out: list[Outcome] = []
    done = offset
    for line, raw in enumerate(data.split(b"\n"), start=first_line):
        done += len(raw) + 1
        if not raw.strip():
            continue
        try:
            rec = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            out.append((line, False, None, ("", json_problem(raw, exc)), None, done))
            continue
        if not isinstance(rec, dict):
            out.append((line, False, None, ("", f"expected a JSON object, got {type(rec).__name__}"), None, done))
            continue
        if mapping:
            rec = apply_mapping(rec, mapping)
        rid = rec.get("id")
        rid = rid if isinstance(rid, (str, int)) else None
        try:
            prepared = [prepare(item, labels) for item, labels in fmt.convert(rec)]
        except FieldError as exc:
            out.append((line, True, rid, (exc.field, exc.message), None, done))
            continue
        out.append((line, True, rid, None, prepared, done))
    return out


def outcomes(path: Path, fmt_name: str, mapping: dict[str, str] | None, workers: int) -> Iterator[Outcome]:
    """Every record's outcome, in file order, converted by `workers` processes a few pieces ahead."""
    context = multiprocessing.get_context("spawn")  # fork is unsafe beside Qt's and SQLite's threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        ahead: deque[tuple[int, int, Future | None]] = deque()
        window = 2 * workers + 1  # bounds memory: results wait here only while the writer catches up
        for offset, length, line in pieces(path, PIECE_BYTES):
            if length < 0:
                ahead.append((line, offset, None))
            else:
                ahead.append((line, offset, pool.submit(convert_piece, str(path), offset, length, line, fmt_name, mapping)))
            while len(ahead) > window:
                yield from _results(ahead.popleft())
        while ahead:
            yield from _results(ahead.popleft())


def _results(entry: tuple[int, int, Future | None]) -> list[Outcome]:
    line, offset, future = entry
    if future is None:
        return [(line, False, None, ("", reader.too_long()), None, offset)]
    return future.result()
