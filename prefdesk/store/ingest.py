"""Bulk writing of imported items and labels: batched, deduplicated by content, one transaction.

The caller owns the transaction (`Project.bulk_write()`), so a refused import leaves nothing behind.
Items are deduplicated by a hash of their content; a label is added to an item that was already in
the project only if that rater has no identical label there, so importing a file twice adds nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import orjson

from prefdesk import __version__
from prefdesk.domain import LabelSource, NewItem, NewLabel, RaterRole
from prefdesk.store.ids import content_hash, utc_now, uuid7, uuid7_block
from prefdesk.store.project import Project, candidates_to_json, steps_to_json

BATCH = 4000


def item_texts(item: NewItem) -> list[str]:
    return [c.text for c in item.candidates] + [s.text for s in item.steps]


@dataclass
class IngestCounts:
    items_added: int = 0
    labels_added: int = 0
    duplicate_items: int = 0
    duplicate_labels: int = 0


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
        self._pending: list[tuple[NewItem, list[NewLabel]]] = []
        self._raters: dict[str, str] = {r.name: r.id for r in project.raters()}
        self._overlap = int(project.settings["overlap"])
        self._version = __version__
        self._recount: list[str] = []
        self._seen: set[int] = set()  # content hashes of the items this import added
        self._probe_all = self.conn.execute("SELECT EXISTS (SELECT 1 FROM items)").fetchone()[0]

    def add(self, item: NewItem, labels: list[NewLabel]) -> None:
        self._pending.append((item, labels))
        if len(self._pending) >= BATCH:
            self.flush()

    def _rater_id(self, label: NewLabel) -> str:
        rid = self._raters.get(label.rater_name)
        if rid is None:
            role = RaterRole.MODEL_JUDGE if label.source is LabelSource.MODEL_JUDGE else RaterRole.ANNOTATOR
            rid = uuid7()
            self.conn.execute(
                "INSERT INTO raters (id, name, role, created_at, notes) VALUES (?, ?, ?, ?, ?)",
                (rid, label.rater_name, role.value, utc_now(), f"created by import of {self.source}"),
            )
            self._raters[label.rater_name] = rid
        return rid

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        keys = []
        for item, _ in pending:
            texts = item_texts(item)
            keys.append((content_hash(item.kind.value, item.prompt, texts), (item.kind.value, item.prompt, texts)))
        known = self._known_items([h for h, _ in keys])
        n_ids = sum(1 + len(labels) for _, labels in pending)
        ids = iter(uuid7_block(n_ids))
        now, batch_id, source, version, overlap = utc_now(), self.batch_id, self.source, self._version, self._overlap
        rater_id, seen = self._rater_id, self._seen
        item_rows, label_rows, old_item_labels = [], [], []
        for (item, labels), (chash, content) in zip(pending, keys):
            item_id = _find(known.get(chash), content)
            if item_id is not None:
                self.counts.duplicate_items += 1
                old_item_labels.extend((item_id, lab) for lab in labels)
                continue
            item_id = next(ids)
            known.setdefault(chash, []).append((item_id, content))
            seen.add(chash)
            meta = item.meta or {}
            n_raters = len({lab.rater_name for lab in labels}) if len(labels) > 1 else len(labels)
            item_rows.append((
                item_id, content[0], item.prompt,
                _dumps_or_none(item.prompt_messages), orjson.dumps(meta).decode() if meta else "{}",
                _str(meta.get("scenario")), _str(meta.get("risk_level")), _str(meta.get("bucket")),
                int(item.is_gold), item.priority, item.source or source, batch_id, chash, now, n_raters,
                int(n_raters < overlap), candidates_to_json(item.candidates), steps_to_json(item.steps),
            ))
            for lab in labels:
                label_rows.append((
                    next(ids), item_id, rater_id(lab), lab.kind.value, _dumps(lab.payload),
                    lab.created_at or now, lab.duration_ms, version, lab.source.value, lab.confidence,
                ))
            self.counts.items_added += 1
        conn = self.conn
        conn.executemany(
            "INSERT INTO items (id, kind, prompt, prompt_messages, meta, scenario, risk_level, bucket, is_gold, "
            "priority, source, batch_id, content_hash, created_at, n_raters, open, candidates, steps) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            item_rows,
        )
        self._insert_labels(label_rows)
        # after the batch's own rows are in, so a label repeated within the batch is seen as already there
        self._insert_labels(self._labels_for_existing(old_item_labels, ids, now))
        if self._recount:
            touched, self._recount = json.dumps(self._recount), []
            conn.execute("UPDATE items SET n_raters = (SELECT COUNT(DISTINCT rater_id) FROM labels "
                         "WHERE item_id = items.id) WHERE id IN (SELECT value FROM json_each(?))", (touched,))
            conn.execute("UPDATE items SET open = n_raters < ? WHERE id IN (SELECT value FROM json_each(?))",
                         (self._overlap, touched))

    def _insert_labels(self, rows: list[tuple]) -> None:
        if rows:
            self.conn.executemany(
                "INSERT INTO labels (id, item_id, rater_id, kind, payload, created_at, duration_ms, app_version, "
                "source, confidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self.counts.labels_added += len(rows)

    def _known_items(self, hashes: list[int]) -> dict[int, list[tuple[str, tuple]]]:
        """Items already written (before or during this import) whose content hash is among `hashes`.

        A project that was empty when the import began can only hold hashes this import wrote, so
        only those are looked up: an import into a new project skips the index probes entirely.
        """
        probe = hashes if self._probe_all else [h for h in hashes if h in self._seen]
        known: dict[int, list[tuple[str, tuple]]] = {}
        if not probe:
            return known
        rows = self.conn.execute(
            "SELECT content_hash, id, kind, prompt, candidates, steps FROM items "
            "WHERE content_hash IN (SELECT value FROM json_each(?))", (json.dumps(probe),))
        for chash, item_id, kind, prompt, cands, steps in rows:
            texts = [c["text"] for c in orjson.loads(cands)] + [s["text"] for s in orjson.loads(steps or "[]")]
            known.setdefault(chash, []).append((item_id, (kind, prompt, texts)))
        return known

    def _labels_for_existing(self, pairs: list, ids, now: str) -> list[tuple]:
        """Rows for labels on items already in the project, leaving out ones that are there already."""
        if not pairs:
            return []
        touched = sorted({item_id for item_id, _ in pairs})
        have = {
            (item_id, rater_id, kind, _dumps(json.loads(payload)))
            for item_id, rater_id, kind, payload in self.conn.execute(
                "SELECT item_id, rater_id, kind, payload FROM labels WHERE item_id IN (SELECT value FROM json_each(?))",
                (json.dumps(touched),),
            )
        }
        rows = []
        for item_id, lab in pairs:
            rater_id, payload = self._rater_id(lab), _dumps(lab.payload)
            key = (item_id, rater_id, lab.kind.value, payload)
            if key in have:
                self.counts.duplicate_labels += 1
                continue
            have.add(key)
            rows.append((next(ids), item_id, rater_id, lab.kind.value, payload, lab.created_at or now,
                         lab.duration_ms, self._version, lab.source.value, lab.confidence))
        if rows:
            self._recount = touched
        return rows


def _find(candidates: list[tuple[str, tuple]] | None, content: tuple) -> str | None:
    """The id of the item among `candidates` (same hash) whose content is `content`, if any."""
    for item_id, other in candidates or ():
        if other == content:
            return item_id
    return None


def _str(value: object) -> str | None:
    return None if value is None else str(value)
