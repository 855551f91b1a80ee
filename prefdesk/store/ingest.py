"""Bulk writing of imported items and labels: batched, deduplicated by content, one transaction.

The caller owns the transaction (`Project.transaction()`), so a refused import leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from prefdesk import __version__
from prefdesk.domain import LabelSource, NewItem, NewLabel, RaterRole
from prefdesk.store.ids import utc_now, uuid7
from prefdesk.store.project import Project

BATCH = 2000


def content_hash(item: NewItem) -> str:
    """Identity of an item's content: kind, prompt and every candidate and step, in order."""
    h = hashlib.blake2b(digest_size=16)
    h.update(item.kind.value.encode())
    for part in (item.prompt, *(c.text for c in item.candidates), *(s.text for s in item.steps)):
        h.update(b"\x1f")
        h.update(part.encode())
    return h.hexdigest()


@dataclass
class IngestCounts:
    items_added: int = 0
    labels_added: int = 0
    duplicate_items: int = 0
    duplicate_labels: int = 0


class Ingest:
    """Collects (item, labels) pairs and writes them a batch at a time."""

    def __init__(self, project: Project, batch_id: str, source: str):
        self.project = project
        self.conn = project.conn
        self.batch_id = batch_id
        self.source = source
        self.counts = IngestCounts()
        self._pending: list[tuple[NewItem, list[NewLabel]]] = []
        self._raters: dict[str, str] = {r.name: r.id for r in project.raters()}
        self._overlap = int(project.settings["overlap"])

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
        hashes = [content_hash(item) for item, _ in pending]
        existing = dict(
            self.conn.execute(
                "SELECT content_hash, id FROM items WHERE content_hash IN (SELECT value FROM json_each(?))",
                (json.dumps(hashes),),
            ).fetchall()
        )
        now = utc_now()
        item_rows, cand_rows, step_rows, label_rows = [], [], [], []
        touched_existing: set[str] = set()
        for (item, labels), chash in zip(pending, hashes):
            item_id = existing.get(chash)
            if item_id is not None:
                self.counts.duplicate_items += 1
                if labels:
                    touched_existing.add(item_id)
            else:
                item_id = uuid7()
                existing[chash] = item_id
                meta = item.meta
                n_raters = len({lab.rater_name for lab in labels})
                item_rows.append((
                    item_id, item.kind.value, item.prompt,
                    json.dumps(item.prompt_messages) if item.prompt_messages else None,
                    json.dumps(meta, ensure_ascii=False), _str(meta.get("scenario")), _str(meta.get("risk_level")),
                    _str(meta.get("bucket")), int(item.is_gold), item.priority, item.source or self.source,
                    self.batch_id, chash, now, n_raters, int(n_raters < self._overlap),
                ))
                for c in item.candidates:
                    cand_rows.append((
                        item_id, c.position, uuid7(), c.text, json.dumps(c.messages) if c.messages else None,
                        c.model, json.dumps(c.gen_params) if c.gen_params else None, c.source,
                    ))
                for s in item.steps:
                    step_rows.append((item_id, s.position, s.text, s.state))
                self.counts.items_added += 1
            for lab in labels:
                payload = json.dumps(lab.payload, ensure_ascii=False, sort_keys=True)
                key = hashlib.blake2b(f"{chash}|{lab.rater_name}|{lab.kind.value}|{payload}".encode(), digest_size=16).hexdigest()
                label_rows.append((
                    uuid7(), item_id, self._rater_id(lab), lab.kind.value, payload, lab.created_at or now,
                    lab.duration_ms, None, __version__, lab.source.value, lab.confidence, key,
                ))
        conn = self.conn
        conn.executemany(
            "INSERT INTO items (id, kind, prompt, prompt_messages, meta, scenario, risk_level, bucket, is_gold, "
            "priority, source, batch_id, content_hash, created_at, n_raters, open) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            item_rows,
        )
        conn.executemany("INSERT INTO candidates VALUES (?, ?, ?, ?, ?, ?, ?, ?)", cand_rows)
        conn.executemany("INSERT INTO steps VALUES (?, ?, ?, ?)", step_rows)
        before = conn.total_changes
        conn.executemany(
            "INSERT OR IGNORE INTO labels (id, item_id, rater_id, kind, payload, created_at, duration_ms, "
            "guideline_version, app_version, source, confidence, import_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            label_rows,
        )
        added = conn.total_changes - before
        self.counts.labels_added += added
        self.counts.duplicate_labels += len(label_rows) - added
        if touched_existing:
            conn.execute(
                "UPDATE items SET n_raters = (SELECT COUNT(DISTINCT rater_id) FROM labels WHERE item_id = items.id) "
                "WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(touched_existing)),),
            )
            conn.execute(
                "UPDATE items SET open = n_raters < ? WHERE id IN (SELECT value FROM json_each(?))",
                (self._overlap, json.dumps(sorted(touched_existing))),
            )


def _str(value: object) -> str | None:
    return None if value is None else str(value)
