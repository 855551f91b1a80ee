"""Import a file into a project: streaming, format auto-detected, all or nothing.

A file with any bad record is refused whole (`ImportRefused`, the project unchanged) unless
`skip_bad` is set; then the good records land and the rejects are written beside the input.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefdesk.domain.key_values import pairs
from prefdesk.formats import parallel
from prefdesk.formats.base import Format
from prefdesk.formats.errors import ImportRefused, RecordError
from prefdesk.store.connection import refuse_project_file
from prefdesk.formats.reader import apply_mapping, csv_records, json_array_records, jsonl_records, parquet_records
from prefdesk.formats.registry import BY_NAME, detect
from prefdesk.store.ids import uuid7
from prefdesk.store.exchange import ExchangeConflict, LabelExchange
from prefdesk.store.ingest import Ingest, finish_batch, start_batch
from prefdesk.store.project import Project

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


@dataclass
class ImportReport:
    path: str
    format: str
    records: int = 0
    items_added: int = 0
    labels_added: int = 0
    duplicate_items: int = 0
    duplicate_labels: int = 0
    second_votes: list = field(default_factory=list)  # (item id, rater) of each vote refused as a rater's second
    relabelled: int = 0  # labels-format votes that superseded their rater's earlier vote on the item
    rejected: list[RecordError] = field(default_factory=list)
    rejects_path: str | None = None
    rules: Any = None  # the pre-filter's RuleReport, when the project has rules

    def summary(self) -> str:
        text = (f"{self.path}: {self.format}, {self.records} records -> {self.items_added} items and "
                f"{self.labels_added} labels added; {self.duplicate_items} items already in the project")
        if self.rejected:
            text += f"; {len(self.rejected)} bad records skipped (see {self.rejects_path})"
        if self.duplicate_labels:
            text += f"; {self.duplicate_labels} labels already there"
        if self.relabelled:
            text += (f"; {self.relabelled} labels re-label an item their rater had voted on (the later vote is current, "
                     "both kept)")
        if self.second_votes:
            shown = ", ".join(f"{rater} on item {item}" for item, rater in self.second_votes[:5])
            more = f" and {len(self.second_votes) - 5} more" if len(self.second_votes) > 5 else ""
            text += (f"; {len(self.second_votes)} labels refused as a rater's second vote on an item (one vote per "
                     f"rater and item; the first is kept): {shown}{more}")
        if self.rules is not None:
            text += f"\n{self.rules.summary()}"
        return text


def parse_mapping(given: list[str] | None) -> dict[str, str] | None:
    """["prompt=question", "response_a=left"] (the CLI's --map, the import dialog's words) as a dict, None when
    empty; ValueError names the pair and the shape (`domain.key_values`)."""
    mapping = dict(pairs(given, "--map", "TARGET=COLUMN"))
    if any(not column for column in mapping.values()):
        raise ValueError("--map: each TARGET=COLUMN names a column, e.g. --map prompt=question response_a=left")
    return mapping or None


def records_of(path: Path, mapping: dict[str, str] | None = None) -> Iterator[tuple[int, dict | None, RecordError | None, int]]:
    """The records of a file, chosen by its extension."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return csv_records(path, mapping)
    if suffix == ".parquet":
        return parquet_records(path, mapping)
    if suffix == ".json":
        return json_array_records(path)
    if not mapping:
        return jsonl_records(path)
    return ((line, apply_mapping(rec, mapping) if rec is not None else None, err, done)
            for line, rec, err, done in jsonl_records(path))


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """An import makes millions of short-lived, acyclic objects; cyclic GC passes over them cost ~30%."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def import_file(
    project: Project,
    path: str | Path,
    format_name: str | None = None,
    skip_bad: bool = False,
    mapping: dict[str, str] | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    labels_as: str | None = None,
    set_meta: dict | None = None,
) -> ImportReport:
    """Import every record of `path`; see the module docstring for what happens to bad ones.

    `labels_as`: "reference" stores the file's labels as references (a public dataset's own answer: compared
    with, exported where the team has no label, never a rater of the item), "votes" as team labels of source
    import; None: reference for a public dataset's format (HH-RLHF, TRL, UltraFeedback, HelpSteer2, PRM800K),
    votes for PrefDesk's own (seed, labels). `set_meta`: metadata for every item this file adds
    (`store.item_meta.parse_assignments`), set in the same transaction and recorded as edits.

    A JSONL file of `parallel.MIN_BYTES` or more is converted by worker processes while this one
    writes; `workers` sets how many (0: none, whatever the size; None: by file size and cores).
    """
    path = Path(path)
    if not path.is_file():
        raise ImportRefused(str(path), [RecordError(str(path), 0, "", "no such file")])
    refuse_project_file(path, project.path)
    if labels_as not in (None, "reference", "votes"):
        raise ImportRefused(str(path), [RecordError(str(path), 0, "--labels-as", f"{labels_as!r}: expected "
                                                    "reference or votes")])
    if format_name is not None and format_name not in BY_NAME:
        raise ImportRefused(str(path), [RecordError(str(path), 0, "--format", f"unknown format {format_name!r}; "
                                                    f"known: {', '.join(BY_NAME)}")])
    total = path.stat().st_size
    fmt = BY_NAME.get(format_name) if format_name else None
    if workers is None:
        workers = parallel.worker_count() if total >= parallel.MIN_BYTES else 0
    if path.suffix.lower() in (".csv", ".parquet", ".json"):
        workers = 0  # JSON Lines only: the workers split the file at line ends
    if workers and fmt is None:
        fmt = _sniff(path, mapping)
    report = ImportReport(str(path), fmt.name if fmt else "?")
    if workers and fmt is not None:
        records = parallel.outcomes(path, fmt.name, mapping, workers)
    else:
        records = _serial_outcomes(path, mapping, fmt, report)
    batch_id = uuid7()
    name = str(path)
    errors: list[RecordError] = []
    good = 0
    seen_ids: dict[str, int] = {}
    # A file that holds more records than the project has items (at 2 KB a record or less) is a large
    # write: indexes rebuilt once at the end, and a rollback journal if nobody else has the file open.
    large = total >= parallel.MIN_BYTES and project.item_count() < total // 2048
    # closing: stops the workers; the file's SHA-256 (1.6 s a GB) is computed on a thread meanwhile (it releases the GIL)
    with (cyclic_gc_paused(), closing(records), ThreadPoolExecutor(1, "sha256") as hashing,
          project.bulk_write(large) as conn):
        digest = hashing.submit(_sha256, path)
        start_batch(conn, batch_id, name, format_name or "?")
        ingest = Ingest(project, batch_id, path.name)
        exchange: LabelExchange | None = None
        for n, (line, parsed, rid, problem, prepared, done) in enumerate(records):
            if progress and n % 4096 == 0:
                progress(done, total)
            report.records += parsed
            if rid is not None:
                first = seen_ids.setdefault(str(rid), line)
                if first != line:
                    errors.append(RecordError(name, line, "id", f"duplicate id {rid!r} (first on line {first})"))
                    continue
            if problem is not None:
                errors.append(RecordError(name, line, *problem))
                continue
            if errors and not skip_bad:
                continue  # keep reading to list every problem, but write nothing more
            if good == 0:  # the format is known from the first good record
                default = "reference" if BY_NAME[report.format].public else "votes"
                ingest.reference = (labels_as or default) == "reference"
            try:
                for p in prepared:
                    if isinstance(p, dict):  # a whole label of the `labels` format
                        exchange = exchange or LabelExchange(project)
                        exchange.add_prepared(p)
                    else:
                        ingest.add_prepared(p)
            except ExchangeConflict as exc:
                errors.append(RecordError(name, line, exc.field, exc.message))
                continue
            good += 1
        if report.records == 0 and not errors:
            errors.append(RecordError(name, 0, "", "the file holds no records"))
        if errors and (not skip_bad or good == 0):
            raise ImportRefused(name, errors)
        ingest.flush()
        if set_meta or project.settings["rules"]:
            added = [i for (i,) in conn.execute("SELECT id FROM items WHERE batch_id = ?", (batch_id,))]
        if set_meta:
            from prefdesk.store.item_meta import set_meta as apply_meta

            apply_meta(project, added, set_meta, by=f"import of {path.name}")
        if project.settings["rules"]:  # the pre-filter, in the import's transaction (after --set-meta: `where`)
            from prefdesk.quality.prefilter import run_rules

            report.rules = run_rules(project, added)
        for c in [ingest.counts] + ([exchange.counts] if exchange else []):
            report.items_added += c.items_added
            report.labels_added += c.labels_added
            report.duplicate_items += c.duplicate_items
            report.duplicate_labels += c.duplicate_labels
        report.second_votes = ingest.counts.second_votes + (exchange.counts.second_votes if exchange else [])
        report.relabelled = exchange.counts.relabelled if exchange else 0
        report.rejected = errors
        finish_batch(conn, batch_id, digest.result(), report.format, report.items_added, report.labels_added,
                     report.duplicate_items)
    if progress:
        progress(total, total)
    if errors:
        report.rejects_path = _write_rejects(path, errors)
    return report


def _serial_outcomes(path: Path, mapping: dict[str, str] | None, fmt: Format | None,
                     report: ImportReport) -> Iterator[parallel.Outcome]:
    """The outcome of each record, converted here; the format is detected on the first good record."""
    for line, rec, err, done in records_of(path, mapping):
        if err is not None:
            yield line, False, None, (err.field, err.message), None, done
            continue
        if fmt is None:
            fmt = detect(rec)
            if fmt is None:
                yield line, True, None, ("", f"unknown record shape (keys: {', '.join(sorted(rec)[:8])}); "
                                             f"name the format with --format"), None, done
                return
            report.format = fmt.name
        yield parallel.record_outcome(line, rec, fmt, done)


def _sniff(path: Path, mapping: dict[str, str] | None, lines: int = 1000) -> Format | None:
    """The format of the first good record among the first `lines`, or None (the serial path then reports why)."""
    for n, (_, rec, _, _) in enumerate(records_of(path, mapping)):
        if rec is not None:
            return detect(rec)
        if n >= lines:
            break
    return None


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _write_rejects(path: Path, errors: list[RecordError]) -> str:
    """Copy the bad lines to FILE.rejects.jsonl, each with its line number and problem."""
    bad = {e.line: e for e in errors if e.line}
    out = path.with_name(path.name + ".rejects.jsonl")
    with open(path, "rb") as src, open(out, "w", encoding="utf-8") as dst:
        for n, raw in enumerate(src, start=1):
            if n in bad:
                e = bad[n]
                dst.write(json.dumps({"line": n, "field": e.field, "error": e.message,
                                      "raw": raw[:10000].decode("utf-8", "replace").rstrip("\n")}) + "\n")
    return str(out)
