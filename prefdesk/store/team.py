"""Team work without a server: a lead splits the open items into one project file per rater, each labels
in their own desk, and the lead merges the files back (`store.merge`).

`split` writes DIR/NAME.prefdesk for each rater: the project's settings and guidelines, the rater, the items
assigned to them (each open item to `overlap` raters, in turn; gold items to all), with the lead's item
ids. The lead's project records each file (`team_files`: its id, the rater, the items given), and the file
holds the same record: the merge takes from a file only what its rater did on those items.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

from prefdesk.store.ids import utc_now, uuid7
from prefdesk.store.project import Project, ProjectError
from prefdesk.store.rows import rows_in

_ITEM_COLUMNS = ("id", "kind", "prompt", "prompt_messages", "meta", "scenario", "risk_level", "bucket", "is_gold",
                 "priority", "source", "batch_id", "content_hash", "created_at", "candidates", "steps", "gold_answer",
                 "gold_from")


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
        rater = project.ensure_rater(name)  # the lead knows whom it gives work to, and their role stays its own
        given = fingerprints(project.conn, assigned[name] + gold)
        record = (uuid7(), rater.id, utc_now(), str(targets[name]), zlib.compress(json.dumps(given).encode()))
        _write_rater_file(project, name, targets[name], assigned[name] + gold, record)
        with project.transaction() as conn:  # after the file is whole: a record is never of a missing file
            conn.execute("INSERT INTO team_files (id, rater_id, created_at, path, items) VALUES (?, ?, ?, ?, ?)", record)
        out.append({"rater": name, "path": str(targets[name]), "items": len(assigned[name]), "gold_items": len(gold),
                    "file_id": record[0]})
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
