"""Merging raters' files into the lead's project: a trust boundary.

A rater file comes back from another machine, and anything in it may have been changed there. The lead's
project keeps the record of each file it split (`team_files`: the rater and the items given to them), and
`merge` takes from a file only what that rater could have done in their desk, checked by the rules the
desk's own writes obey:
- the file must carry the id of a file this project split (else it is refused whole: another project's file,
  or one made apart);
- labels by that rater only, as source `human`, on items assigned to them whose content is the lead's, with
  a payload valid for its kind and item, a display order of the item's candidates, a guideline version the
  lead knows, and a `supersedes` naming that rater's own, still current label on the same item;
- one vote per rater and item (`store.votes`): a vote on an item where the lead already holds a current vote of
  that rater supersedes it (a re-label: both kept, the new one current) when the file was split to re-label that
  item (`split --relabel`) or when it is the later by the rater's clock and sequence; an earlier one is refused;
- an item gains a candidate only as that rater's rewrite (source human-rewrite, named by their rewrite label);
- the rater's role is the one the lead gave them; the file's raters, items, guidelines, runs and versions
  are never taken.
Everything else is refused and reported, one line each; nothing the lead has is overwritten. All files go in
one transaction, after a backup copy; a damaged or unreadable file changes nothing and leaves no backup.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import zlib
from collections import Counter
from pathlib import Path

from prefdesk.domain import LabelKind
from prefdesk.domain.payloads import payload_problems
from prefdesk.domain.models import MAX_DURATION_MS
from prefdesk.domain.settings import DEFAULT_SETTINGS
from prefdesk.store.connection import backup_copy, identify, read_connection
from prefdesk.store.ids import utc_now
from prefdesk.store.migrations import SCHEMA_VERSION
from prefdesk.store.overlap import recount_raters
from prefdesk.store.project import Project, ProjectError
from prefdesk.store.rows import candidates_from_json, candidates_to_json, rows_in
from prefdesk.store import votes
from prefdesk.store.team import FINGERPRINT_COLUMNS, fingerprint

LABEL_COLUMNS = ("id", "item_id", "rater_id", "session_id", "kind", "payload", "created_at", "duration_ms",
                 "guideline_version", "app_version", "round", "display_order", "source", "confidence", "supersedes")
COUNTS = ("labels_added", "labels_relabelled", "labels_already_present", "labels_refused", "items_matched_by_id", "items_refused",
          "candidates_added", "sessions_added", "flags_added", "runs_not_merged", "versions_not_merged")


def merge(lead: Project, files: list[str | Path]) -> dict:
    """Merge rater files into the lead's project (see module): what came in, conflicts and refusals."""
    paths = [Path(f) for f in files]
    for path in paths:
        identify(path)  # a newer schema, another program's file: refused before anything is written
        if path.resolve() == lead.path.resolve():
            raise ProjectError(f"{path}: that is the lead's own project")
    counts: Counter = Counter()
    conflicts: list[dict] = []
    backup = lead.path.with_name(f"{lead.path.name}.before-merge-{utc_now().replace(':', '')}.bak")
    with tempfile.TemporaryDirectory(prefix="prefdesk-merge-") as tmp:
        sources = [(path, _readable(path, Path(tmp))) for path in paths]
        records = [_team_file(lead, path, readable) for path, readable in sources]
        try:
            backup_copy(lead.conn, backup)
            with lead.bulk_write() as conn:
                for (path, readable), record in zip(sources, records):
                    src = read_connection(readable)
                    try:
                        _Merge(lead, conn, src, path, record, counts, conflicts).run()
                    finally:
                        src.close()
        except sqlite3.DatabaseError as exc:  # a damaged page, a disk that is full or read-only
            backup.unlink(missing_ok=True)
            raise ProjectError(f"merge refused, the project was not changed: {_why(exc)}") from exc
        except BaseException:
            backup.unlink(missing_ok=True)
            raise
    lead._settings_cache = None
    return {"files": [str(p) for p in paths], "backup": str(backup), **{k: counts[k] for k in COUNTS},
            "conflicts": [c for c in conflicts if c["kind"] != "refused"],
            "refused": [c for c in conflicts if c["kind"] == "refused"]}


def merge_summary(out: dict, most: int = 20) -> str:
    """A merge's result as a lead reads it (the CLI and the desk)."""
    lines = [f"{out['labels_added']} labels added ({out['labels_relabelled']} re-labels superseding the rater's "
             f"earlier vote, {out['labels_already_present']} already here, "
             f"{out['labels_refused']} refused), {out['candidates_added']} rewritten answers added, "
             f"{out['sessions_added']} sessions, {out['flags_added']} flags. "
             f"A copy of the project as it was: {out['backup']}"]
    for title, entries in (("conflicts (the project's own values were kept)", out["conflicts"]),
                           ("refused", out["refused"])):
        if entries:
            lines.append(f"{len(entries)} {title}:")
            lines += [f"• {Path(c['file']).name}: {c['what']}" for c in entries[:most]]
            if len(entries) > most:
                lines.append(f"• … and {len(entries) - most} more (prefdesk merge --json lists them all)")
    return "\n".join(lines)


def _why(exc: Exception) -> str:
    text = str(exc)
    if "malformed" in text or "not a database" in text:
        return f"a file is damaged ({text})"
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return f"a file cannot be opened ({text}); copy rater files from read-only media to a folder first"
    return f"the disk is full ({text}); free space and merge again" if "full" in text else text


def _readable(path: Path, tmp: Path) -> Path:
    """The file itself if it has this app's schema, else a migrated copy (the rater's file is not touched)."""
    try:
        conn = read_connection(path)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
        if version == SCHEMA_VERSION:
            return path
        copy = tmp / f"{len(list(tmp.iterdir()))}-{path.name}"
        backup_copy(path, copy)
        Project.open(copy).close()
        return copy
    except sqlite3.DatabaseError as exc:
        raise ProjectError(f"{path}: {_why(exc)}; the project was not changed") from exc


def _team_file(lead: Project, path: Path, readable: Path) -> tuple[str, str, str, dict[str, list]]:
    """(file id, rater id, rater name, {item id: [fingerprint, candidates]} as given) of a file this project
    split; refused otherwise."""
    conn = read_connection(readable)
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM team_files")]
    except sqlite3.DatabaseError as exc:
        raise ProjectError(f"{path}: {_why(exc)}; the project was not changed") from exc
    finally:
        conn.close()
    row = lead.conn.execute("SELECT t.id, t.rater_id, r.name, t.items FROM team_files t JOIN raters r ON r.id = "
                            "t.rater_id WHERE t.id = ?", (ids[0],)).fetchone() if len(ids) == 1 else None
    if row is None:
        raise ProjectError(f"{path}: not a rater file split from {lead.path.name} (`prefdesk split`); a file from "
                           "another project or made apart cannot be merged, and nothing was changed")
    return row[0], row[1], row[2], json.loads(zlib.decompress(row[3]))


class _Merge:
    """One rater file into the lead, inside the caller's transaction."""

    def __init__(self, lead: Project, conn: sqlite3.Connection, src: sqlite3.Connection, path: Path,
                 record: tuple, counts: Counter, conflicts: list[dict]) -> None:
        self.lead, self.conn, self.src, self.path = lead, conn, src, path
        self.counts, self.conflicts = counts, conflicts
        _, self.rater_id, self.rater_name, self.assigned = record
        self.relabel = {i for i, given in self.assigned.items() if given[2:] == ["relabel"]}  # `split --relabel`
        self.shape: dict[str, tuple[str, int, int]] = {}  # item id -> (kind, candidates, steps) as merged
        self.rewrites: set[tuple[str, int]] = set()  # (item, candidate position) the rater's rewrite labels name
        self.sessions: set[str] = set()  # the rater's sessions, in the lead once `_sessions` ran
        self.guidelines = {v for (v,) in conn.execute("SELECT version FROM guidelines")}  # the lead's: labels need one

    def run(self) -> None:
        self._settings_and_guidelines()
        self._rater()
        self._items()
        self._sessions()
        self._labels()
        self._flags_and_schedule()
        self._not_merged()

    def _report(self, kind: str, what: str, **details) -> None:
        self.conflicts.append({"file": str(self.path), "kind": kind, "what": what, **details})

    def _refuse(self, what: str, **details) -> None:
        self._report("refused", what, **details)

    def _settings_and_guidelines(self) -> None:
        def in_force(conn: sqlite3.Connection) -> dict:
            return {**DEFAULT_SETTINGS, **{k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM settings")}}
        lead, theirs = in_force(self.conn), in_force(self.src)
        for key in sorted(set(lead) | set(theirs)):
            if lead.get(key) != theirs.get(key):
                self._report("setting", f"setting {key}: the lead's {lead.get(key)!r} kept, the file has "
                             f"{theirs.get(key)!r}", setting=key, lead=lead.get(key), theirs=theirs.get(key))
        mine = dict(self.conn.execute("SELECT version, text FROM guidelines"))
        for version, text in self.src.execute("SELECT version, text FROM guidelines"):
            if mine.get(version) != text:
                self._report("guideline version", f"guideline version {version!r} differs from the lead's or is "
                             "unknown to it; guidelines come from the lead only", version=version)

    def _rater(self) -> None:
        row = self.src.execute("SELECT name FROM raters WHERE id = ?", (self.rater_id,)).fetchone()
        if row is None:
            self._refuse(f"the file does not hold its rater {self.rater_name!r}")
        elif row[0] != self.rater_name:
            self._report("rater", f"the file names its rater {row[0]!r}; they stay {self.rater_name!r}")
        others = self.src.execute("SELECT name, role FROM raters WHERE id != ?", (self.rater_id,)).fetchall()
        for name, role in others:
            self._refuse(f"rater {name!r} ({role}) is not the one the file was split for; none of their work is taken")

    def _items(self) -> None:
        """Each item of the file against what the lead gave (its fingerprint then): the lead may have changed
        it since (promoted it to gold), the rater may not have."""
        lead_rows = {r[0]: r for r in _rows_by_id(self.conn, "items", FINGERPRINT_COLUMNS, sorted(self.assigned))}
        for row in self.src.execute(f"SELECT {FINGERPRINT_COLUMNS} FROM items"):
            item_id = row[0]
            if item_id not in self.assigned or item_id not in lead_rows:
                self.counts["items_refused"] += 1
                self._refuse(f"item {item_id}: not one the lead gave {self.rater_name}", item=item_id)
                continue
            given, n_given = self.assigned[item_id][:2]
            theirs = _candidates(row[7])
            if theirs is None or len(theirs) < n_given or fingerprint(row, n_given) != given:
                self.counts["items_refused"] += 1
                changed = [name for name, a, b in zip(FINGERPRINT_COLUMNS.split(", ")[1:7], lead_rows[item_id][1:7],
                                                      row[1:7]) if a != b] or ["candidates"]
                self._refuse(f"item {item_id}: changed in the file since it was given ({', '.join(changed)}); "
                             "labels on it refused", item=item_id)
                continue
            lead = lead_rows[item_id]
            have = candidates_from_json(lead[7])
            self.counts["items_matched_by_id"] += 1
            self.shape[item_id] = (lead[1], max(len(have), len(theirs)), len(json.loads(lead[4])) if lead[4] else 0)
            self._extra_candidates(item_id, have, theirs, n_given)

    def _extra_candidates(self, item_id: str, have: tuple, theirs: tuple, n_given: int) -> None:
        """Candidates past those given: taken only as this rater's rewrites (checked again with the labels), and
        only where the lead's item has none of its own there (another rater's rewrite merged first)."""
        if [c.text for c in theirs[n_given:len(have)]] != [c.text for c in have[n_given:len(theirs)]]:
            self._refuse(f"item {item_id}: {self.rater_name}'s rewritten answer takes a place another rewrite "
                         "took in the lead's project; labels on it refused, merge it after that is settled", item=item_id)
            del self.shape[item_id]
            self.counts["items_refused"] += 1
            return
        extra = theirs[len(have):]
        if not extra:
            return
        payloads = [_json(p) for (p,) in self.src.execute(
            "SELECT payload FROM labels WHERE item_id = ? AND kind = 'rewrite' AND rater_id = ? AND source = 'human'",
            (item_id, self.rater_id))]
        named = {p.get("rewrite") for p in payloads if isinstance(p, dict)}
        if any(c.source != "human-rewrite" or c.position not in named for c in extra):
            self._refuse(f"item {item_id}: {len(extra)} added candidate(s) not all {self.rater_name}'s rewrites; "
                         "labels on it refused", item=item_id)
            del self.shape[item_id]
            self.counts["items_refused"] += 1
            return
        self.conn.execute("UPDATE items SET candidates = ? WHERE id = ?", (candidates_to_json(theirs), item_id))
        self.rewrites.update((item_id, c.position) for c in extra)
        self.counts["candidates_added"] += len(extra)

    def _sessions(self) -> None:
        rows = self.src.execute("SELECT id, rater_id, started_at, ended_at, app_version, guideline_version "
                                "FROM sessions WHERE rater_id = ?", (self.rater_id,)).fetchall()
        known = {r[0] for r in _rows_by_id(self.conn, "sessions", "id", [r[0] for r in rows])}
        new = [r for r in rows if r[0] not in known]
        self.conn.executemany("INSERT INTO sessions (id, rater_id, started_at, ended_at, app_version, guideline_version"
                              ", rater_role) VALUES (?, ?, ?, ?, ?, ?, (SELECT role FROM raters WHERE id = ?))",
                              [(*r, r[1]) for r in new])  # the role the lead gave them, never the file's
        self.counts["sessions_added"] += len(new)
        self.sessions = known | {r[0] for r in new}

    def _labels(self) -> None:
        cols = ", ".join(LABEL_COLUMNS)
        rows = self.src.execute(f"SELECT {cols} FROM labels ORDER BY rowid").fetchall()
        present = {r[0]: r for r in _rows_by_id(self.conn, "labels", cols, [r[0] for r in rows])}
        accepted = []
        for row in rows:
            if row[0] in present:
                mine = present[row[0]]  # a re-label's `supersedes` is the lead's, set when it was merged
                if mine[:-1] == row[:-1] and row[-1] in (None, mine[-1]):
                    self.counts["labels_already_present"] += 1
                else:
                    self.counts["labels_refused"] += 1
                    self._refuse(f"label {row[0]}: the lead holds another label under this id", label=row[0])
                continue
            problem = self._label_problem(row)
            if problem:
                self.counts["labels_refused"] += 1
                self._refuse(f"label {row[0]}: {problem}", label=row[0])
                continue
            row, problem = self._one_vote(row) if row[4] != "rewrite" and row[-1] is None else (row, None)
            if problem:
                self.counts["labels_refused"] += 1
                self._refuse(f"label {row[0]}: {problem}", label=row[0], item=row[1])
                continue
            self.conn.execute(f"INSERT INTO labels ({cols}) VALUES ({', '.join('?' * len(LABEL_COLUMNS))})", row)
            accepted.append(row)
        self.counts["labels_added"] += len(accepted)
        overlap = int(self.lead.settings["overlap"])
        touched = sorted({r[1] for r in accepted})
        recount_raters(self.conn, touched, overlap)
        over = self.conn.execute("SELECT COUNT(*) FROM items WHERE is_gold = 0 AND n_raters > ? AND id IN "
                                 "(SELECT value FROM json_each(?))", (overlap, json.dumps(touched))).fetchone()[0]
        if over:  # the rater did the work given to them; others (or the lead) filled the items meanwhile
            self._report("overlap", f"{over} item(s) given to {self.rater_name} now have more raters than the "
                         f"overlap ({overlap}): labelled meanwhile by others; all labels are kept", items=over)

    def _one_vote(self, row: tuple) -> tuple[tuple, str | None]:
        """A vote superseding none, against the lead's current vote of the rater on the item (see module): the row
        to write (superseding that vote), or why it is refused."""
        current = votes.current_vote(self.conn, row[1], self.rater_id, row[10])
        if current is None:
            return row, None
        if row[1] not in self.relabel and not votes.later((row[6], row[0]), (current[1], current[0])):
            return row, (f"{self.rater_name} already holds a later current vote on item {row[1]} (label {current[0]}, "
                         f"{current[1]}); one vote per rater and item: the earlier is refused")
        self.counts["labels_relabelled"] += 1
        if row[1] not in self.relabel:
            self._report("relabel", f"item {row[1]}: {self.rater_name} labelled it again, unasked; their later "
                         f"label {row[0]} supersedes {current[0]}, both kept", item=row[1], label=row[0])
        return (*row[:-1], current[0]), None

    def _label_problem(self, row: tuple) -> str | None:
        """Why a label cannot come in, or None: the rules the desk's own writes obey."""
        (label_id, item_id, rater_id, session_id, kind, payload, created_at, duration_ms, guideline_version,
         _app, round_, display_order, source, confidence, supersedes) = row
        if rater_id != self.rater_id:
            name = self.src.execute("SELECT name FROM raters WHERE id = ?", (rater_id,)).fetchone()
            return f"by {name[0] if name else rater_id!r}, not {self.rater_name}, whom the file was split for"
        if source != "human":
            return f"source {source!r}: a rater file brings the rater's own (human) labels only"
        if item_id not in self.shape:
            return "on an item not assigned to this rater, or whose content differs from the lead's"
        item_kind, n_candidates, n_steps = self.shape[item_id]
        if kind not in {k.value for k in LabelKind} or kind not in (item_kind, "rewrite"):
            return f"a {kind!r} label on a {item_kind} item"
        parsed = _json(payload)
        problems = payload_problems(LabelKind(kind), parsed, n_candidates, n_steps)
        if problems:
            return f"{problems[0][0]}: {problems[0][1]}"
        if kind == "rewrite" and (item_id, parsed.get("rewrite")) not in self.rewrites | self._lead_rewrites(item_id):
            return "a rewrite naming a candidate that is not the rater's rewritten answer"
        order = _json(display_order) if display_order is not None else None
        if display_order is not None and (not isinstance(order, list) or len(order) > n_candidates
                                          or sorted(order) != list(range(len(order)))):
            return f"display order {display_order} is not an order of the item's candidates"
        if round_ not in (1, 2) or not isinstance(created_at, str) or len(created_at) < 19:
            return "round or time not as the desk writes them"
        if duration_ms is not None and not (isinstance(duration_ms, int) and 0 <= duration_ms <= MAX_DURATION_MS):
            return f"duration {duration_ms!r} ms"
        if confidence is not None and not (isinstance(confidence, (int, float)) and 0 <= confidence <= 1):
            return f"confidence {confidence!r}"
        if guideline_version not in self.guidelines:
            return f"guideline version {guideline_version!r} is unknown to the lead"
        if session_id is not None and session_id not in self.sessions:
            return "its session is not one of the rater's"
        if supersedes is not None:
            target = self.conn.execute("SELECT rater_id, item_id, round, kind FROM labels WHERE id = ?",
                                       (supersedes,)).fetchone()
            if target is None or target[:2] != (self.rater_id, item_id):
                return f"re-does label {supersedes}, which is not the rater's own on this item"
            if target[2:] != (round_, kind):
                return f"re-does label {supersedes}, which is of another round or kind"
            if votes.no_longer_current(self.conn, supersedes):
                return f"re-does label {supersedes}, which was re-done already; the one there is kept"
        return None

    def _lead_rewrites(self, item_id: str) -> set[tuple[str, int]]:
        """Rewritten answers of this rater's that the lead already holds (merged before)."""
        return {(item_id, json.loads(p).get("rewrite")) for (p,) in self.conn.execute(
            "SELECT payload FROM labels WHERE item_id = ? AND rater_id = ? AND kind = 'rewrite'", (item_id, self.rater_id))}

    def _flags_and_schedule(self) -> None:
        flags = [r for r in self.src.execute("SELECT id, item_id, rater_id, created_at, note FROM flags")
                 if r[2] == self.rater_id and r[1] in self.shape]
        known = {r[0] for r in _rows_by_id(self.conn, "flags", "id", [r[0] for r in flags])}
        new = [r for r in flags if r[0] not in known]
        self.conn.executemany("INSERT INTO flags VALUES (?, ?, ?, ?, ?)", new)
        self.counts["flags_added"] += len(new)
        self.conn.executemany(
            "INSERT OR IGNORE INTO reannotations (item_id, rater_id, first_label, due_at, done_label) "
            "SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM labels WHERE id = ?)",
            [(*r, r[2]) for r in self.src.execute("SELECT item_id, rater_id, first_label, due_at, done_label FROM "
                                                  "reannotations WHERE rater_id = ?", (self.rater_id,))
             if r[0] in self.shape])

    def _not_merged(self) -> None:
        for table, count in (("runs", "runs_not_merged"), ("versions", "versions_not_merged")):
            n = self.src.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            if n:
                self.counts[count] += n
                self._refuse(f"{n} {table}: training runs and dataset versions are the lead's, not a rater file's")


def _rows_by_id(conn: sqlite3.Connection, table: str, cols: str, ids: list[str]) -> list[tuple]:
    return list(rows_in(conn, f"SELECT {cols} FROM {table} WHERE id IN ({{marks}})", ids))


def _json(raw):
    try:
        return json.loads(raw) if isinstance(raw, (str, bytes)) else None
    except ValueError:
        return None


def _candidates(raw) -> tuple | None:
    try:
        return candidates_from_json(raw)
    except (ValueError, TypeError, KeyError):
        return None
