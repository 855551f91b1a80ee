"""Import a tool's feedback export into a project: all or nothing, its source detected from the records.

Every signal lands as an event (`feedback_events`, deduplicated by tool and the tool's own id, so importing an export
twice adds nothing); a signal that says which answer is better also lands as an item and a weak label of source
`online-feedback` (`signals.weak_label`), deduplicated by content like any import. A file with a bad record is refused
whole, each bad record named by file, record and field, and the project is unchanged; with `skip_bad` the good
records land and the bad ones are written to FILE.rejects.jsonl.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from prefdesk.feedback import siblings, signals, trends
from prefdesk.feedback.sources import Source, detect, registry
from prefdesk.formats.errors import FieldError, ImportRefused, RecordError
from prefdesk.formats import parallel
from prefdesk.formats.importer import cyclic_gc_paused
from prefdesk.formats.reader import csv_records, jsonl_records, parquet_records
from prefdesk.store.connection import refuse_project_file
from prefdesk.store.ids import uuid7
from prefdesk.store.ingest import Ingest, finish_batch, start_batch
from prefdesk.store.project import Project

CONTAINERS = ("traces", "observations", "runs", "scores", "feedback", "data", "messages")
BATCH = 4000
HELD_BACK = "feedback: weak online labels only, not sent to people (prefdesk feedback backflow)"


@dataclass
class FeedbackReport:
    path: str
    source: str
    records: int = 0
    events_added: int = 0
    duplicate_events: int = 0
    items_added: int = 0
    labels_added: int = 0
    pairs_from_siblings: int = 0
    by_signal: dict = field(default_factory=dict)
    rejected: list[RecordError] = field(default_factory=list)
    rejects_path: str | None = None
    rejected_records: dict = field(default_factory=dict)  # record number: the bad record (None: unreadable)

    def summary(self) -> str:
        signals_text = ", ".join(f"{n} {s}" for s, n in sorted(self.by_signal.items()))
        text = (f"{self.path}: {self.source}, {self.records} records -> {sum(self.by_signal.values())} signals "
                f"({signals_text}); {self.events_added} events, {self.items_added} items and {self.labels_added} "
                "online labels added")
        if self.pairs_from_siblings:
            text += f" ({self.pairs_from_siblings} regenerate-then-keep pairs found among sibling answers)"
        if self.duplicate_events:
            text += f"; {self.duplicate_events} events already in the project"
        if self.rejected:
            text += f"; {len(self.rejected)} bad records skipped (see {self.rejects_path})"
        return text


def records_of(path: Path, places: dict[int, str] | None = None) -> Iterator[tuple[int, dict | None, RecordError | None]]:
    """(record number, record or None, error or None): JSON Lines by line, a JSON array by element, a JSON object of
    lists (`CONTAINERS`: Langfuse's traces and scores, LangSmith's runs and feedback) by element across its lists;
    then `places` gets each record's place in the file, as "FILE scores[3]" (the list and its 1-based element)."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            yield 0, None, RecordError(str(path), 0, "", f"invalid JSON: {exc}")
            return
        if isinstance(data, dict) and any(isinstance(data.get(k), list) for k in CONTAINERS):
            lists = [(k, data[k]) for k in CONTAINERS if isinstance(data.get(k), list)]
            data = [r for _, rows in lists for r in rows]
            if places is not None:
                places.update((n, f"{path} {k}[{i}]") for n, (k, i) in enumerate(
                    ((k, i) for k, rows in lists for i in range(1, len(rows) + 1)), start=1))
        if not isinstance(data, list):
            yield 0, None, RecordError(str(path), 0, "", "expected a JSON array of records, or an object of "
                                                         f"record lists ({', '.join(CONTAINERS)})")
            return
        for n, rec in enumerate(data, start=1):
            yield (n, rec, None) if isinstance(rec, dict) else (n, None, RecordError(str(path), n, "", "expected an object"))
        return
    rows = (csv_records(path, None) if suffix == ".csv" else parquet_records(path, None) if suffix == ".parquet"
            else jsonl_records(path))
    for n, rec, err, _done in rows:
        yield n, rec, err


def source_of(path: str | Path) -> Source | None:
    """The feedback source a file's first records match, or None (a dataset for `formats.importer`, say)."""
    path = Path(path)
    if not path.is_file():
        return None
    return detect([r for _, r, _ in itertools.islice(records_of(path), 50) if r is not None])


def import_feedback(project: Project, path: str | Path, source_name: str | None = None, skip_bad: bool = False,
                    progress: Callable[[int, int], None] | None = None, workers: int | None = None) -> FeedbackReport:
    """Import every record of `path` (see the module docstring); `source_name` names the tool instead of detecting it.
    A JSON Lines file of `parallel.MIN_BYTES` or more from a record-at-a-time source is converted by worker
    processes while this one writes (`workers`: how many; 0 none; None by size and cores)."""
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise ImportRefused(name, [RecordError(name, 0, "", "no such file")])
    refuse_project_file(path, project.path)
    by_name = {s.name: s for s in registry()}
    if source_name is not None and source_name not in by_name:
        raise ImportRefused(name, [RecordError(name, 0, "--source", f"unknown source {source_name!r}; known: "
                                               f"{', '.join(by_name)}")])
    places: dict[int, str] = {}
    raw = records_of(path, places)
    head = list(itertools.islice(raw, 50))
    source = by_name.get(source_name) if source_name else detect([r for _, r, _ in head if r is not None])
    if source is None:
        keys = next((sorted(r)[:8] for _, r, _ in head if r is not None), [])
        problem = head[0][2].message if head and head[0][2] else (
            f"not a feedback export PrefDesk knows (keys: {', '.join(keys)}); known: {', '.join(by_name)}")
        raise ImportRefused(name, [RecordError(name, head[0][0] if head else 0, "", problem)])
    report = FeedbackReport(name, source.name)
    implicit = project.settings["feedback_implicit"]
    total = path.stat().st_size
    if workers is None:
        workers = parallel.worker_count() if total >= parallel.MIN_BYTES else 0
    if workers and source.record is not None and path.suffix.lower() not in (".json", ".csv", ".parquet"):
        outcomes = parallel.outcomes(path, source.name, implicit, workers, piece=convert_piece)
    else:
        outcomes = _serial(source, itertools.chain(head, raw), implicit)
    errors: list[RecordError] = []
    batch_id = uuid7()
    large = total >= parallel.MIN_BYTES and project.item_count() < total // 2048
    with cyclic_gc_paused(), closing(outcomes), project.bulk_write(large) as conn:
        start_batch(conn, batch_id, name, f"feedback:{source.name}")
        if large:  # built again, sorted, before the commit: a third of the time of a big import
            conn.execute("DROP INDEX feedback_events_at")
            conn.execute("DROP INDEX feedback_events_conversation")
        ingest = Ingest(project, batch_id, path.name)
        ingest.held_back = HELD_BACK  # people are not served online feedback's items until a lead sends them (backflow)
        last_event = conn.execute("SELECT COALESCE(MAX(id), 0) FROM feedback_events").fetchone()[0]
        rows: list[tuple] = []
        touched: set[tuple[str, str]] = set()
        counts = report.by_signal
        for n, (number, _parsed, _, problem, entries, done) in enumerate(outcomes):
            report.records += 1
            if progress and n % 4096 == 0:
                progress(done, total)
            if problem is not None:
                errors.append(RecordError(places.get(number, name), number, *problem))
                report.rejected_records[number] = entries  # the record itself, for the rejects file
                continue
            if errors and not skip_bad:
                continue  # keep reading to name every bad record, write nothing more
            for signal, regenerated, event, item in entries:
                if item is not None:
                    ingest.add_prepared(item)
                rows.append((batch_id, *event))
                counts[signal] = counts.get(signal, 0) + 1
                if regenerated is not None:
                    touched.add(regenerated)
            if len(rows) >= BATCH:
                _write_events(conn, rows, report)
        if report.records == 0 and not errors:
            errors.append(RecordError(name, 0, "", "the file holds no records"))
        if errors and (not skip_bad or report.records == len(errors)):
            raise ImportRefused(name, sorted(errors, key=lambda e: e.line))
        _write_events(conn, rows, report)
        if large:
            conn.execute("CREATE INDEX feedback_events_at ON feedback_events(at)")
            conn.execute("CREATE INDEX feedback_events_conversation ON feedback_events(tool, conversation_id, parent_id)")
        trends.add_counts(conn, last_event)
        report.pairs_from_siblings = siblings.pair_regenerations(conn, ingest, touched)
        ingest.flush()
        report.items_added, report.labels_added = ingest.counts.items_added, ingest.counts.labels_added
        finish_batch(conn, batch_id, "", f"feedback:{source.name}", report.items_added, report.labels_added,
                     ingest.counts.duplicate_items)
    if progress:
        progress(total, total)
    if errors:
        report.rejected = sorted(errors, key=lambda e: e.line)
        report.rejects_path = _write_rejects(path, report.rejected, report.rejected_records)
    return report


def entry(sig: signals.Signal, implicit: dict[str, str]) -> tuple:
    """What the writer needs of a signal: (its name, its (tool, conversation) when it is a regenerate to pair across
    events, its event row, its item prepared or None)."""
    event, item = signals.prepared(sig, implicit)
    regenerated = (sig.tool, sig.conversation_id) if sig.signal == "regenerate" and len(sig.answers) == 1 \
        and sig.conversation_id else None
    return sig.signal, regenerated, event, item


def _serial(source: Source, records, implicit: dict[str, str]) -> Iterator[tuple]:
    """The outcomes (`formats.parallel.Outcome`'s shape; a bad record itself in place of its rows) converted here."""
    kept: dict[int, dict] = {}
    unreadable: list[RecordError] = []

    def good() -> Iterator[tuple[int, dict]]:
        for number, rec, err in records:
            if err is not None:
                unreadable.append(err)
            else:
                kept[number] = rec
                yield number, rec

    def unreadable_so_far() -> Iterator[tuple]:
        while unreadable:
            err = unreadable.pop(0)
            yield err.line, False, None, (err.field, err.message), None, 0
    for number, outcome in source.convert(good()):
        yield from unreadable_so_far()
        rec = kept.pop(number, None)
        if isinstance(outcome, FieldError):
            yield number, True, None, (outcome.field, outcome.message), rec, 0
        else:
            yield number, True, None, None, [entry(sig, implicit) for sig in outcome], 0
    yield from unreadable_so_far()


def convert_piece(path: str, offset: int, length: int, source_name: str, implicit: dict[str, str]) -> tuple[int, list]:
    """A piece of a JSON Lines file converted in a worker (see `formats.parallel.outcomes`)."""
    record = next(s for s in registry() if s.name == source_name).record
    data = parallel.read_piece(path, offset, length)
    out = []
    for line, rec, problem, done in parallel.parsed_lines(data, offset):
        if rec is None:
            out.append((line, False, None, problem, None, done))
            continue
        try:
            out.append((line, True, None, None, [entry(sig, implicit) for sig in record(rec)], done))
        except FieldError as exc:
            out.append((line, True, None, (exc.field, exc.message), rec, done))
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
            out.append((line, True, None, ("", f"cannot be read as {source_name} ({type(exc).__name__}: {exc})"), rec,
                        done))
    return data.count(b"\n"), out


def _write_events(conn, rows: list[tuple], report: FeedbackReport) -> None:
    if not rows:
        return
    before = conn.total_changes
    conn.executemany(signals.EVENT_INSERT, rows)
    added = conn.total_changes - before
    report.events_added += added
    report.duplicate_events += len(rows) - added
    rows.clear()


def _write_rejects(path: Path, errors: list[RecordError], records: dict[int, dict]) -> str:
    out = path.with_name(path.name + ".rejects.jsonl")
    with open(out, "w", encoding="utf-8") as f:
        for e in errors:
            f.write(json.dumps({"record": e.line, "field": e.field, "error": e.message,
                                "raw": records.get(e.line)}, default=str) + "\n")
    return str(out)
