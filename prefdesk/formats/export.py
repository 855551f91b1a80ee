"""Export current labels to files that TRL and `datasets.load_dataset("json", ...)` read directly.

Formats: trl-preference (preference.jsonl), trl-stepwise (stepwise.jsonl), scalar (scalar.jsonl),
seed (seed.jsonl, the import shapes, so import -> export round-trips). Several labels on one item are
aggregated by the policy passed in (see `prefdesk.quality.aggregate.Policy`); a manifest.json
beside the file records counts, what was left out and why, and the file's sha256.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import orjson

from prefdesk import __version__
from prefdesk.domain import Label, LabelKind
from prefdesk.store.ids import utc_now
from prefdesk.store.project import LABEL_COLUMNS, Project, label_from_row

FILES = {"trl-preference": "preference.jsonl", "trl-stepwise": "stepwise.jsonl", "scalar": "scalar.jsonl", "seed": "seed.jsonl"}
_DIM_SIGN = {"A": 1, "B": -1, "tie": 0, "both_bad": 0}


class Aggregation(Protocol):
    name: str

    def pairwise(self, labels: list[Label]) -> tuple[dict | None, str]: ...
    def ranking(self, labels: list[Label]) -> list: ...
    def scalar(self, labels: list[Label]) -> dict: ...
    def process(self, labels: list[Label]) -> tuple[list[int] | None, str]: ...


@dataclass
class ExportReport:
    format: str
    path: str
    written: int = 0
    left_out: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        text = f"{self.format}: {self.written} rows written to {self.path}"
        if self.left_out:
            text += "; left out: " + ", ".join(f"{n} {why}" for why, n in self.left_out.most_common())
        return text


class LabelledItem(NamedTuple):
    """An item with its current labels, oldest first (a NamedTuple: an export makes one per item)."""

    id: str
    kind: str
    prompt: str
    prompt_messages: list | None
    meta_json: str  # the stored metadata, passed through to the output without a parse
    candidates: list[tuple[str, list | None]]
    steps: list[tuple[str, str | None]]
    labels: list[Label]

    @property
    def meta(self) -> dict:
        return orjson.loads(self.meta_json)

    @property
    def meta_fragment(self) -> orjson.Fragment:
        return orjson.Fragment(self.meta_json)


def labelled_items(project: Project, kinds: tuple[str, ...]) -> Iterator[LabelledItem]:
    """Every item of the given kinds that has current labels, with its candidates, in id order (one scan).

    Superseded labels are dropped here against a set read first (edits are few): a third of the
    cost of filtering them in SQL row by row. The scan runs in a reader thread, which overlaps
    SQLite's page work (done without the GIL) with the caller's formatting.
    """
    conn = project.conn
    superseded = {r[0] for r in conn.execute("SELECT supersedes FROM labels WHERE supersedes IS NOT NULL")}
    marks = ",".join("?" * len(kinds))
    rows = _prefetched(conn.execute(
        f"SELECT i.kind, i.prompt, i.prompt_messages, i.meta, i.candidates, i.steps, "
        f"{', '.join('l.' + c.strip() for c in LABEL_COLUMNS.split(','))} "
        f"FROM labels l JOIN items i ON i.id = l.item_id WHERE i.kind IN ({marks}) ORDER BY l.item_id",
        kinds,
    ))
    current: LabelledItem | None = None
    for row in rows:
        if superseded and row[6] in superseded:
            continue
        label = label_from_row(row[6:])
        if current is not None and current.id == label.item_id:
            current.labels.append(label)
            continue
        if current is not None:
            yield _oldest_first(current)
        current = LabelledItem(
            label.item_id, row[0], row[1], orjson.loads(row[2]) if row[2] else None, row[3],
            [(c["text"], c.get("messages")) for c in orjson.loads(row[4])],
            [(s["text"], s.get("state")) for s in orjson.loads(row[5])] if row[5] else [], [label],
        )
    if current is not None:
        yield _oldest_first(current)


def _oldest_first(item: LabelledItem) -> LabelledItem:
    """The index hands an item's labels over by rater; policies read them in time order (UUIDv7 ids)."""
    if len(item.labels) > 1:
        item.labels.sort(key=attrgetter("id"))
    return item


def _prefetched(cursor, size: int = 1024) -> Iterator[tuple]:
    """The cursor's rows, fetched `size` at a time by a thread a few batches ahead of the caller."""
    batches: queue.Queue = queue.Queue(maxsize=4)

    def fetch() -> None:
        try:
            while batch := cursor.fetchmany(size):
                batches.put(batch)
            batches.put(None)
        except BaseException as exc:  # handed to the consumer, raised there
            batches.put(exc)

    thread = threading.Thread(target=fetch, name="export-reader", daemon=True)
    thread.start()
    try:
        while (batch := batches.get()) is not None:
            if isinstance(batch, BaseException):
                raise batch
            yield from batch
    finally:
        while thread.is_alive():  # a consumer that stops early must not leave the reader blocked on put()
            try:
                batches.get(timeout=0.05)
            except queue.Empty:
                pass
        thread.join()


def _prompt(item: LabelledItem, conversational: bool) -> Any:
    if not conversational:
        return item.prompt
    return item.prompt_messages or [{"role": "user", "content": item.prompt}]


def _response(item: LabelledItem, pos: int, conversational: bool) -> Any:
    text, msgs = item.candidates[pos]
    if not conversational:
        return text
    return msgs or [{"role": "assistant", "content": text}]


def preference_rows(project: Project, agg: Aggregation, report: ExportReport, conversational: bool = False) -> Iterator[dict]:
    """(prompt, chosen, rejected) rows from pairwise, ranking and rewrite labels."""
    for item in labelled_items(project, ("pairwise", "ranking", "scalar", "process")):
        labels = item.labels
        if len(labels) == 1 and labels[0].kind is LabelKind.PAIRWISE:
            by_kind = {"pairwise": labels}  # most items: one pairwise label
        else:
            by_kind = {}
            for lab in labels:
                by_kind.setdefault(lab.kind.value, []).append(lab)
        base = {"prompt": _prompt(item, conversational)}
        pairwise = by_kind.get("pairwise", [])
        if pairwise and len(item.candidates) >= 2:
            out, why = agg.pairwise(pairwise)
            if out is None:
                report.left_out[why] += 1
            elif out["verdict"] in ("tie", "both_bad"):
                report.left_out[out["verdict"].replace("_", "-")] += 1
            else:
                good, bad = (0, 1) if out["verdict"] == "A" else (1, 0)
                sign = 1 if good == 0 else -1
                dims = out["dims"]
                yield {**base, "chosen": _response(item, good, conversational), "rejected": _response(item, bad, conversational),
                       "margin": out["margin"], "weight": out["weight"],
                       "dims": {d: _DIM_SIGN[v] * sign if _DIM_SIGN[v] else 0 for d, v in dims.items()} if dims else {},
                       "reason_tags": out["reason_tags"], "meta": item.meta_fragment, "label_ids": out["label_ids"]}
            if len(by_kind) == 1:
                continue
        if by_kind.get("ranking"):
            pairs = agg.ranking(by_kind["ranking"])
            if not pairs:
                report.left_out["ranking without a majority pair"] += 1
            for better, worse, weight, margin, ids in pairs:
                yield {**base, "chosen": _response(item, better, conversational), "rejected": _response(item, worse, conversational),
                       "margin": margin, "weight": weight, "dims": {}, "reason_tags": [],
                       "meta": {**item.meta, "pair": [better, worse], "from": "ranking"}, "label_ids": ids}
        for lab in by_kind.get("rewrite", []):
            orig, new = lab.payload["original"], lab.payload["rewrite"]
            yield {**base, "chosen": _response(item, new, conversational), "rejected": _response(item, orig, conversational),
                   "margin": 1.0, "weight": 1.0, "dims": {}, "reason_tags": ["human rewrite"],
                   "meta": {**item.meta, "from": "rewrite"}, "label_ids": [lab.id]}


def stepwise_rows(project: Project, agg: Aggregation, report: ExportReport) -> Iterator[dict]:
    """TRL stepwise rows; a step rated 0 counts as correct, and steps after the first error are cut."""
    for item in labelled_items(project, ("process",)):
        labels = [lab for lab in item.labels if lab.kind.value == "process"]
        if not labels:
            continue
        ratings, why = agg.process(labels)
        if ratings is None:
            report.left_out[why] += 1
            continue
        steps = [text for text, _ in item.steps][: len(ratings)]
        if -1 in ratings:
            cut = ratings.index(-1) + 1
            steps, ratings = steps[:cut], ratings[:cut]
        yield {"prompt": item.prompt, "completions": steps, "labels": [r >= 0 for r in ratings],
               "meta": {**item.meta, "ratings": ratings}, "label_ids": [lab.id for lab in labels]}


def scalar_rows(project: Project, agg: Aggregation, report: ExportReport) -> Iterator[dict]:
    for item in labelled_items(project, ("scalar",)):
        labels = [lab for lab in item.labels if lab.kind.value == "scalar"]
        if not labels:
            continue
        out = agg.scalar(labels)
        yield {"prompt": item.prompt, "response": item.candidates[0][0], "score": out["score"], "dims": out["dims"],
               "meta": item.meta_fragment, "label_ids": out["label_ids"]}


def seed_rows(project: Project, agg: Aggregation, report: ExportReport) -> Iterator[dict]:
    """The spec's four shapes; pairwise labels with dimensions or tags become pairwise_multi_dim."""
    for item in labelled_items(project, ("pairwise", "scalar", "process")):
        prompt = item.prompt_messages or item.prompt
        labels = [lab for lab in item.labels if lab.kind.value == item.kind]
        if not labels:
            continue
        if item.kind == "pairwise":
            out, why = agg.pairwise(labels)
            if out is None:
                report.left_out[why] += 1
                continue
            (a, _), (b, _) = item.candidates[:2]
            if out["dims"] or out["reason_tags"] or out["verdict"] not in ("A", "B"):
                judgement = {"overall_winner": out["verdict"], "dims": out["dims"], "reason_tags": out["reason_tags"]}
                yield {"type": "pairwise_multi_dim", "prompt": prompt, "candidates": {"A": a, "B": b},
                       "judgement": judgement, "meta": item.meta}
            else:
                winner, loser = (a, b) if out["verdict"] == "A" else (b, a)
                yield {"type": "pairwise", "prompt": prompt, "winner": winner, "loser": loser, "meta": item.meta}
        elif item.kind == "scalar":
            score = agg.scalar(labels)["score"]
            yield {"type": "scalar", "prompt": prompt, "response": item.candidates[0][0],
                   "score": int(score) if float(score).is_integer() else score, "meta": item.meta}
        else:
            ratings, why = agg.process(labels)
            if ratings is None:
                report.left_out[why] += 1
                continue
            steps = item.steps
            yield {"type": "process", "prompt": prompt,
                   "steps": [{"state": state, "output": text, "reward": r} for (text, state), r in zip(steps, ratings)],
                   "meta": item.meta}


class _HashingWriter:
    """Writes chunks to a file and into a sha256 in a thread: both release the GIL on large buffers,
    so they run beside the formatting instead of after it."""

    def __init__(self, f):
        self.digest = hashlib.sha256()
        self._chunks: queue.Queue = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(f,), name="export-writer", daemon=True)
        self._thread.start()

    def _run(self, f) -> None:
        while (data := self._chunks.get()) is not None:
            if self._error is None:
                try:
                    f.write(data)
                    self.digest.update(data)
                except BaseException as exc:  # raised in the caller by close()
                    self._error = exc

    def write(self, chunk: list[bytes]) -> None:
        if self._error is not None:
            raise self._error
        self._chunks.put(b"".join(chunk))
        chunk.clear()

    def close(self) -> None:
        self._chunks.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


ROWS: dict[str, Callable[..., Iterator[dict]]] = {
    "trl-preference": preference_rows, "trl-stepwise": stepwise_rows, "scalar": scalar_rows, "seed": seed_rows,
}


def export_dataset(project: Project, fmt: str, out_dir: str | Path, aggregation: Aggregation,
                   conversational: bool = False) -> ExportReport:
    """Write `fmt`'s file and manifest.json into `out_dir`; the file appears whole or not at all."""
    if fmt not in ROWS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(ROWS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / FILES[fmt]
    report = ExportReport(fmt, str(target))
    kwargs = {"conversational": conversational} if fmt == "trl-preference" else {}
    tmp = target.with_suffix(".jsonl.partial")
    chunk: list[bytes] = []
    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    with open(tmp, "wb") as f:
        writer = _HashingWriter(f)
        try:
            for row in ROWS[fmt](project, aggregation, report, **kwargs):
                chunk.append(dumps(row, option=newline))
                if len(chunk) >= 1024:
                    report.written += len(chunk)
                    writer.write(chunk)
            report.written += len(chunk)
            writer.write(chunk)
        finally:
            writer.close()
    tmp.replace(target)
    manifest_path = out_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"files": {}}
    manifest.update({"project": str(project.path), "created_at": utc_now(), "app_version": __version__,
                     "guideline_version": project.settings["guideline_version"], "aggregation": aggregation.name})
    manifest.setdefault("files", {})[target.name] = {
        "format": fmt, "sha256": writer.digest.hexdigest(), "rows": report.written,
        "left_out": dict(report.left_out), "conversational": conversational,
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return report
