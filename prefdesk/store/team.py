"""Team work without a server: a lead splits the open items into one project file per rater, each labels
in their own desk, and the lead merges the files back.

`split` writes DIR/NAME.prefdesk for each rater: the project's settings and guidelines, the rater, the items
assigned to them (each open item to `overlap` raters, in turn; gold items to all), with the lead's item
ids, so the merge matches them by id.

`merge` brings every rater file into the lead's project in one transaction, after a backup copy:
- items by id, else by content (a file made apart from the lead's, with the same items imported under
  other ids, merges without a duplicate item); an item that gained candidates there (a rewrite) gains
  them here;
- labels added once, by id (merging a file twice adds nothing), with their raters (by name), sessions,
  flags, re-annotation schedule, guideline versions, runs and scores, and dataset versions;
- a setting that differs, a guideline version of the same name with another text, a label re-done on
  both sides: reported as conflicts, never silently overwritten (the lead's settings stay; both labels
  stay);
- a file from a newer PrefDesk is refused (`identify`); one from an older one is read from a migrated
  temporary copy (the rater's file is not changed).
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections import Counter
from pathlib import Path

from prefdesk.domain.settings import DEFAULT_SETTINGS
from prefdesk.store.connection import backup_copy, identify, read_connection
from prefdesk.store.ids import stored_content, utc_now, uuid7
from prefdesk.store.migrations import SCHEMA_VERSION
from prefdesk.store.project import Project, ProjectError, recount_raters
from prefdesk.store.rows import candidates_from_json, candidates_to_json

_ITEM_COLUMNS = ("id", "kind", "prompt", "prompt_messages", "meta", "scenario", "risk_level", "bucket", "is_gold",
                 "priority", "source", "batch_id", "content_hash", "created_at", "candidates", "steps", "gold_answer",
                 "gold_from")
_LABEL_COLUMNS = ("id", "item_id", "rater_id", "session_id", "kind", "payload", "created_at", "duration_ms",
                  "guideline_version", "app_version", "round", "display_order", "source", "confidence", "supersedes")


# -- split ----------------------------------------------------------------------------------------------
def split(project: Project, raters: list[str], out_dir: str | Path, overlap: int = 1,
          filters: dict[str, list[str]] | None = None) -> list[dict]:
    """One project file per rater (see module); returns each file's rater, path and item counts."""
    raters = [r.strip() for r in raters if r.strip()]
    if not raters or len(set(raters)) != len(raters):
        raise ProjectError("--raters: name each rater once, e.g. ana,ben,cy")
    if not 1 <= overlap <= len(raters):
        raise ProjectError(f"--overlap {overlap}: each item goes to 1 to {len(raters)} of the {len(raters)} raters")
    out_dir = Path(out_dir)
    targets = {name: out_dir / f"{name}.prefdesk" for name in raters}
    taken = [str(p) for p in targets.values() if p.exists()]
    if taken:
        raise ProjectError(f"{', '.join(taken)}: already there; split into an empty folder")
    where, args = ["is_gold = 0", "open = 1"], []
    for key, values in (filters or {}).items():
        where.append(f"{key} IN ({', '.join('?' * len(values))})")
        args += values
    open_items = [i for (i,) in project.conn.execute(
        f"SELECT id FROM items WHERE {' AND '.join(where)} ORDER BY priority DESC, id", args)]
    gold = [i for (i,) in project.conn.execute("SELECT id FROM items WHERE is_gold = 1 ORDER BY id")]
    assigned: dict[str, list[str]] = {name: [] for name in raters}
    for j, item_id in enumerate(open_items):
        for t in range(overlap):
            assigned[raters[(j * overlap + t) % len(raters)]].append(item_id)
    out = []
    for name in raters:
        _write_rater_file(project, name, targets[name], assigned[name] + gold)
        out.append({"rater": name, "path": str(targets[name]), "items": len(assigned[name]), "gold_items": len(gold)})
    return out


def _write_rater_file(project: Project, name: str, path: Path, item_ids: list[str]) -> None:
    """A new project holding the lead's settings, guidelines, this rater and these items (ids kept)."""
    tmp = path.with_name(path.name + ".building")
    tmp.unlink(missing_ok=True)
    src = project.conn
    with Project.create(tmp) as rater_project:
        conn = rater_project.conn
        with rater_project.transaction():
            conn.execute("DELETE FROM settings")
            conn.executemany("INSERT INTO settings VALUES (?, ?)", src.execute("SELECT key, value FROM settings"))
            conn.execute("DELETE FROM guidelines")
            conn.executemany("INSERT INTO guidelines (version, text, created_at, clause, item_id) VALUES (?, ?, ?, ?, ?)",
                             src.execute("SELECT version, text, created_at, clause, item_id FROM guidelines"))
            row = src.execute("SELECT id, name, role, level, notes, created_at FROM raters WHERE name = ?", (name,)).fetchone()
            conn.execute("INSERT INTO raters (id, name, role, level, notes, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                         row or (uuid7(), name, "annotator", None, f"split from {project.path.name}", utc_now()))
            columns = ", ".join(_ITEM_COLUMNS)
            for start in range(0, len(item_ids), 500):
                chunk = item_ids[start:start + 500]
                rows = src.execute(f"SELECT {columns} FROM items WHERE id IN ({', '.join('?' * len(chunk))})", chunk)
                conn.executemany(f"INSERT INTO items ({columns}) VALUES ({', '.join('?' * len(_ITEM_COLUMNS))})",
                                 [_without_batch(r) for r in rows])
    tmp.replace(path)


def _without_batch(row: tuple) -> tuple:
    """An item row for another file: its import batch stays behind (the batch table does not travel)."""
    row = list(row)
    row[_ITEM_COLUMNS.index("batch_id")] = None
    return tuple(row)


# -- merge ----------------------------------------------------------------------------------------------
def merge(lead: Project, files: list[str | Path]) -> dict:
    """Merge rater files into the lead's project (see module); the figures of what came in, and conflicts."""
    paths = [Path(f) for f in files]
    for path in paths:
        identify(path)  # a newer schema, another program's file: refused before anything is written
        if path.resolve() == lead.path.resolve():
            raise ProjectError(f"{path}: that is the lead's own project")
    counts: Counter = Counter()
    conflicts: list[dict] = []
    backup = lead.path.with_name(f"{lead.path.name}.before-merge-{utc_now().replace(':', '')}.bak")
    backup_copy(lead.conn, backup)
    with tempfile.TemporaryDirectory(prefix="prefdesk-merge-") as tmp:
        sources = [(path, _readable(path, Path(tmp))) for path in paths]
        with lead.bulk_write() as conn:
            for path, readable in sources:
                src = read_connection(readable)
                try:
                    _Merge(lead, conn, src, path, counts, conflicts).run()
                finally:
                    src.close()
    lead._settings_cache = None
    return {"files": [str(p) for p in paths], "backup": str(backup), **{k: counts[k] for k in (
        "items_added", "items_matched_by_id", "items_matched_by_content", "labels_added", "labels_already_present",
        "raters_added", "sessions_added", "flags_added", "guideline_versions_added", "runs_added", "versions_added")},
        "conflicts": conflicts}


def _readable(path: Path, tmp: Path) -> Path:
    """The file itself if it has this app's schema, else a migrated copy (the rater's file is not touched)."""
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


class _Merge:
    """One rater file into the lead, inside the caller's transaction."""

    def __init__(self, lead: Project, conn: sqlite3.Connection, src: sqlite3.Connection, path: Path,
                 counts: Counter, conflicts: list[dict]) -> None:
        self.lead, self.conn, self.src, self.path = lead, conn, src, path
        self.counts, self.conflicts = counts, conflicts
        self.items: dict[str, str] = {}  # the file's item id -> the lead's
        self.raters: dict[str, str] = {}  # the file's rater id -> the lead's

    def run(self) -> None:
        self._settings()
        self._guidelines()
        self._raters()
        self._items()
        self._sessions()
        self._labels()
        self._flags_and_schedule()
        self._runs_and_versions()

    def _conflict(self, kind: str, **details) -> None:
        self.conflicts.append({"file": str(self.path), "kind": kind, **details})

    def _settings(self) -> None:
        """Settings in force on each side (defaults included) that differ: reported; the lead's stay."""
        def in_force(conn: sqlite3.Connection) -> dict:
            return {**DEFAULT_SETTINGS, **{k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM settings")}}
        lead, theirs = in_force(self.conn), in_force(self.src)
        for key in sorted(set(lead) | set(theirs)):
            if lead.get(key) != theirs.get(key):
                self._conflict("setting", setting=key, lead=lead.get(key), file=theirs.get(key))

    def _guidelines(self) -> None:
        lead = dict(self.conn.execute("SELECT version, text FROM guidelines"))
        for version, text, created_at, clause, item_id in self.src.execute(
                "SELECT version, text, created_at, clause, item_id FROM guidelines ORDER BY created_at"):
            if version not in lead:
                self.conn.execute("INSERT INTO guidelines (version, text, created_at, clause, item_id) VALUES (?, ?, ?, ?, ?)",
                                  (version, text, created_at, clause, item_id))
                self.counts["guideline_versions_added"] += 1
            elif lead[version] != text:
                self._conflict("guideline version", version=version,
                               detail="the same version name holds another text; the lead's is kept")

    def _raters(self) -> None:
        by_name = {name: rid for rid, name in self.conn.execute("SELECT id, name FROM raters")}
        ids = set(by_name.values())
        for rid, name, role, level, notes, created_at in self.src.execute(
                "SELECT id, name, role, level, notes, created_at FROM raters"):
            if name in by_name:
                self.raters[rid] = by_name[name]
                continue
            new_id = rid if rid not in ids else uuid7()
            self.conn.execute("INSERT INTO raters (id, name, role, level, notes, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                              (new_id, name, role, level, notes, created_at))
            by_name[name], self.raters[rid] = new_id, new_id
            ids.add(new_id)
            self.counts["raters_added"] += 1

    def _items(self) -> None:
        columns = ", ".join(_ITEM_COLUMNS)
        rows = self.src.execute(f"SELECT {columns} FROM items").fetchall()
        known = _existing(self.conn, "items", [r[0] for r in rows])
        by_hash: dict[int, list[tuple]] | None = None
        new_rows = []
        at = {c: k for k, c in enumerate(_ITEM_COLUMNS)}
        for row in rows:
            item_id = row[0]
            if item_id in known:
                self.items[item_id] = item_id
                self.counts["items_matched_by_id"] += 1
                self._extend_candidates(item_id, row[at["candidates"]])
                continue
            if by_hash is None:
                by_hash = self._lead_hashes([r[at["content_hash"]] for r in rows if r[0] not in known])
            mine = stored_content(row[at["kind"]], row[at["prompt"]], row[at["candidates"]], row[at["steps"]])
            match = next((lead_id for lead_id, *content in by_hash.get(row[at["content_hash"]], [])
                          if stored_content(*content) == mine), None)
            if match is not None:
                self.items[item_id] = match
                self.counts["items_matched_by_content"] += 1
                continue
            self.items[item_id] = item_id
            new_rows.append(_without_batch(row))
        self.conn.executemany(f"INSERT INTO items ({columns}, n_raters, open) VALUES "
                              f"({', '.join('?' * len(_ITEM_COLUMNS))}, 0, 1)", new_rows)
        self.counts["items_added"] += len(new_rows)

    def _lead_hashes(self, hashes: list[int]) -> dict[int, list[tuple]]:
        out: dict[int, list[tuple]] = {}
        for start in range(0, len(hashes), 500):
            chunk = hashes[start:start + 500]
            for chash, *rest in self.conn.execute(
                    f"SELECT content_hash, id, kind, prompt, candidates, steps FROM items "
                    f"WHERE content_hash IN ({', '.join('?' * len(chunk))})", chunk):
                out.setdefault(chash, []).append(tuple(rest))
        return out

    def _extend_candidates(self, item_id: str, incoming: str) -> None:
        """A rewrite made on the rater's machine added a candidate: the lead's item gains it too."""
        (stored,) = self.conn.execute("SELECT candidates FROM items WHERE id = ?", (item_id,)).fetchone()
        have, theirs = candidates_from_json(stored), candidates_from_json(incoming)
        if len(theirs) <= len(have):
            return
        if [c.text for c in theirs[:len(have)]] != [c.text for c in have]:
            self._conflict("item", item=item_id, detail="its candidates differ between the files; the lead's are kept")
            return
        self.conn.execute("UPDATE items SET candidates = ? WHERE id = ?", (candidates_to_json(theirs), item_id))

    def _sessions(self) -> None:
        rows = self.src.execute("SELECT id, rater_id, started_at, ended_at, app_version, guideline_version FROM sessions").fetchall()
        known = _existing(self.conn, "sessions", [r[0] for r in rows])
        new = [(r[0], self.raters[r[1]], *r[2:]) for r in rows if r[0] not in known]
        self.conn.executemany("INSERT INTO sessions (id, rater_id, started_at, ended_at, app_version, guideline_version) "
                              "VALUES (?, ?, ?, ?, ?, ?)", new)
        self.counts["sessions_added"] += len(new)

    def _labels(self) -> None:
        columns = ", ".join(_LABEL_COLUMNS)
        rows = self.src.execute(f"SELECT {columns} FROM labels ORDER BY rowid").fetchall()
        known = _existing(self.conn, "labels", [r[0] for r in rows])
        superseded = {s for (s,) in self.conn.execute("SELECT supersedes FROM labels WHERE supersedes IS NOT NULL")}
        new = []
        for row in rows:
            if row[0] in known:
                self.counts["labels_already_present"] += 1
                continue
            supersedes = row[-1]
            if supersedes is not None and supersedes in superseded:
                self._conflict("label", label=row[0], detail=f"re-does label {supersedes}, which was re-done in the "
                               "lead's project too; both are kept for a reviewer")
            superseded.add(supersedes)
            new.append((row[0], self.items[row[1]], self.raters[row[2]], *row[3:]))
        self.conn.executemany(f"INSERT INTO labels ({columns}) VALUES ({', '.join('?' * len(_LABEL_COLUMNS))})", new)
        self.counts["labels_added"] += len(new)
        recount_raters(self.conn, [r[1] for r in new], int(self.lead.settings["overlap"]))

    def _flags_and_schedule(self) -> None:
        flags = self.src.execute("SELECT id, item_id, rater_id, created_at, note FROM flags").fetchall()
        known = _existing(self.conn, "flags", [r[0] for r in flags])
        new = [(r[0], self.items[r[1]], self.raters[r[2]], r[3], r[4]) for r in flags if r[0] not in known]
        self.conn.executemany("INSERT INTO flags VALUES (?, ?, ?, ?, ?)", new)
        self.counts["flags_added"] += len(new)
        self.conn.executemany(
            "INSERT OR IGNORE INTO reannotations (item_id, rater_id, first_label, due_at, done_label) VALUES (?, ?, ?, ?, ?)",
            [(self.items[i], self.raters[r], *rest) for i, r, *rest in self.src.execute(
                "SELECT item_id, rater_id, first_label, due_at, done_label FROM reannotations")])

    def _runs_and_versions(self) -> None:
        runs = self.src.execute("SELECT id, kind, spec, dataset, dataset_manifest, started_at, finished_at, status, "
                                "report, model_dir, events FROM runs").fetchall()
        known = _existing(self.conn, "runs", [r[0] for r in runs])
        for run in runs:
            if run[0] in known:
                continue
            self.conn.execute("INSERT INTO runs (id, kind, spec, dataset, dataset_manifest, started_at, finished_at, "
                              "status, report, model_dir, events) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", run)
            self.conn.executemany("INSERT OR IGNORE INTO scores (run_id, item_id, position, score, dims) VALUES (?, ?, ?, ?, ?)",
                                  [(r, self.items[i], *rest) for r, i, *rest in self.src.execute(
                                      "SELECT run_id, item_id, position, score, dims FROM scores WHERE run_id = ?", (run[0],))])
            self.counts["runs_added"] += 1
        versions = self.src.execute("SELECT name, created_at, parent, aggregate, filters, layers, quotas, labels, manifest "
                                    "FROM versions ORDER BY created_at").fetchall()
        lead = dict(self.conn.execute("SELECT name, manifest FROM versions"))
        for row in versions:
            if row[0] not in lead:
                self.conn.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
                self.counts["versions_added"] += 1
            elif json.loads(lead[row[0]])["labels_sha256"] != json.loads(row[8])["labels_sha256"]:
                self._conflict("version", version=row[0], detail="the same name holds other labels; the lead's is kept")


def _existing(conn: sqlite3.Connection, table: str, ids: list[str]) -> set[str]:
    """Which of these ids the table holds already."""
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        found.update(r[0] for r in conn.execute(
            f"SELECT id FROM {table} WHERE id IN ({', '.join('?' * len(chunk))})", chunk))
    return found
