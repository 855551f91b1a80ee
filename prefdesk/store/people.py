"""Who works in a project and when: raters, their sessions, the leases on items on their screens, their flags
and the time they spent today. A part of `Project`."""

from __future__ import annotations

from collections.abc import Callable

from prefdesk import __version__
from prefdesk.domain import Rater, RaterRole, Session
from prefdesk.store.ids import utc_now, uuid7
from prefdesk.store.rows import rater_from_row

from prefdesk.store.overlap import VERDICTS_ONLY

LEASE_SECONDS = 30 * 60  # an item left on a screen longer than this is handed to others again


class People:
    """Raters, sessions, leases, flags (mixed into `Project`: `self.conn`, `self.transaction`, `self.settings`)."""

    # -- raters and sessions -------------------------------------------------------------------
    def rater(self, name: str) -> Rater | None:
        row = self.conn.execute(
            "SELECT id, name, role, level, notes FROM raters WHERE name = ?", (name,)
        ).fetchone()
        return rater_from_row(row) if row else None

    def raters(self) -> list[Rater]:
        rows = self.conn.execute("SELECT id, name, role, level, notes FROM raters ORDER BY name")
        return [rater_from_row(r) for r in rows]

    def ensure_rater(
        self, name: str, role: RaterRole = RaterRole.ANNOTATOR, level: str | None = None, notes: str | None = None
    ) -> Rater:
        """The rater of that name, created with the given role and level if new."""
        existing = self.rater(name)
        if existing:
            return existing
        rater = Rater(uuid7(), name, RaterRole(role), level, notes)
        with self.transaction():
            self.conn.execute(
                "INSERT INTO raters VALUES (?, ?, ?, ?, ?, ?)",
                (rater.id, name, rater.role.value, level, notes, utc_now()),
            )
        return rater

    def end_session(self, session: Session) -> None:
        """Write when a sitting ended (closing the desk, switching project or rater) and give back the
        rater's leases; no-op once closed."""
        if self.closed:
            return
        with self.transaction():
            self.conn.execute("UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL", (utc_now(), session.id))
            self.conn.execute("DELETE FROM leases WHERE rater_id = ?", (session.rater_id,))

    # -- leases: items on a rater's screen ----------------------------------------------------------
    def lease(self, item_id: str, rater: Rater, seconds: float = LEASE_SECONDS) -> None:
        """Hold an item for a rater while it is on their screen (see `store.queue`)."""
        self.lease_next(lambda: item_id, rater, seconds)

    def lease_next(self, choose: Callable[[], str | None], rater: Rater, seconds: float = LEASE_SECONDS) -> str | None:
        """Choose an item and lease it to the rater in one write transaction, so two raters choosing at once
        cannot both take the last place on an item. A lease is a hint, not a label: it is written without an
        fsync (one lost in a crash only lets the item be shown again)."""
        self.conn.execute("PRAGMA synchronous = NORMAL")
        try:
            with self.transaction():
                item_id = choose()
                if item_id is not None:
                    self.conn.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?)", (item_id, rater.id, utc_now(seconds)))
        finally:
            self.conn.execute("PRAGMA synchronous = FULL")
        return item_id

    def release(self, item_id: str, rater: Rater) -> None:
        """Give an item back (a skip)."""
        with self.transaction():
            self.conn.execute("DELETE FROM leases WHERE item_id = ? AND rater_id = ?", (item_id, rater.id))

    def start_session(self, rater: Rater) -> Session:
        session = Session(uuid7(), rater.id, utc_now(), self.settings["guideline_version"])
        with self.transaction():
            self.conn.execute(
                "INSERT INTO sessions (id, rater_id, started_at, app_version, guideline_version) VALUES (?, ?, ?, ?, ?)",
                (session.id, rater.id, session.started_at, __version__, session.guideline_version),
            )
        return session


    # -- flags and time ---------------------------------------------------------------------------
    def flag(self, item_id: str, rater: Rater, note: str | None = None) -> None:
        """Mark an item for review by a reviewer."""
        with self.transaction():
            self.conn.execute("INSERT INTO flags VALUES (?, ?, ?, ?, ?)", (uuid7(), item_id, rater.id, utc_now(), note))

    def unflag(self, item_id: str, rater: Rater) -> None:
        """Take back this rater's flags on an item (a flag is a request for review, not a label)."""
        with self.transaction():
            self.conn.execute("DELETE FROM flags WHERE item_id = ? AND rater_id = ?", (item_id, rater.id))

    def flag_note(self, item_id: str, rater: Rater) -> str | None:
        """This rater's flag on the item: its note ('' when it has none), or None when not flagged."""
        row = self.conn.execute("SELECT COALESCE(note, '') FROM flags WHERE item_id = ? AND rater_id = ? "
                                "ORDER BY created_at DESC LIMIT 1", (item_id, rater.id)).fetchone()
        return row[0] if row else None

    def durations_today(self, rater: Rater) -> list[int]:
        """Milliseconds spent on each verdict the rater gave today (UTC), from the rater's time index; an edit
        of an earlier verdict (it supersedes it) and a rewrite are not new labels."""
        return [d or 0 for (d,) in self.conn.execute(
            f"SELECT duration_ms FROM labels WHERE rater_id = ? AND created_at >= ? AND source = 'human' "
            f"AND supersedes IS NULL AND {VERDICTS_ONLY}", (rater.id, utc_now()[:10]))]
