"""Export current labels to files that TRL and `datasets.load_dataset("json", ...)` read directly.

Formats: trl-preference (preference.jsonl), trl-stepwise (stepwise.jsonl), scalar (scalar.jsonl),
seed (seed.jsonl, the import shapes, so import -> export round-trips). Several labels on one item are
aggregated by the policy passed in (see `prefdesk.quality.aggregate.Policy`); a manifest.json
beside the file records counts, what was left out and why, and the file's sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import orjson

from prefdesk import __version__
from prefdesk.store.ids import utc_now
from prefdesk.formats.folder import whole_folder
from prefdesk.formats.parallel import worker_pool
from prefdesk.quality.aggregate import Policy
from prefdesk.store.snapshot import Scope, guideline_versions, sampled_item_ids
from prefdesk.store.connection import read_connection
from prefdesk.store.project import Project
from prefdesk.formats.export_rows import FILES, LABEL_KINDS, ROWS, Aggregation, ExportReport


class _HashingWriter:
    """Writes to a file and into a sha256 as it goes. (Doing both in a thread measured no faster.)"""

    def __init__(self, f):
        self.f = f
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.f.write(data)
        self.digest.update(data)


def _options(fmt: str, conversational: bool) -> dict:
    return {"conversational": conversational} if fmt == "trl-preference" else {}


def _formatted(rows: Iterator[dict], lines: int = 1024) -> Iterator[tuple[bytes, int]]:
    """Rows as JSON lines, `lines` of them joined at a time, with their count."""
    chunk: list[bytes] = []
    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    for row in rows:
        chunk.append(dumps(row, option=newline))
        if len(chunk) >= lines:
            yield b"".join(chunk), len(chunk)
            chunk = []
    if chunk:
        yield b"".join(chunk), len(chunk)


def export_piece(db_path: str, scope: tuple, fmt: str, policy: str, conversational: bool) -> tuple[bytes, dict, int]:
    """Format one range of items (runs in a worker): the piece's bytes, what was left out, rows written."""
    conn = read_connection(db_path)
    try:
        report = ExportReport(fmt, "")
        pieces = list(_formatted(ROWS[fmt](Scope(conn, *scope), Policy(policy), report, **_options(fmt, conversational))))
        return b"".join(data for data, _ in pieces), dict(report.left_out), sum(n for _, n in pieces)
    finally:
        conn.close()


def _export_in_workers(db_path: Path, scope: Scope, fmt: str, policy: str, conversational: bool, workers: int,
                       writer: _HashingWriter, report: ExportReport) -> None:
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
            ahead.append(pool.submit(export_piece, str(db_path), (scope.last_label, lo, hi), fmt, policy, conversational))
            while len(ahead) > workers + 1:
                _take(ahead.popleft(), writer, report)
        while ahead:
            _take(ahead.popleft(), writer, report)


def _take(future: Future, writer: _HashingWriter, report: ExportReport) -> None:
    data, left_out, n = future.result()
    report.written += n
    report.left_out.update(left_out)
    writer.write(data)


def export_workers() -> int:
    """Workers format, this process only writes and hashes (~3 us a row): one worker a core. Not on
    fewer than 4 cores: on 2 (1M labels) two workers took 18-21 s against 17 s in one process, the
    writer and two workers fighting over two cores."""
    cores = os.cpu_count() or 1
    return min(cores, 8) if cores >= 4 else 0


PARALLEL_MIN_LABELS = 50_000  # below this, starting worker processes (~0.3 s) costs more than they save
PIECE_LABELS = 20_000  # labels a worker formats at a time: ~25 MB of output for 1.3 KB rows


def export_dataset(project: Project, fmt: str, out_dir: str | Path, aggregation: Aggregation,
                   conversational: bool = False, workers: int | None = None, version=None) -> ExportReport:
    """Write `fmt`'s file and manifest.json into `out_dir`; the folder changes whole or not at all
    (`formats.folder.whole_folder`).

    The labels exported are those committed when the export starts, or exactly a frozen version's
    (`version`, a `store.versions.Version`: then the files are the same byte for byte whenever it runs,
    rows weighted by the version's layers). With many labels, worker processes format ranges of items
    while this one writes (`workers`: how many; 0 none; None by size and cores). The file is the same
    whatever the number of workers.
    """
    if fmt not in ROWS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(ROWS)}")
    out_dir = Path(out_dir)
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
    with whole_folder(out_dir, (FILES[fmt], "manifest.json")) as staging:
        with open(staging / FILES[fmt], "wb") as f:
            writer = _HashingWriter(f)
            if workers:
                _export_in_workers(project.path, scope, fmt, aggregation.name, conversational, workers, writer, report)
            else:
                rows = ROWS[fmt](scope, aggregation, report, **_options(fmt, conversational))
                if version is not None:
                    rows = _layer_weighted(rows, version)
                for data, n in _formatted(rows):
                    report.written += n
                    writer.write(data)
        if version is None:
            manifest.update({"project": str(project.path), "created_at": utc_now(), "app_version": __version__,
                             "guideline_version_in_force": project.settings["guideline_version"],
                             "aggregation": aggregation.name})
            manifest.pop("guideline_version", None)  # written by earlier PrefDesks: it was the one in force
        else:  # nothing that changes from one run to the next: the manifest too is the same byte for byte
            manifest.update({"version": version.name, "created_at": version.created_at, "aggregation": aggregation.name,
                             "layers": version.layers, "labels_sha256": version.manifest["labels_sha256"]})
        manifest["files"][FILES[fmt]] = {
            "format": fmt, "sha256": writer.digest.hexdigest(), "rows": report.written,
            "left_out": dict(report.left_out), "conversational": conversational,
            # the guidelines the labels behind this file were given under, with how many labels each
            "labels_by_guideline_version": guideline_versions(scope, LABEL_KINDS[fmt], every=fmt == "labels"),
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
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
