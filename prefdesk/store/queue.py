"""The queue: which item a rater sees next.

Rules, in order: every `round(1/gold_rate)`-th item is a gold item the rater has not done (if any);
every REANNOTATE_EVERY-th item is one of the rater's own past items due to come back (round 2, see
`Project._schedule_reannotation`), unannounced; otherwise the highest-priority item the rater has not
labelled that is still short of the project's overlap target, counting the raters who have it on their
screen now (leases); skipped items come back after the rest. The scan resumes from the last item served,
so a call costs a few index probes however many items the rater has already done.
"""

from __future__ import annotations

import json

from prefdesk.domain import Item, Rater
from prefdesk.store.ids import utc_now
from prefdesk.store.connection import read_connection
from prefdesk.store.errors import ProjectBusy
from prefdesk.store.overlap import VERDICTS_ONLY
from prefdesk.store.project import Project

_NOT_MINE = ("NOT EXISTS (SELECT 1 FROM labels WHERE labels.item_id = items.id AND labels.rater_id = :rater "
             f"AND {VERDICTS_ONLY})")
_NOT_SKIPPED = "id NOT IN (SELECT value FROM json_each(:skipped))"
REANNOTATE_EVERY = 4  # at most one item in this many is a re-annotation (when any is due)
# Raters who have the item on their screen now count towards the overlap target, as if they had labelled it.
_ROOM = ("n_raters + (SELECT COUNT(*) FROM leases WHERE leases.item_id = items.id AND leases.rater_id != :rater "
         "AND leases.expires_at > :now) < :overlap")


class Queue:
    """The next-item cursor of one rater in one sitting."""

    def __init__(self, project: Project, rater: Rater):
        self.project = project
        self.rater = rater
        self.served = 0
        self._cursor: tuple[float, str] | None = None
        self._skipped: list[str] = []
        self._held: list[str] = []
        self._order: list[str] = []  # an explicit order (the reward model's), served before the rest
        self._review = False
        self._rounds: dict[str, int] = {}  # items served as a re-annotation -> their round

    def order(self, item_ids: list[str] | None, review: bool = False) -> None:
        """Serve these items first, in this order (None: the project's priority order). `review`: items
        others labelled may come back for this rater's look (the overlap target does not hold them back)."""
        self._order = list(reversed(item_ids or []))
        self._review = review

    def next_item_id(self) -> str | None:
        """The id of the next item for this rater, or None when the queue is empty."""
        settings = self.project.settings
        gold_rate = float(settings["gold_rate"])
        self.served += 1
        if gold_rate > 0 and self.served % max(1, round(1 / gold_rate)) == 0:
            gold = self._gold()
            if gold:
                return gold
        if self.served % REANNOTATE_EVERY == 2 and (again := self._reannotation()):
            return again
        while self._order:
            item_id = self._order.pop()
            if self._servable(item_id):
                return item_id
        found = self._scan(self._cursor)
        if found is None and (self._cursor is not None or self._skipped):
            self._skipped = []
            found = self._scan(None)  # wrap around: what was skipped comes back
        if found is None:
            return self._gold() or self._reannotation()
        self._cursor = found
        return found[1]

    def round_of(self, item_id: str) -> int:
        """The round a label on this item is: 2 when it was served as a re-annotation, else 1."""
        return self._rounds.get(item_id, 1)

    def _reannotation(self) -> str | None:
        """The rater's oldest past item due to come back and not yet re-done (nor skipped this sitting)."""
        row = self.project.conn.execute(
            "SELECT item_id FROM reannotations WHERE rater_id = :rater AND done_label IS NULL AND due_at <= :now "
            "AND item_id NOT IN (SELECT value FROM json_each(:skipped)) ORDER BY due_at LIMIT 1", self._args()).fetchone()
        if row is None:
            return None
        self._rounds[row[0]] = 2
        return row[0]

    def next_item(self) -> Item | None:
        """The next item, leased to this rater while it is on their screen."""
        try:
            item_id = self.project.lease_next(self.next_item_id, self.rater)
        except ProjectBusy:  # another program writes: show the next item all the same, unleased
            item_id = self.next_item_id()
        return self.project.item(item_id) if item_id else None

    def done(self, item_id: str) -> None:
        """An item this rater labelled whose label is not in the project yet (held while it was busy)."""
        self._held.append(item_id)

    def skip(self, item_id: str) -> None:
        """Put an item aside for the rest of this pass, and give it back to the others."""
        self._skipped.append(item_id)
        try:
            self.project.release(item_id, self.rater)
        except ProjectBusy:
            pass  # the lease runs out by itself

    def _args(self, **extra: object) -> dict:
        return {"rater": self.rater.id, "skipped": json.dumps(self._skipped + self._held), "now": utc_now(),
                "overlap": int(self.project.settings["overlap"]), **extra}

    def _scan(self, cursor: tuple[float, str] | None) -> tuple[float, str] | None:
        conn = self.project.conn
        base = (f"SELECT priority, id FROM items INDEXED BY items_queue WHERE is_gold = 0 AND open = 1 AND {_NOT_MINE} "
                f"AND {_NOT_SKIPPED} AND {_ROOM}")
        if cursor is not None:
            row = conn.execute(base + " AND priority = :p AND id > :id ORDER BY id LIMIT 1",
                               self._args(p=cursor[0], id=cursor[1])).fetchone()
            if row:
                return row
            return conn.execute(base + " AND priority < :p ORDER BY priority DESC, id LIMIT 1",
                                self._args(p=cursor[0])).fetchone()
        return conn.execute(base + " ORDER BY priority DESC, id LIMIT 1", self._args()).fetchone()

    def _servable(self, item_id: str) -> bool:
        room = "" if self._review else f"AND open = 1 AND {_ROOM}"
        return self.project.conn.execute(f"SELECT 1 FROM items WHERE id = :id AND {_NOT_MINE} AND {_NOT_SKIPPED} {room}",
                                         self._args(id=item_id)).fetchone() is not None

    def _gold(self) -> str | None:
        row = self.project.conn.execute(
            f"SELECT id FROM items INDEXED BY items_queue WHERE is_gold = 1 AND {_NOT_MINE} AND {_NOT_SKIPPED} "
            "ORDER BY is_gold, priority DESC, id LIMIT 1",
            self._args(),
        ).fetchone()
        return row[0] if row else None

    def remaining(self) -> int:
        """See `remaining_for`."""
        return remaining_for(self.project.path, self.rater.id)


def remaining_for(path, rater_id: str) -> int:
    """Items a rater could still be served (open or gold, not labelled by them).

    Opens its own read connection, so it can run off the GUI thread on a big project.
    """
    conn = read_connection(path)
    try:
        return conn.execute(
            f"SELECT COUNT(*) FROM items WHERE (open = 1 OR is_gold = 1) AND {_NOT_MINE}", {"rater": rater_id}
        ).fetchone()[0]
    finally:
        conn.close()



def open_items_for(project: Project, rater_id: str | None) -> list[tuple[str, str]]:
    """(id, prompt) of the items a rater could still be served (open or gold, not labelled by them; every
    open item for a rater not known yet), highest priority first."""
    return project.conn.execute(
        f"SELECT id, prompt FROM items WHERE (open = 1 OR is_gold = 1) AND {_NOT_MINE} ORDER BY priority DESC, id",
        {"rater": rater_id or ""}).fetchall()
