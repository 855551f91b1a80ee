"""The store's side of the `labels` exchange format: reading every label with its item and rater, and
writing labels that arrive from another machine or tool with all their metadata.

Items are matched by id, else by content, else created; a label already present (same id, or without
an id the same item, rater, round, created_at and payload) is not added twice. Each record is written
under a savepoint, so a refused record leaves nothing behind even when the import skips bad records.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from prefdesk import __version__
from prefdesk.domain import Candidate, RaterRole, Step
from prefdesk.store.ids import content_hash, stored_content, utc_now, uuid7
from prefdesk.store.ingest import IngestCounts
from prefdesk.store.overlap import recount_raters
from prefdesk.store.project import Project
from prefdesk.store.rows import candidates_from_json, candidates_to_json, steps_to_json
from prefdesk.store.votes import current_vote, is_vote, later, no_longer_current

class ExchangeConflict(Exception):
    """A record that contradicts the project (a candidate changed, a label superseded twice); `field` names
    where in the record, as a converter's FieldError does."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _canonical(payload: Any) -> str:
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()


class LabelExchange:
    """Writes `labels`-format records (as `prefdesk.formats.labels.convert` makes them) into a project,
    inside the caller's transaction."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.conn = project.conn
        self.counts = IngestCounts()
        self._overlap = int(project.settings["overlap"])

    def add_prepared(self, record: dict) -> None:
        """Write one record (item + label) or nothing of it: FieldError names what is wrong."""
        self.conn.execute("SAVEPOINT exchange_record")
        try:
            item_id = self._item(record["item"])
            self._label(item_id, record["label"], len(candidates_from_json(self._candidates(item_id))))
        except BaseException:
            self.conn.execute("ROLLBACK TO exchange_record")
            self.conn.execute("RELEASE exchange_record")
            raise
        self.conn.execute("RELEASE exchange_record")

    def flush(self) -> None:
        """Nothing is buffered: records are written as they come."""

    # -- items -----------------------------------------------------------------------------------------
    def _candidates(self, item_id: str) -> str:
        return self.conn.execute("SELECT candidates FROM items WHERE id = ?", (item_id,)).fetchone()[0]

    def _item(self, item: dict) -> str:
        kind, prompt = item["kind"], item["prompt"]
        cands = tuple(Candidate(i, text) for i, text in enumerate(item["candidates"]))
        steps = tuple(Step(i, s["text"], s.get("state")) for i, s in enumerate(item["steps"]))
        cands_json, steps_json = candidates_to_json(cands), steps_to_json(steps)
        if item.get("id"):
            row = self.conn.execute("SELECT candidates FROM items WHERE id = ?", (item["id"],)).fetchone()
            if row is not None:
                self._extend_candidates(item["id"], row[0], [c.text for c in cands])
                self.counts.duplicate_items += 1
                return item["id"]
        chash = content_hash(kind, prompt, [c.text for c in cands] + [s.text for s in steps])
        mine = stored_content(kind, prompt, cands_json, steps_json)
        for other_id, *content in self.conn.execute(
                "SELECT id, kind, prompt, candidates, steps FROM items WHERE content_hash = ?", (chash,)):
            if stored_content(*content) == mine:
                self.counts.duplicate_items += 1
                return other_id
        item_id = item.get("id") or uuid7()
        meta = item.get("meta") or {}
        gold = item.get("gold")
        self.conn.execute(
            "INSERT INTO items (id, kind, prompt, prompt_messages, meta, scenario, risk_level, bucket, is_gold, priority, "
            "source, content_hash, created_at, candidates, steps, gold_answer, n_raters, open) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 1)",
            (item_id, kind, prompt, json.dumps(item["prompt_messages"]) if item.get("prompt_messages") else None,
             json.dumps(meta), _str(meta.get("scenario")), _str(meta.get("risk_level")), _str(meta.get("bucket")),
             int(gold is not None), float(meta.get("priority") or 0), "labels-import", chash, utc_now(), cands_json,
             steps_json, json.dumps(gold) if gold is not None else None))
        self.counts.items_added += 1
        return item_id

    def _extend_candidates(self, item_id: str, stored: str, incoming: list[str]) -> None:
        """An item known by id may have gained candidates elsewhere (a rewrite): append them; a candidate
        that differs from the stored one at the same position is refused."""
        have = [c.text for c in candidates_from_json(stored)]
        shared = min(len(have), len(incoming))
        if have[:shared] != incoming[:shared]:
            at = next(i for i in range(shared) if have[i] != incoming[i])
            raise ExchangeConflict(f"item.candidates[{at}]", f"differs from candidate {at} of item {item_id} in the project")
        if len(incoming) > len(have):
            cands = candidates_from_json(stored) + tuple(
                Candidate(i, t, source="labels-import") for i, t in enumerate(incoming) if i >= len(have))
            self.conn.execute("UPDATE items SET candidates = ? WHERE id = ?", (candidates_to_json(cands), item_id))

    # -- labels ----------------------------------------------------------------------------------------
    def _rater(self, rater: dict) -> str:
        row = self.conn.execute("SELECT id FROM raters WHERE name = ?", (rater["name"],)).fetchone()
        if row:
            return row[0]
        rid = uuid7()
        self.conn.execute("INSERT INTO raters (id, name, role, level, notes, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                          (rid, rater["name"], rater.get("role") or RaterRole.ANNOTATOR.value, rater.get("level"),
                           "created by a labels import", utc_now()))
        return rid

    def _session(self, session_id: str, rater_id: str, label: dict) -> None:
        row = self.conn.execute("SELECT rater_id FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            self.conn.execute("INSERT INTO sessions (id, rater_id, started_at, app_version, guideline_version) "
                              "VALUES (?, ?, ?, ?, ?)", (session_id, rater_id, label["created_at"] or utc_now(),
                                                         label.get("app_version"), label.get("guideline_version")))
        elif row[0] != rater_id:
            raise ExchangeConflict("label.session", f"session {session_id} belongs to another rater in the project")

    def _label(self, item_id: str, label: dict, n_candidates: int) -> None:
        if label.get("id") and self.conn.execute("SELECT 1 FROM labels WHERE id = ?", (label["id"],)).fetchone():
            self.counts.duplicate_labels += 1
            return
        if label["candidates_needed"] > n_candidates:
            raise ExchangeConflict("label.payload", f"needs {label['candidates_needed']} candidates; the item has {n_candidates}")
        rater_id = self._rater(label["rater"])
        created_at = label.get("created_at") or utc_now()
        payload = _canonical(label["payload"])
        if not label.get("id"):
            for (other,) in self.conn.execute(
                    "SELECT payload FROM labels WHERE item_id = ? AND rater_id = ? AND round = ? AND created_at = ?",
                    (item_id, rater_id, label["round"], created_at)):
                if _canonical(json.loads(other)) == payload:
                    self.counts.duplicate_labels += 1
                    return
        supersedes = label.get("supersedes")
        label_id = label.get("id") or uuid7()
        if supersedes:
            row = self.conn.execute("SELECT item_id, rater_id, round, kind FROM labels WHERE id = ?",
                                    (supersedes,)).fetchone()
            if row is None:
                raise ExchangeConflict("label.supersedes", f"no label {supersedes} in the project or earlier in the file")
            if row[:2] != (item_id, rater_id):
                raise ExchangeConflict("label.supersedes", f"label {supersedes} is another rater's or another item's")
            if row[2:] != (label["round"], label["kind"]):
                raise ExchangeConflict("label.supersedes", f"label {supersedes} is of another round or kind")
            if no_longer_current(self.conn, supersedes):
                raise ExchangeConflict("label.supersedes", f"label {supersedes} is already superseded in the project")
        elif is_vote(label["kind"], label["source"]):
            supersedes = self._second_vote(label_id, item_id, rater_id, label, created_at)
        if label.get("session"):
            self._session(label["session"], rater_id, label)
        self.conn.execute(
            "INSERT INTO labels (id, item_id, rater_id, session_id, kind, payload, created_at, duration_ms, "
            "guideline_version, app_version, round, display_order, source, confidence, supersedes) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (label_id, item_id, rater_id, label.get("session"), label["kind"], payload, created_at,
             label.get("duration_ms"), label.get("guideline_version"), label.get("app_version") or __version__,
             label["round"], json.dumps(label["display_order"]) if label.get("display_order") is not None else None,
             label["source"], label.get("confidence"), supersedes))
        self.counts.labels_added += 1
        recount_raters(self.conn, [item_id], self._overlap)

    def _second_vote(self, label_id: str, item_id: str, rater_id: str, label: dict, created_at: str) -> str | None:
        """One vote per rater and item (`store.votes`): a vote of a rater who already holds one on the item in its
        round supersedes it when it is the later (a re-label, both kept), and is refused when it is the earlier."""
        current = current_vote(self.conn, item_id, rater_id, label["round"])
        if current is None:
            return None
        if not later((created_at, label_id), (current[1], current[0])):
            raise ExchangeConflict("label", f"{label['rater']['name']} already holds a later current vote on item "
                                            f"{item_id} (label {current[0]}, {current[1]}); one vote per rater and "
                                            "item: this earlier one is refused")
        self.counts.relabelled += 1
        return current[0]


def _str(value: object) -> str | None:
    return None if value is None else str(value)
