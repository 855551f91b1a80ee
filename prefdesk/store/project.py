"""The project file: one SQLite file per project, on the stdlib sqlite3 connection (sqlite-utils on request).

Durability rules from the architecture: WAL, synchronous=FULL, a busy timeout, foreign keys on;
migrations run on open, in one transaction, after a backup copy; a file newer than this app is refused.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefdesk import __version__
from prefdesk.domain import Candidate, Item, ItemKind, Label, LabelKind, LabelSource, Rater, Session
from prefdesk.domain.settings import DEFAULT_SETTINGS, SettingError, check_settings
from prefdesk.store.ids import utc_now, uuid7
from prefdesk.store.connection import backup_copy, connect, identify
from prefdesk.store.errors import ProjectBusy, ProjectError
from prefdesk.store.migrations import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from prefdesk.store.bulk import BulkWrites
from prefdesk.store.overlap import COUNTS_TOWARD_OVERLAP, NOT_VOTES, OPEN, VERDICTS_ONLY
from prefdesk.store.people import People
from prefdesk.store import votes
from prefdesk.store.rows import (LABEL_COLUMNS, candidates_from_json, candidates_to_json, label_from_row,
                                 loads_or_none, steps_from_json)

DEFAULT_GUIDELINES = """# Guidelines v1

Prefer the response that a careful expert would send: correct first, then safe, then helpful,
then concise. In high-risk scenarios (medical, legal, finance) a response that sends the user to
the right professional beats one that guesses. Mark *both bad* when neither response should be sent.
"""


_DISK_TROUBLE = ("full", "disk I/O error", "readonly", "read-only")  # what the user, not the code, must fix


class Project(BulkWrites, People):
    """An open project file. Use `Project.create` or `Project.open`; close it when done."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = path
        self.conn = conn
        self.closed = False
        self._settings_cache: dict[str, Any] | None = None
        self.double_votes: list[dict] = []  # found on open (`store.votes`); `prefdesk check --repair` mends them

    @property
    def db(self):
        """The same connection as a `sqlite_utils.Database`, for ad-hoc queries and tools.

        Imported on first use: sqlite-utils imports pandas when it is installed (0.8 s here),
        which the desk must not pay at start-up.
        """
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path) -> Project:
        """Create a new, empty project file; refuses to overwrite an existing one."""
        path = Path(path)
        if path.exists():
            raise ProjectError(f"{path}: a file is already there; choose another name")
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls.open(path, create=True)

    @classmethod
    def open(cls, path: str | Path, create: bool = False) -> Project:
        """Open a project file, migrating it (after a backup copy) if it is older than this app."""
        path = Path(path)
        if not create:
            identify(path)  # before anything could write to it: only our own files are opened for writing
        conn = connect(path, create)
        try:
            project = cls(path, conn)
            project._migrate()
        except BaseException:
            conn.close()
            raise
        from prefdesk.store.pending import write_waiting_if_free

        write_waiting_if_free(project)  # labels a desk held while the file was busy, then closed or crashed
        project.double_votes = votes.doubles_on_open(conn)  # only a file from before the one-vote rule holds any
        return project

    def close(self) -> None:
        self.conn.close()
        self.closed = True

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise ProjectError(
                f"{self.path}: this project was written by a newer PrefDesk (schema {version}; "
                f"this app knows up to {SCHEMA_VERSION}). Update PrefDesk to open it."
            )
        if version == SCHEMA_VERSION:
            return
        if version > 0:
            backup = self.path.with_name(f"{self.path.name}.v{version}.bak")
            backup_copy(self.conn, backup)
        with self.transaction():
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                migration(self.conn)
                self.conn.execute(f"PRAGMA user_version = {number}")
            if version == 0:
                self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                for key, value in DEFAULT_SETTINGS.items():
                    self.conn.execute("INSERT INTO settings VALUES (?, ?)", (key, json.dumps(value)))
                self.conn.execute("INSERT INTO guidelines (version, text, created_at) VALUES (?, ?, ?)",
                                  ("v1", DEFAULT_GUIDELINES, utc_now()))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; everything in it lands or nothing does. Nested calls join the outer."""
        if self.conn.in_transaction:
            yield self.conn
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise ProjectBusy(f"{self.path.name} is busy: another program is writing it ({exc})") from exc
            raise
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException as exc:
            # SQLite has already rolled back after some errors (a full disk, I/O): then there is nothing to
            # undo, and a ROLLBACK would raise "no transaction is active" over the real error
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            self._settings_cache = None
            if isinstance(exc, sqlite3.OperationalError) and any(w in str(exc) for w in _DISK_TROUBLE):
                raise ProjectError(f"{self.path}: {exc}: nothing of this change was stored (free disk space, or "
                                   "move the project to a writable disk, then do it again)") from exc
            raise

    # -- settings and guidelines ---------------------------------------------------------------
    @property
    def settings(self) -> dict[str, Any]:
        if self._settings_cache is None:
            rows = self.conn.execute("SELECT key, value FROM settings").fetchall()
            self._settings_cache = {**DEFAULT_SETTINGS, **{k: json.loads(v) for k, v in rows}}
        return self._settings_cache

    def set_setting(self, key: str, value: Any) -> None:
        """Store one project setting (checked first: see `set_settings`)."""
        self.set_settings({key: value})

    def set_settings(self, changes: dict[str, Any]) -> None:
        """Check and store several settings in one transaction: all of them land or none does
        (`SettingError` names the first bad one). Changing `overlap` re-opens or closes items to match."""
        checked = check_settings({**{k: self.settings[k] for k in ("scale", "scale_anchors")}, **changes})
        if "guideline_version" in changes and not self.conn.execute(
                "SELECT 1 FROM guidelines WHERE version = ?", (checked["guideline_version"],)).fetchone():
            raise SettingError("guideline_version", f"no guidelines of version {checked['guideline_version']!r}; "
                                                    "add them with --guidelines FILE.md --guideline-version V")
        with self.transaction():
            for key in changes:
                self.conn.execute(
                    "INSERT INTO settings VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, json.dumps(checked[key])))
            if "overlap" in changes:
                self.conn.execute(f"UPDATE items SET open = {OPEN}", (checked["overlap"],))
        self._settings_cache = None

    def set_guidelines(self, version: str, text: str, *, clause: str | None = None, item_id: str | None = None) -> None:
        """Add a guideline version and put it in force for labels from now on; a version is never rewritten.
        `clause` and `item_id`: the clause an arbitration added, and the disputed item it came from."""
        version = version.strip()
        if not version:
            raise SettingError("guideline_version", "expected a version name")
        if self.conn.execute("SELECT 1 FROM guidelines WHERE version = ?", (version,)).fetchone():
            raise SettingError("guideline_version", f"{version!r} exists already; a guideline version is never "
                                                    "rewritten, name the new one")
        with self.transaction():
            self.conn.execute("INSERT INTO guidelines (version, text, created_at, clause, item_id) VALUES (?, ?, ?, ?, ?)",
                              (version, text, utc_now(), clause, item_id))
            self.set_setting("guideline_version", version)

    def guideline_versions(self) -> list[str]:
        """Every guideline version, oldest first."""
        return [v for (v,) in self.conn.execute("SELECT version FROM guidelines ORDER BY created_at, version")]

    def guidelines(self) -> tuple[str, str]:
        """The version in force and its Markdown text."""
        version = self.settings["guideline_version"]
        row = self.conn.execute("SELECT text FROM guidelines WHERE version = ?", (version,)).fetchone()
        return version, row[0] if row else ""

    # -- items -----------------------------------------------------------------------------------
    def item(self, item_id: str) -> Item:
        """One item with its candidates and steps."""
        row = self.conn.execute(
            "SELECT id, kind, prompt, prompt_messages, meta, scenario, risk_level, bucket, is_gold, priority, source, "
            "candidates, steps, gold_answer FROM items WHERE id = ?",
            (item_id,),
        ).fetchone()
        if row is None:
            raise KeyError(item_id)
        return Item(
            id=row[0], kind=ItemKind(row[1]), prompt=row[2], candidates=candidates_from_json(row[11]),
            prompt_messages=loads_or_none(row[3]), steps=steps_from_json(row[12]), meta=json.loads(row[4]), scenario=row[5],
            risk_level=row[6], bucket=row[7], is_gold=bool(row[8]), priority=row[9], source=row[10],
            gold_answer=loads_or_none(row[13]),
        )

    def commit_rewrite(self, item_id: str, rater: Rater, original: int, text: str, *, session: Session | None = None,
                       duration_ms: int | None = None) -> tuple[Candidate, Label]:
        """A rater's rewrite of candidate `original`: the new candidate (source human-rewrite) and the label
        "rewrite preferred to original", in one transaction."""
        with self.transaction() as conn:
            (raw,) = conn.execute("SELECT candidates FROM items WHERE id = ?", (item_id,)).fetchone()
            cands = candidates_from_json(raw)
            if not 0 <= original < len(cands):
                raise ProjectError(f"item {item_id} has no candidate {original}")
            cand = Candidate(len(cands), text, None, None, None, "human-rewrite")
            conn.execute("UPDATE items SET candidates = ? WHERE id = ?", (candidates_to_json((*cands, cand)), item_id))
            label = self.commit_label(item_id, rater, LabelKind.REWRITE, {"original": original, "rewrite": cand.position},
                                      session=session, duration_ms=duration_ms)
        return cand, label

    def wait_for_lock(self, ms: int) -> None:
        """How long a write waits for another program's write lock before `ProjectBusy` (default 5 s; the
        desk waits a moment only, and holds a label it cannot write: see `store.pending`)."""
        self.conn.execute(f"PRAGMA busy_timeout = {int(ms)}")

    def has_items(self) -> bool:
        return self.conn.execute("SELECT EXISTS (SELECT 1 FROM items)").fetchone()[0] == 1

    def item_count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]

    def item_ids_by_meta(self, key: str) -> dict[Any, str]:
        """Item id by the value of a metadata key (the demo's own ids, say), for items that have it."""
        return {value: item_id for item_id, value in self.conn.execute(
            "SELECT id, json_extract(meta, '$.' || ?) FROM items", (key,)) if value is not None}

    def count(self, table: str) -> int:
        """Rows in a table (through sqlite-utils, which checks the table exists)."""
        if not self.db[table].exists():
            raise KeyError(table)
        return self.db[table].count

    # -- labels ----------------------------------------------------------------------------------
    def commit_label(
        self,
        item_id: str,
        rater: Rater,
        kind: LabelKind,
        payload: dict[str, Any],
        *,
        session: Session | None = None,
        duration_ms: int | None = None,
        display_order: tuple[int, ...] | None = None,
        source: LabelSource = LabelSource.HUMAN,
        confidence: float | None = None,
        supersedes: Label | None = None,
        round: int = 1,
    ) -> Label:
        """Append a label. It is on disk (fsynced) when this returns; nothing earlier is changed."""
        label = self.new_label(item_id, rater, kind, payload, session=session, duration_ms=duration_ms,
                               display_order=display_order, source=source, confidence=confidence,
                               supersedes=supersedes, round=round)
        self.write_label(label)
        return label

    def new_label(self, item_id: str, rater: Rater, kind: LabelKind, payload: dict[str, Any], *,
                  session: Session | None = None, duration_ms: int | None = None,
                  display_order: tuple[int, ...] | None = None, source: LabelSource = LabelSource.HUMAN,
                  confidence: float | None = None, supersedes: Label | None = None, round: int = 1) -> Label:
        """A label as it will be stored (id, time, guideline version in force), not written yet."""
        if supersedes is not None and (supersedes.rater_id != rater.id or supersedes.item_id != item_id):
            raise ProjectError("a label can only be superseded by its own rater on its own item")
        if supersedes is not None:
            round = supersedes.round  # a re-done round-2 label is still the rater's second look
        return Label(
            id=uuid7(), item_id=item_id, rater_id=rater.id, kind=LabelKind(kind), payload=payload,
            created_at=utc_now(), source=LabelSource(source), session_id=session.id if session else None,
            duration_ms=duration_ms, guideline_version=self.settings["guideline_version"],
            app_version=__version__, round=round, display_order=display_order, confidence=confidence,
            supersedes=supersedes.id if supersedes else None,
        )

    def write_label(self, label: Label) -> bool:
        """Write a label made by `new_label`, fsynced, in one transaction; False if it is there already.

        One current vote per rater, item and round (`store.votes`): a vote made while the rater already holds one
        there (two desks of one rater, a held label written late) supersedes it when it is the later; an earlier
        one is refused with `SecondVote`."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM labels WHERE id = ?", (label.id,)).fetchone():
                return False
            if label.supersedes and votes.no_longer_current(conn, label.supersedes):
                raise ProjectError(f"label {label.supersedes} was already superseded")
            counts = label.kind is not LabelKind.REWRITE and label.source.value not in NOT_VOTES  # a judge, a rule: no
            if counts and label.supersedes is None:
                label = votes.attach_to_current(conn, label)
            first = counts and conn.execute(
                f"SELECT 1 FROM labels WHERE item_id = ? AND rater_id = ? AND {COUNTS_TOWARD_OVERLAP} LIMIT 1",
                (label.item_id, label.rater_id)).fetchone() is None
            with votes.refused_as_second_vote(label.id):
                conn.execute(
                    "INSERT INTO labels (id, item_id, rater_id, session_id, kind, payload, created_at, duration_ms, "
                    "guideline_version, app_version, round, display_order, source, confidence, supersedes) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (label.id, label.item_id, label.rater_id, label.session_id, label.kind.value,
                     json.dumps(label.payload), label.created_at, label.duration_ms, label.guideline_version,
                     label.app_version, label.round,
                     json.dumps(list(label.display_order)) if label.display_order is not None else None,
                     label.source.value, label.confidence, label.supersedes),
                )
            conn.execute("DELETE FROM leases WHERE item_id = ? AND rater_id = ?", (label.item_id, label.rater_id))
            if first:
                conn.execute(
                    "UPDATE items SET n_raters = n_raters + 1, open = n_raters + 1 < ? AND held_back IS NULL WHERE id = ?",
                    (int(self.settings["overlap"]), label.item_id),
                )
                self._schedule_reannotation(label)
            elif label.round > 1:
                conn.execute("UPDATE reannotations SET done_label = ? WHERE item_id = ? AND rater_id = ? "
                             "AND done_label IS NULL", (label.id, label.item_id, label.rater_id))
        return True

    def _schedule_reannotation(self, label: Label) -> None:
        """A share of a rater's first labels (chosen by a hash of the label id: the same label always decides
        the same way) comes back to them as round 2 after the project's delay."""
        share = float(self.settings["reannotate_share"])
        if (label.source is LabelSource.HUMAN and label.round == 1 and share > 0
                and zlib.crc32(label.id.encode()) < share * 2 ** 32):
            due = utc_now(float(self.settings["reannotate_after_hours"]) * 3600)
            self.conn.execute("INSERT OR IGNORE INTO reannotations (item_id, rater_id, first_label, due_at) "
                              "VALUES (?, ?, ?, ?)", (label.item_id, label.rater_id, label.id, due))

    def labels(self, item_id: str, current_only: bool = True) -> list[Label]:
        """The labels of an item, oldest first; by default only those not superseded."""
        table = "current_labels" if current_only else "labels"
        rows = self.conn.execute(f"SELECT {LABEL_COLUMNS} FROM {table} WHERE item_id = ? ORDER BY id", (item_id,))
        return [label_from_row(r) for r in rows]

    def label(self, label_id: str) -> Label:
        row = self.conn.execute(f"SELECT {LABEL_COLUMNS} FROM labels WHERE id = ?", (label_id,)).fetchone()
        if row is None:
            raise KeyError(label_id)
        return label_from_row(row)

    def previous_label(self, rater: Rater, before: Label | None = None) -> Label | None:
        """The rater's most recent current verdict (a rewrite is not one), or the one before `before`."""
        sql = f"SELECT {LABEL_COLUMNS} FROM current_labels WHERE rater_id = ? AND source = 'human' AND {VERDICTS_ONLY}"
        args: list[Any] = [rater.id]
        if before is not None:
            sql += " AND id < ?"
            args.append(before.id if before.supersedes is None else before.supersedes)
        row = self.conn.execute(sql + " ORDER BY rater_id, created_at DESC, id DESC LIMIT 1", args).fetchone()
        return label_from_row(row) if row else None
