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
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from prefdesk.formats.errors import FieldError
from prefdesk.formats import reader
from prefdesk.formats.reader import apply_mapping, parse_line
from prefdesk.formats.registry import BY_NAME
from prefdesk.store.ingest import Prepared, prepare

PIECE_BYTES = 4 << 20  # ~3,000 records of 1.3 KB: big enough to amortise a hand-over, small enough to stream
MIN_BYTES = 32 << 20  # below this, starting the workers (~0.3 s) costs more than they save

# One outcome per record, in file order: (line, parsed as a JSON object?, record id or None,
# (field, problem) or None, prepared items or None, bytes of the file done). Workers send each
# Prepared as a plain tuple of its fields: a NamedTuple pickles through a Python-level __reduce__,
# 8.4 against 5.0 us a record to pickle, 4.0 against 2.7 to unpickle.
Outcome = tuple[int, bool, str | int | None, tuple[str, str] | None, list[Prepared | tuple] | None, int]


def die_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this worker when the process that started it dies, even by kill -9 (Linux:
    PR_SET_PDEATHSIG; elsewhere the pool's own pipes end it at its next read). A worker left alive would
    keep the multiprocessing resource tracker alive with it."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """Spawned worker processes (fork is unsafe beside Qt's and SQLite's threads) that die with this one."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=die_with_parent, initargs=(os.getpid(),))


def worker_count() -> int:
    """Workers beside the importing process, which keeps a core busy writing."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def pieces(path: Path, size: int) -> Iterator[tuple[int, int]]:
    """(offset, length) of consecutive line-aligned pieces of about `size` bytes.

    Each cut is found by reading a little before it: the workers read the pieces, and this process
    (the one that also writes) never reads the file through (that was ~4 s of it at 1M, profiled). A line longer
    than MAX_RECORD_BYTES comes as a piece of length -1 (refused unread, as the serial reader does),
    with the offset after it.
    """
    end = path.stat().st_size
    limit = reader.MAX_RECORD_BYTES
    with open(path, "rb") as f:
        offset = 0
        while offset < end:
            cut = _newline(f, offset + size, offset, backward=True) + 1 if offset + size < end else end
            if cut > offset:
                yield offset, cut - offset
                offset = cut
                continue
            newline = _newline(f, offset, min(end, offset + limit + 1))  # a line longer than a piece
            if newline >= 0 or end - offset <= limit:
                cut = newline + 1 if newline >= 0 else end
                yield offset, cut - offset
            else:
                newline = _newline(f, offset + limit, end)
                cut = newline + 1 if newline >= 0 else end
                yield cut, -1
            offset = cut


def _newline(f, start: int, stop: int, backward: bool = False, block: int = 1 << 16) -> int:
    """The offset of the first b"\\n" in [start, stop) (with `backward`: the last one in [stop, start)), or -1."""
    while start != stop:
        lo, hi = (max(stop, start - block), start) if backward else (start, min(stop, start + block))
        f.seek(lo)
        data = f.read(hi - lo)
        at = data.rfind(b"\n") if backward else data.find(b"\n")
        if at >= 0:
            return lo + at
        if len(data) < hi - lo:
            return -1
        start = lo if backward else hi
    return -1


def convert_piece(path: str, offset: int, length: int, fmt_name: str,
                  mapping: dict[str, str] | None) -> tuple[int, list[Outcome]]:
    """Parse, convert and prepare the records of one piece (runs in a worker). Returns the piece's
    line count and its outcomes, with line numbers counted from the piece's first line as 1."""
    fmt = BY_NAME[fmt_name]
    data = read_piece(path, offset, length)
    gc.disable()  # as in the importing process: millions of acyclic objects, and GC passes cost ~30%
    try:
        return data.count(b"\n"), [
            (line, False, None, problem, None, done) if rec is None else
            record_outcome(line, apply_mapping(rec, mapping) if mapping else rec, fmt, done)
            for line, rec, problem, done in parsed_lines(data, offset)]
    finally:
        gc.enable()


def read_piece(path: str, offset: int, length: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(length)


def parsed_lines(data: bytes, offset: int) -> Iterator[tuple[int, dict | None, tuple[str, str] | None, int]]:
    """(line, record or None, ("", problem) or None, bytes done) of each non-blank line of a piece."""
    done = offset
    for line, raw in enumerate(data.split(b"\n"), start=1):
        done += len(raw) + 1
        if not raw.strip():
            continue
        if len(raw.rstrip(b"\r")) > reader.MAX_RECORD_BYTES:  # only when pieces are larger than the limit
            yield line, None, ("", reader.too_long()), done
            continue
        rec, problem = parse_line(raw)
        yield line, rec, ("", problem) if problem is not None else None, done


def record_outcome(line: int, rec: dict, fmt, done: int) -> Outcome:
    """A parsed record's outcome: its id, and its prepared items or what the converter found wrong."""
    rid = rec.get("id")
    rid = rid if isinstance(rid, (str, int)) else None
    try:
        if fmt.exchange:
            prepared = fmt.convert(rec)  # whole labels, written by store.exchange
        else:
            prepared = [tuple(prepare(item, labels)) for item, labels in fmt.convert(rec)]  # see Outcome
    except FieldError as exc:
        return line, True, rid, (exc.field, exc.message), None, done
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError, RecursionError) as exc:
        # a shape no converter check foresaw: still this record's refusal, with its line, never a crash
        if "Recursion limit" in str(exc):  # orjson writes at most 254 levels of nesting
            return line, True, rid, ("", "a value is nested too deeply (more than 254 levels)"), None, done
        return line, True, rid, ("", f"cannot be read as {fmt.name} ({type(exc).__name__}: {exc})"), None, done
    return line, True, rid, None, prepared, done


def outcomes(path: Path, fmt_name: str, mapping: dict[str, str] | None, workers: int,
             piece=None) -> Iterator[Outcome]:
    """Every record's outcome, in file order, converted by `workers` processes a few pieces ahead. `piece`: the
    function a worker runs on a piece (`convert_piece`'s arguments and result; online feedback has its own)."""
    piece = piece or convert_piece
    with worker_pool(workers) as pool:
        ahead: deque[tuple[int, Future | None]] = deque()
        window = 2 * workers + 1  # bounds memory: results wait here only while the writer catches up
        lines = 0  # before the piece whose results come next
        for offset, length in pieces(path, PIECE_BYTES):
            future = pool.submit(piece, str(path), offset, length, fmt_name, mapping) if length >= 0 else None
            ahead.append((offset, future))
            while len(ahead) > window:
                lines = yield from _results(ahead.popleft(), lines)
        while ahead:
            lines = yield from _results(ahead.popleft(), lines)


def _results(entry: tuple[int, Future | None], lines: int) -> Iterator[Outcome]:
    """A piece's outcomes with their line numbers in the file; returns the lines up to its end."""
    offset, future = entry
    if future is None:  # a line too long to read
        yield lines + 1, False, None, ("", reader.too_long()), None, offset
        return lines + 1
    count, results = future.result()
    for outcome in results:
        yield (outcome[0] + lines,) + outcome[1:]
    return lines + count
