"""Bulk writing of imported items and labels: batched, deduplicated by content, one transaction.

Two steps: `prepare` turns an item and its labels into column values and needs no database (import
workers run it); `Ingest` gives them ids and writes them. The caller owns the transaction
(`Project.bulk_write()`), so a refused import leaves nothing behind. Items are deduplicated by content
(a hash finds the candidates, the content decides); a label is added to an item that was already in
the project only if that rater has no identical label there, so importing a file twice adds nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import NamedTuple

import orjson

from prefdesk import __version__
from prefdesk.domain import LabelSource, NewItem, NewLabel, RaterRole
from prefdesk.store.ids import content_hash, stored_content, utc_now, uuid7, uuid7_block
from prefdesk.store.overlap import NOT_VOTES, recount_raters
from prefdesk.store.project import Project
from prefdesk.store.rows import candidates_to_json, steps_to_json
from prefdesk.store.votes import SUPERSEDED, is_vote, vote_sql

BATCH = 4000
# the role of a rater an import creates, by the source of their labels: a person unless a judge or a product's users
_SOURCE_ROLES = {LabelSource.MODEL_JUDGE.value: RaterRole.MODEL_JUDGE, LabelSource.ONLINE_FEEDBACK.value: RaterRole.END_USERS}
REFERENCE = LabelSource.REFERENCE.value


class Prepared(NamedTuple):
    """An item and its labels turned into column values, with no ids yet and no database needed:
    this is the part of an import that parallel workers do (`prefdesk.formats.parallel`)."""

    content_hash: int
    kind: str
    prompt: str
    prompt_messages: str | None
    meta: str
    scenario: str | None
    risk_level: str | None
    bucket: str | None
    is_gold: int
    priority: float
    source: str | None
    candidates: str
    steps: str | None
    n_raters: int
    labels: list[tuple]  # (rater name, source, kind, payload, created_at, duration_ms, confidence)


def prepare(item: NewItem, labels: list[NewLabel]) -> Prepared:
    # `_value_` rather than `.value`: the property is a Python-level descriptor, ~0.4 us a read here
    kind = item.kind._value_
    meta = item.meta or {}
    return Prepared(
        content_hash(kind, item.prompt, [c.text for c in item.candidates] + [s.text for s in item.steps]),
        kind, item.prompt, _dumps_or_none(item.prompt_messages), orjson.dumps(meta).decode() if meta else "{}",
        _str(meta.get("scenario")), _str(meta.get("risk_level")), _str(meta.get("bucket")),
        int(item.is_gold), item.priority, item.source, candidates_to_json(item.candidates), steps_to_json(item.steps),
        len({lab.rater_name for lab in labels if lab.source._value_ not in NOT_VOTES}),
        [(lab.rater_name, lab.source._value_, lab.kind._value_, _dumps(lab.payload), lab.created_at,
          lab.duration_ms, lab.confidence) for lab in labels],
    )


def start_batch(conn, batch_id: str, path: str, format_name: str) -> None:
    """Record an import as it starts (inside its transaction: a refused import leaves no batch)."""
    conn.execute("INSERT INTO import_batches VALUES (?, ?, '', ?, ?, 0, 0, 0)", (batch_id, path, format_name, utc_now()))


def finish_batch(conn, batch_id: str, sha256: str, format_name: str, items_added: int, labels_added: int,
                 duplicates: int) -> None:
    conn.execute("UPDATE import_batches SET sha256 = ?, format = ?, items_added = ?, labels_added = ?, duplicates = ? "
                 "WHERE id = ?", (sha256, format_name, items_added, labels_added, duplicates, batch_id))


@dataclass
class IngestCounts:
    items_added: int = 0
    labels_added: int = 0
    duplicate_items: int = 0
    duplicate_labels: int = 0
    # (item id, rater name) of each vote refused as a rater's second on an item (`store.votes`)
    second_votes: list = field(default_factory=list)
    relabelled: int = 0  # labels-format votes that superseded the rater's earlier vote on the item (later by their clock)


def _dumps(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _dumps_or_none(value: object) -> str | None:
    return orjson.dumps(value).decode() if value else None


class Ingest:
    """Collects (item, labels) pairs and writes them a batch at a time."""

    def __init__(self, project: Project, batch_id: str | None, source: str):
        self.project = project
        self.conn = project.conn
        self.batch_id = batch_id
        self.source = source
        self.counts = IngestCounts()
        self._pending: list[Prepared] = []
        self._raters: dict[str, str] = {r.name: r.id for r in project.raters()}
        self._overlap = int(project.settings["overlap"])
        self._version = __version__
        self._recount: list[str] = []
        # True: the file's labels are references (`LabelSource.REFERENCE`), not votes; set by the importer once
        # it knows the format (`--labels-as`, by default reference for a public dataset's format)
        self.reference = False
        # why the items this import adds are held back from people (`items.held_back`), or None: served
        self.held_back: str | None = None
        self._seen: set[int] = set()  # content hashes of the items this import added
        self._probe_all = self.conn.execute("SELECT EXISTS (SELECT 1 FROM items)").fetchone()[0]

    def add(self, item: NewItem, labels: list[NewLabel]) -> None:
        self.add_prepared(prepare(item, labels))

    def add_prepared(self, prepared: Prepared | tuple) -> None:
        self._pending.append(prepared)
        if len(self._pending) >= BATCH:
            self.flush()

    def _rater_id(self, name: str, source: str) -> str:
        rid = self._raters.get(name)
        if rid is None:
            role = _SOURCE_ROLES.get(source, RaterRole.ANNOTATOR)
            rid = uuid7()
            self.conn.execute(
                "INSERT INTO raters (id, name, role, created_at, notes) VALUES (?, ?, ?, ?, ?)",
                (rid, name, role.value, utc_now(), f"created by import of {self.source}"),
            )
            self._raters[name] = rid
        return rid

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        known = self._known_items([p[0] for p in pending])
        ids = iter(uuid7_block(len(pending) + sum(len(p[-1]) for p in pending)))
        now, batch_id, source, version, overlap = utc_now(), self.batch_id, self.source, self._version, self._overlap
        held = _text(self.held_back)
        rater_id, seen = self._rater_id, self._seen
        item_rows, label_rows, old_item_labels = [], [], []
        for p in pending:  # unpacked: a plain tuple in Prepared's order does as well (import workers send those)
            (chash, kind, prompt, prompt_messages, meta, scenario, risk_level, bucket, is_gold, priority,
             item_source, candidates, steps, n_raters, labels) = p
            if self.reference and labels:  # a public dataset's labels: references, no rater of the item
                labels = [(name, REFERENCE, *rest) for name, _, *rest in labels]
                n_raters = 0
            same_hash = known.get(chash)
            item_id = _find(same_hash, kind, prompt, candidates, steps) if same_hash else None
            if item_id is not None:
                self.counts.duplicate_items += 1
                old_item_labels.extend((item_id, lab) for lab in labels)
                continue
            item_id = next(ids)
            known.setdefault(chash, []).append((item_id, kind, prompt, candidates, steps))
            seen.add(chash)
            item_rows.append((
                item_id, kind, prompt, _text(prompt_messages), meta, _text(scenario), _text(risk_level),
                _text(bucket), is_gold, priority, item_source or source, batch_id, chash, now, n_raters,
                int(n_raters < overlap and held == 0), candidates, _text(steps), held,
            ))
            for name, lsource, lkind, payload, created_at, duration_ms, confidence in labels:
                label_rows.append((next(ids), item_id, rater_id(name, lsource), lkind, payload, created_at or now,
                                   _number(duration_ms), version, lsource, _number(confidence)))
            self.counts.items_added += 1
        conn = self.conn
        conn.executemany(
            "INSERT INTO items (id, kind, prompt, prompt_messages, meta, scenario, risk_level, bucket, is_gold, "
            "priority, source, batch_id, content_hash, created_at, n_raters, open, candidates, steps, held_back) "
            "VALUES (?, ?, ?, NULLIF(?, 0), ?, NULLIF(?, 0), NULLIF(?, 0), NULLIF(?, 0), ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "NULLIF(?, 0), NULLIF(?, 0))",
            item_rows,
        )
        self._insert_labels(label_rows)
        # after the batch's own rows are in, so a label repeated within the batch is seen as already there
        self._insert_labels(self._labels_for_existing(old_item_labels, ids, now))
        if self._recount:
            touched, self._recount = self._recount, []
            recount_raters(conn, touched, self._overlap)

    def _insert_labels(self, rows: list[tuple]) -> None:
        if rows:
            self.conn.executemany(
                "INSERT INTO labels (id, item_id, rater_id, kind, payload, created_at, duration_ms, app_version, "
                "source, confidence) VALUES (?, ?, ?, ?, ?, ?, NULLIF(?, ''), ?, ?, NULLIF(?, ''))",
                rows,
            )
            self.counts.labels_added += len(rows)

    def _known_items(self, hashes: list[int]) -> dict[int, list[tuple]]:
        """Items already written (before or during this import) whose content hash is among `hashes`,
        as (id, kind, prompt, candidates, steps).

        A project that was empty when the import began can only hold hashes this import wrote, so
        only those are looked up: an import into a new project skips the index probes entirely.
        """
        probe = hashes if self._probe_all else [h for h in hashes if h in self._seen]
        known: dict[int, list[tuple]] = {}
        if probe:
            for chash, *entry in self.conn.execute(
                "SELECT content_hash, id, kind, prompt, candidates, steps FROM items "
                "WHERE content_hash IN (SELECT value FROM json_each(?))", (json.dumps(probe),)):
                known.setdefault(chash, []).append(tuple(entry))
        return known

    def _labels_for_existing(self, pairs: list, ids, now: str) -> list[tuple]:
        """Rows for labels on items already in the project, leaving out ones that are there already."""
        if not pairs:
            return []
        touched = sorted({item_id for item_id, _ in pairs})
        have, voted = set(), set()
        for item_id, rater_id, kind, payload, vote in self.conn.execute(
                f"SELECT item_id, rater_id, kind, payload, round = 1 AND {vote_sql()} AND id NOT IN ({SUPERSEDED}) "
                "FROM labels WHERE item_id IN (SELECT value FROM json_each(?))", (json.dumps(touched),)):
            have.add((item_id, rater_id, kind, _dumps(json.loads(payload))))
            if vote:
                voted.add((item_id, rater_id))
        rows = []
        for item_id, (name, lsource, kind, payload, created_at, duration_ms, confidence) in pairs:
            rater_id = self._rater_id(name, lsource)
            key = (item_id, rater_id, kind, payload)
            if key in have:
                self.counts.duplicate_labels += 1
                continue
            if is_vote(kind, lsource):  # one vote per rater and item: a second one is refused and reported
                if (item_id, rater_id) in voted:
                    self.counts.second_votes.append((item_id, name))
                    continue
                voted.add((item_id, rater_id))
            have.add(key)
            rows.append((next(ids), item_id, rater_id, kind, payload, created_at or now,
                         _number(duration_ms), self._version, lsource, _number(confidence)))
        if rows:
            self._recount = touched
        return rows


def _find(same_hash: list[tuple], kind: str, prompt: str, candidates: str, steps: str | None) -> str | None:
    """The id of the item among `same_hash` (id, kind, prompt, candidates, steps) with this content."""
    mine = None
    for item_id, other_kind, other_prompt, other_candidates, other_steps in same_hash:
        if other_kind == kind and other_prompt == prompt:
            mine = mine or stored_content(kind, prompt, candidates, steps)
            if stored_content(other_kind, other_prompt, other_candidates, other_steps) == mine:
                return item_id
    return None


# Python's sqlite3 binds a None by way of its adapter lookup, ~0.8 us each against ~0.05 us for an int:
# with six None columns in a typical item and its label that was a fifth of the SQLite time of an
# import. Nullable columns are therefore bound as a stand-in that NULLIF in the SQL turns back into NULL:
# 0 for text columns (no string equals it) and '' for numeric ones (no number equals it).
def _text(value: str | None) -> str | int:
    return 0 if value is None else value


def _number(value: float | None) -> float | str:
    return "" if value is None else value


def _str(value: object) -> str | None:
    return None if value is None else str(value)
