"""Export current labels to folders that TRL and `datasets.load_dataset(folder)` read as they are.

Formats: trl-preference (preference.jsonl), trl-stepwise (stepwise.jsonl), scalar (scalar.jsonl),
seed (seed.jsonl, the import shapes, so import -> export round-trips). Several labels on one item are
aggregated by the policy passed in (see `prefdesk.quality.aggregate.Policy`); a manifest.json
beside the file records counts, what was left out and why, and the file's sha256; the dataset card
(README.md, `formats.card`) names the data files and splits for `datasets` and says where they came from.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import orjson

from prefdesk import __version__
from prefdesk.store.ids import utc_now
from prefdesk.formats.card import CARD_FILE, dataset_card
from prefdesk.formats.folder import whole_folder
from prefdesk.formats.parallel import worker_pool
from prefdesk.formats.parquet import to_parquet
from prefdesk.quality.aggregate import Policy
from prefdesk.store.snapshot import Scope, label_breakdown, sampled_item_ids
from prefdesk.store.connection import read_connection
from prefdesk.store.project import Project
from prefdesk.formats.export_rows import FILES, LABEL_KINDS, ROWS, Aggregation, ExportReport


class _HashingWriter:
    """Writes to a file and into a sha256 as it goes."""

    def __init__(self, f):
        self.f = f
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.f.write(data)
        self.digest.update(data)


class _WriterThread:
    """Writes and hashes the train and test bytes in a thread of its own while the caller formats the next rows
    (a file write and sha256 release the GIL). On two cores an export of 1M rows (1.3 GB) spent 3.4 s of its
    9.3-11.2 s in `write`; overlapped, it takes 7.1-8.0 s. A failed write (a full disk) is raised in the caller at
    its next `put` or at the end, and nothing after it is written."""

    def __init__(self, writers: tuple[_HashingWriter, _HashingWriter]) -> None:
        self.writers = writers
        self.queue: queue.Queue[tuple[bytes, bytes] | None] = queue.Queue(maxsize=8)  # ~10 MB ahead
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="export-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (pieces := self.queue.get()) is not None:
            if self.error is None:
                try:
                    for writer, data in zip(self.writers, pieces):
                        if data:
                            writer.write(data)
                except BaseException as exc:  # handed to the caller
                    self.error = exc

    def put(self, train: bytes, test: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((train, test))

    def __enter__(self) -> _WriterThread:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        self.queue.put(None)
        self.thread.join()
        if exc is None and self.error is not None:
            raise self.error


def _options(fmt: str, conversational: bool) -> dict:
    return {"conversational": conversational} if fmt in ("trl-preference", "trl-unpaired") else {}


def in_test_split(prompt, fraction: float) -> bool:
    """Whether a prompt (text or chat messages) falls in the held-out split: a hash of the prompt alone, so every
    row of one prompt lands on the same side, and a version's export is the same on every run."""
    digest = hashlib.blake2b(orjson.dumps(prompt, option=orjson.OPT_SORT_KEYS), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fraction


def _formatted(rows: Iterator[dict], test_fraction: float = 0.0, lines: int = 1024) -> Iterator[tuple[bytes, int, bytes, int]]:
    """Rows as JSON lines, `lines` of them joined at a time: (train bytes, rows, test bytes, rows)."""
    train: list[bytes] = []
    test: list[bytes] = []
    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    for row in rows:
        line = dumps(row, option=newline)
        (test if test_fraction and in_test_split(row.get("prompt"), test_fraction) else train).append(line)
        if len(train) + len(test) >= lines:
            yield b"".join(train), len(train), b"".join(test), len(test)
            train, test = [], []
    if train or test:
        yield b"".join(train), len(train), b"".join(test), len(test)


def export_piece(db_path: str, scope: tuple, fmt: str, policy: str, conversational: bool,
                 test_fraction: float = 0.0) -> tuple[bytes, bytes, dict, int, int]:
    """Format one range of items (runs in a worker): the train and test bytes, what was left out, rows of each."""
    conn = read_connection(db_path)
    try:
        report = ExportReport(fmt, "")
        pieces = list(_formatted(ROWS[fmt](Scope(conn, *scope), Policy(policy), report, **_options(fmt, conversational)),
                                 test_fraction))
        return (b"".join(p[0] for p in pieces), b"".join(p[2] for p in pieces), dict(report.left_out),
                sum(p[1] for p in pieces), sum(p[3] for p in pieces))
    finally:
        conn.close()


def _export_in_workers(db_path: Path, scope: Scope, fmt: str, policy: str, conversational: bool, workers: int,
                       writers: _WriterThread, report: ExportReport, test_fraction: float) -> None:
    """Split the items into ranges of about PIECE_LABELS labels; workers format them, this process writes
    them in order. Ranges are cut at item ids sampled from the labels, so each holds whole items."""
    step = max(1, scope.last_label // 2000)
    sample = sampled_item_ids(scope, step)
    n_pieces = max(2 * workers, scope.last_label // PIECE_LABELS)
    cuts = sorted({sample[len(sample) * k // n_pieces] for k in range(1, n_pieces)}) if sample else []
    bounds = list(zip([None, *cuts], [*cuts, None]))
    with worker_pool(workers) as pool:
        ahead: deque[Future] = deque()
        for lo, hi in bounds:
            ahead.append(pool.submit(export_piece, str(db_path), (scope.last_label, lo, hi), fmt, policy, conversational,
                                     test_fraction))
            while len(ahead) > workers + 1:
                _take(ahead.popleft(), writers, report)
        while ahead:
            _take(ahead.popleft(), writers, report)


def _take(future: Future, writers: _WriterThread, report: ExportReport) -> None:
    train, test, left_out, n, n_test = future.result()
    report.written += n
    report.test_rows += n_test
    report.left_out.update(left_out)
    writers.put(train, test)


def export_workers() -> int:
    """Workers format, this process only writes and hashes (~3 us a row): one worker a core. Not on
    fewer than 4 cores: on 2 (1M labels) two workers took 18-21 s against 17 s in one process, the
    writer and two workers fighting over two cores."""
    cores = os.cpu_count() or 1
    return min(cores, 8) if cores >= 4 else 0


PARALLEL_MIN_LABELS = 50_000  # below this, starting worker processes (~0.3 s) costs more than they save
PIECE_LABELS = 20_000  # labels a worker formats at a time: ~25 MB of output for 1.3 KB rows


def split_names(fmt: str) -> dict[str, str]:
    """The files of a format in a folder: {'train': preference.jsonl, 'test': preference-test.jsonl, and the
    Parquet copies 'train.parquet' / 'test.parquet'}."""
    stem = FILES[fmt].rsplit(".", 1)[0]
    return {"train": FILES[fmt], "test": f"{stem}-test.jsonl", "train.parquet": f"{stem}.parquet",
            "test.parquet": f"{stem}-test.parquet"}


def export_dataset(project: Project, fmt: str, out_dir: str | Path, aggregation: Aggregation,
                   conversational: bool = False, workers: int | None = None, version=None, test_fraction: float = 0.0,
                   parquet: bool = False) -> ExportReport:
    """Write `fmt`'s file, manifest.json and the dataset card (README.md: `datasets.load_dataset(out_dir)` reads
    it) into `out_dir`; the folder changes whole or not at all (`formats.folder.whole_folder`).

    The labels exported are those committed when the export starts, or exactly a frozen version's
    (`version`, a `store.versions.Version`: then the files are the same byte for byte whenever it runs,
    rows weighted by the version's layers). `test_fraction`: that share of the prompts (by a hash of the
    prompt) goes to a `test` split file instead. `parquet`: a Parquet copy of each split beside its JSONL. With
    many labels, worker processes format ranges of items while this one writes (`workers`: how many; 0 none;
    None by size and cores). The files are the same whatever the number of workers.
    """
    if fmt not in ROWS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(ROWS)}")
    if not 0 <= test_fraction < 1:
        raise ValueError(f"--test-fraction {test_fraction}: give a share of the prompts in [0, 1)")
    if test_fraction and fmt == "labels":
        raise ValueError("--test-fraction: the labels exchange format is for merging and is not split; "
                         "split a training format (trl-preference, trl-stepwise, scalar, seed)")
    out_dir = Path(out_dir)
    names = split_names(fmt)
    report = ExportReport(fmt, str(out_dir / FILES[fmt]))
    scope = Scope.whole(project.conn)
    if version is not None:
        scope = Scope(project.conn, scope.last_label, only=version.label_ids,
                      items=version.frozen["items"] if version.frozen else None)
        workers = 0  # a version's export is read in one pass (its label set is not cut into ranges)
    if type(aggregation) is not Policy or fmt == "labels":
        # a custom policy object (a reliability policy holds the project's decisions) cannot be handed to
        # another process by name; `labels` is in label order,
        # not item order, so it cannot be cut into item ranges
        workers = 0
    elif workers is None:
        workers = export_workers() if scope.last_label >= PARALLEL_MIN_LABELS else 0
    manifest = _previous_manifest(out_dir / "manifest.json")
    for name in names.values():
        manifest["files"].pop(name, None)  # this format's files are all written anew (or dropped) below
    with whole_folder(out_dir, (*names.values(), "manifest.json", CARD_FILE)) as staging:
        with open(staging / names["train"], "wb") as f, open(staging / names["test"], "wb") as g:
            writers = _HashingWriter(f), _HashingWriter(g)
            with _WriterThread(writers) as thread:
                if workers:
                    _export_in_workers(project.path, scope, fmt, aggregation.name, conversational, workers, thread,
                                       report, test_fraction)
                else:
                    rows = ROWS[fmt](scope, aggregation, report, **_options(fmt, conversational))
                    if version is not None:
                        rows = _layer_weighted(rows, version)
                    for train, n, test, n_test in _formatted(rows, test_fraction):
                        report.written += n
                        report.test_rows += n_test
                        thread.put(train, test)
        if version is None:
            manifest.update({"project": str(project.path), "created_at": utc_now(), "app_version": __version__,
                             "guideline_version_in_force": project.settings["guideline_version"],
                             "aggregation": aggregation.name})
            manifest.pop("guideline_version", None)  # written by earlier PrefDesks: it was the one in force
        else:  # nothing that changes from one run to the next: the manifest too is the same byte for byte
            manifest.update({"version": version.name, "created_at": version.created_at, "aggregation": aggregation.name,
                             "layers": version.layers, "labels_sha256": version.manifest["labels_sha256"]})
        manifest["test_fraction"] = test_fraction
        breakdown = label_breakdown(scope, LABEL_KINDS[fmt], every=fmt == "labels",
                                    layers=version.label_layers if version is not None else None)
        config = names["train"].rsplit(".", 1)[0]
        manifest["files"][names["train"]] = {
            "format": fmt, "config": config, "split": "train", "sha256": writers[0].digest.hexdigest(),
            "rows": report.written, "left_out": dict(report.left_out), "conversational": conversational,
            # the guidelines the labels behind this file were given under, with how many labels each
            "labels_by_guideline_version": breakdown["guideline_version"],
            "labels_by_source": breakdown["source"],
            **({"labels_by_layer": breakdown["layer"]} if version is not None else
               {"labels_by_rater_role": breakdown["rater_role"]}),
        }
        if report.test_rows:
            manifest["files"][names["test"]] = {"format": fmt, "config": config, "split": "test", "rows": report.test_rows,
                                                "sha256": writers[1].digest.hexdigest(), "test_fraction": test_fraction}
        else:  # no split asked for, or no prompt fell in it (a tiny export): no empty file for `datasets` to trip on
            (staging / names["test"]).unlink()
        if parquet:
            for split in [s for s, n in (("train", report.written), ("test", report.test_rows)) if n]:
                rows, empty, digest = to_parquet(staging / names[split], staging / names[f"{split}.parquet"])
                manifest["files"][names[f"{split}.parquet"]] = {"format": fmt, "config": config, "split": split,
                                                                 "from": names[split], "rows": rows, "sha256": digest,
                                                                 "empty_dicts_as_null": empty}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        title = project.path.stem + (f", version {version.name}" if version else "")
        (staging / CARD_FILE).write_text(dataset_card(manifest, project.path.name, title, project.settings["license"],
                                                      breakdown), encoding="utf-8")
    return report


def _layer_weighted(rows: Iterator[dict], version) -> Iterator[dict]:
    """A row's weight times the mean weight of the layers of the labels behind it."""
    layers, weights = version.label_layers, version.layers
    for row in rows:
        ids = row.get("label_ids")
        if ids and "weight" in row:
            row["weight"] = round(row["weight"] * sum(weights[layers[i]] for i in ids) / len(ids), 4)
        yield row


def _previous_manifest(path: Path) -> dict:
    """The manifest of earlier exports into the folder, describing only files still there; a missing or
    unreadable one (an export killed by an older PrefDesk) starts afresh rather than failing every export."""
    try:
        manifest = json.loads(path.read_text())
        files = manifest.get("files") if isinstance(manifest, dict) else None
        if not isinstance(files, dict):
            raise ValueError("no files")
    except (OSError, ValueError):
        return {"files": {}}
    manifest["files"] = {name: entry for name, entry in files.items() if (path.parent / name).is_file()}
    return manifest
