"""Who works in a project and when: raters, their sessions, the leases on items on their screens, their flags
and the time they spent today. A part of `Project`."""

from __future__ import annotations

from collections.abc import Callable

from prefdesk import __version__
from prefdesk.domain import Rater, RaterRole, Session, roles
from prefdesk.store.errors import ProjectError
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

    def set_role(self, name: str, role: RaterRole | str, by: str) -> Rater:
        """Give rater `name` another role, recorded (who, when, from, to); refused with the reason when `by` may
        not (`roles.role_change_refused`). Labels given before keep the role of their session."""
        return self._change_rater(name, "role", RaterRole(role).value, by)

    def rename_rater(self, name: str, new_name: str, by: str) -> Rater:
        """Rename a rater, recorded; their labels keep their rater id, so their work stays theirs."""
        new_name = new_name.strip()
        if not new_name:
            raise ProjectError("a rater's name cannot be empty")
        if self.rater(new_name):
            raise ProjectError(f"there is already a rater {new_name!r}")
        return self._change_rater(name, "name", new_name, by)

    def _change_rater(self, name: str, field: str, new: str, by: str) -> Rater:
        # the checks and the change in one write transaction: two leads demoting each other at once cannot leave
        # the project with none
        leads_sql = f"SELECT COUNT(*) FROM raters WHERE role IN ({', '.join('?' * len(roles.LEADS))})"
        with self.transaction():
            target, changer = self.rater(name), self.rater(by)
            if target is None:
                raise ProjectError(f"no rater {name!r} in this project (prefdesk raters list)")
            leads = self.conn.execute(leads_sql, [r.value for r in roles.LEADS]).fetchone()[0]
            new_role = RaterRole(new) if field == "role" else target.role
            by_self = changer is not None and changer.id == target.id
            refused = roles.role_change_refused(changer.role if changer else None, by_self, target.role, new_role,
                                                leads)
            if refused:
                raise ProjectError(f"{by} cannot change the {field} of {name} to {new!r}: {refused}")
            old = target.role.value if field == "role" else target.name
            if old != new:
                self.conn.execute(f"UPDATE raters SET {field} = ? WHERE id = ?", (new, target.id))
                self.conn.execute("INSERT INTO rater_changes VALUES (?, ?, ?, ?, ?, ?, ?)",
                                  (uuid7(), target.id, field, old, new, by, utc_now()))
        return self.rater(new if field == "name" else name)

    def label_counts(self) -> dict[str, int]:
        """Labels stored per rater id (every source, superseded ones too)."""
        return dict(self.conn.execute("SELECT rater_id, COUNT(*) FROM labels GROUP BY rater_id"))

    def rater_changes(self) -> list[dict]:
        """Every change of a role or name, oldest first: rater (as named now), field, from, to, by, at."""
        rows = self.conn.execute("SELECT r.name, c.field, c.old, c.new, c.by, c.at FROM rater_changes c JOIN raters r "
                                 "ON r.id = c.rater_id ORDER BY c.at, c.id")
        return [dict(zip(("rater", "field", "from", "to", "by", "at"), row)) for row in rows]

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
                "INSERT INTO sessions (id, rater_id, started_at, app_version, guideline_version, rater_role) "
                "VALUES (?, ?, ?, ?, ?, (SELECT role FROM raters WHERE id = ?))",
                (session.id, rater.id, session.started_at, __version__, session.guideline_version, rater.id),
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
