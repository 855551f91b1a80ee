"""Team work without a server: a lead splits the open items into one project file per rater, each labels
in their own desk, and the lead merges the files back (`store.merge`).

`split` writes DIR/NAME.prefdesk for each rater: the project's settings and guidelines, the rater, the items
assigned to them (each open item to `overlap` raters, in turn; gold items to all), with the lead's item
ids. The lead's project records each file (`team_files`: its id, the rater, the items given), and the file
holds the same record: the merge takes from a file only what its rater did on those items.

One vote per rater and item (`store.votes`): a rater is never given an item they hold a current vote on in the
lead (their file does not hold their earlier label, so their desk would offer it as new); the item goes to the
next rater in turn. `relabel` asks for it on purpose (a drift check): each rater is also given the items matching
the filters that they voted on, marked `relabel` in the record, and the merge lets the new label supersede the old.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

from prefdesk.store.ids import utc_now, uuid7
from prefdesk.store.project import Project, ProjectError
from prefdesk.store import votes
from prefdesk.store.rows import rows_in

_ITEM_COLUMNS = ("id", "kind", "prompt", "prompt_messages", "meta", "scenario", "risk_level", "bucket", "is_gold",
                 "priority", "source", "batch_id", "content_hash", "created_at", "candidates", "steps", "gold_answer",
                 "gold_from")


# -- split ----------------------------------------------------------------------------------------------
def split(project: Project, raters: list[str], out_dir: str | Path, overlap: int = 1,
          filters: dict[str, list[str]] | None = None, relabel: bool = False) -> list[dict]:
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
    where, args = ["is_gold = 0"], []
    for key, values in (filters or {}).items():
        where.append(f"{key} IN ({', '.join('?' * len(values))})")
        args += values
    matching = f"SELECT id FROM items WHERE {' AND '.join(where)}"
    open_items = [i for (i,) in project.conn.execute(f"{matching} AND open = 1 ORDER BY priority DESC, id", args)]
    gold = [i for (i,) in project.conn.execute("SELECT id FROM items WHERE is_gold = 1 ORDER BY id")]
    ids = {name: project.ensure_rater(name).id for name in raters}  # the lead knows whom it gives work to
    voted = {name: votes.voted_items(project.conn, rid) for name, rid in ids.items()}
    assigned: dict[str, list[str]] = {name: [] for name in raters}
    turn = 0
    for item_id in open_items:  # each to the next `overlap` raters in turn who have not voted on it
        free = [raters[(turn + t) % len(raters)] for t in range(len(raters))]
        free = [name for name in free if item_id not in voted[name]][:overlap]
        for name in free:
            assigned[name].append(item_id)
        turn = (turn + overlap) % len(raters)
    again: dict[str, list[str]] = {name: [] for name in raters}
    if relabel:
        wanted = {i for (i,) in project.conn.execute(matching, args)}
        again = {name: sorted(voted[name] & wanted) for name in raters}
    out = []
    for name in raters:
        gold_for = [i for i in gold if i not in voted[name]]
        given = fingerprints(project.conn, assigned[name] + gold_for + again[name])
        for item_id in again[name]:
            given[item_id].append("relabel")
        record = (uuid7(), ids[name], utc_now(), str(targets[name]), zlib.compress(json.dumps(given).encode()))
        _write_rater_file(project, name, targets[name], list(given), record)
        with project.transaction() as conn:  # after the file is whole: a record is never of a missing file
            conn.execute("INSERT INTO team_files (id, rater_id, created_at, path, items) VALUES (?, ?, ?, ?, ?)", record)
        out.append({"rater": name, "path": str(targets[name]), "items": len(assigned[name]), "gold_items": len(gold_for),
                    "relabel_items": len(again[name]), "file_id": record[0]})
    return out


FINGERPRINT_COLUMNS = "id, kind, prompt, prompt_messages, steps, is_gold, gold_answer, candidates"


def fingerprint(row: tuple, n_candidates: int | None = None) -> str:
    """What an item was when given to a rater (a `FINGERPRINT_COLUMNS` row; its first `n_candidates`): a
    merge compares the rater's copy with it, so the lead may change the item meanwhile (promote it to gold)
    while a change made in the rater's file is caught."""
    texts = [c.get("text") for c in json.loads(row[7])][:n_candidates]
    return hashlib.sha256(json.dumps([*row[1:7], texts]).encode()).hexdigest()[:32]


def fingerprints(conn, item_ids: list[str]) -> dict[str, list]:
    """Item id -> [fingerprint, number of candidates] now."""
    return {row[0]: [fingerprint(row), len(json.loads(row[7]))]
            for row in rows_in(conn, f"SELECT {FINGERPRINT_COLUMNS} FROM items WHERE id IN ({{marks}})", item_ids)}


def _write_rater_file(project: Project, name: str, path: Path, item_ids: list[str], record: tuple) -> None:
    """A new project holding the lead's settings, guidelines, this rater, these items (ids kept) and the
    record of the split that made it."""
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
            conn.execute("INSERT INTO raters (id, name, role, level, notes, created_at) VALUES (?, ?, ?, ?, ?, ?)", row)
            conn.execute("INSERT INTO team_files (id, rater_id, created_at, path, items) VALUES (?, ?, ?, ?, ?)", record)
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
