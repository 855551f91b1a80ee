"""Training runs and reward-model scores in the project file: what was trained on what, how it went, and
what the model thinks of every candidate."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefdesk.store.ids import utc_now, uuid7
from prefdesk.store.project import Project
from training.protocol import SAMPLES_FILE, RunStatus


def runs_folder(project: Project) -> Path:
    """The folder beside the project file that holds each run's own folder (its events, log and model)."""
    return project.path.with_name(project.path.stem + ".runs")


def run_folder(project: Project, run_id: str) -> Path:
    return runs_folder(project) / run_id


def answers_of(project: Project, run_id: str) -> dict[str, str]:
    """Prompt id -> the answer of an `eval-generate` run (one a prompt), from its samples file."""
    lines = (run_folder(project, run_id) / "model" / SAMPLES_FILE).read_text(encoding="utf-8").splitlines()
    return {row["key"]: row["candidates"][0]["text"] for row in map(json.loads, filter(None, lines))}


@dataclass(frozen=True)
class Run:
    id: str
    kind: str
    spec: dict
    dataset: str
    dataset_manifest: dict | None
    started_at: str
    finished_at: str | None
    status: RunStatus
    report: dict | None
    model_dir: str | None

    def as_json(self) -> dict[str, Any]:
        """The run as `prefdesk runs --json` gives it; `report.accuracy` is the held-out pairwise accuracy."""
        report = dict(self.report or {})
        if "accuracy" not in report and isinstance(report.get("eval"), dict) and "accuracy" in report["eval"]:
            report["accuracy"] = report["eval"]["accuracy"]
        return {"id": self.id, "kind": self.kind, "status": self.status.value, "started_at": self.started_at,
                "finished_at": self.finished_at, "model_dir": self.model_dir, "dataset": self.dataset,
                "report": report}


_COLUMNS = "id, kind, spec, dataset, dataset_manifest, started_at, finished_at, status, report, model_dir"


def _run(row: tuple) -> Run:
    loads = lambda text: json.loads(text) if text else None  # noqa: E731
    return Run(row[0], row[1], json.loads(row[2]), row[3], loads(row[4]), row[5], row[6], RunStatus(row[7]), loads(row[8]),
               row[9])


def start_run(project: Project, kind: str, spec: dict, dataset: str, manifest: dict | None, run_id: str | None = None,
              status: RunStatus = RunStatus.RUNNING) -> str:
    """A new run: running (its job launched here), or bundled (written for another machine, `jobs.bundle`)."""
    run_id = run_id or uuid7()
    with project.transaction():
        project.conn.execute(f"INSERT INTO runs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, NULL, NULL)",
                             (run_id, kind, json.dumps(spec), dataset, json.dumps(manifest) if manifest else None,
                              utc_now(), status.value))
    return run_id


def add_events(project: Project, run_id: str, lines: list[str]) -> None:
    """Append lines of the job's event stream to the run's log."""
    text = "".join(line.rstrip("\n") + "\n" for line in lines)
    with project.transaction():
        project.conn.execute("UPDATE runs SET events = events || ? WHERE id = ?", (text, run_id))


def reopen_run(project: Project, run_id: str) -> None:
    """A cancelled or failed run goes on (resumed from its checkpoint): running again, its report cleared."""
    with project.transaction():
        project.conn.execute("UPDATE runs SET status = 'running', finished_at = NULL, report = NULL WHERE id = ?",
                             (run_id,))


def finish_run(project: Project, run_id: str, status: RunStatus | str, report: dict | None = None,
               model_dir: str | None = None, dataset: str | None = None) -> None:
    """Settle a run; `dataset`: where its snapshot now lives (a bundle's, copied in by `runs import`)."""
    status = RunStatus(status)  # ValueError for a status that is none of them
    with project.transaction():
        if dataset is not None:
            project.conn.execute("UPDATE runs SET dataset = ? WHERE id = ?", (dataset, run_id))
        project.conn.execute("UPDATE runs SET status = ?, finished_at = ?, report = ?, model_dir = ? WHERE id = ?",
                             (status.value, utc_now(), json.dumps(report) if report is not None else None, model_dir, run_id))


def runs(project: Project) -> list[Run]:
    return [_run(r) for r in project.conn.execute(f"SELECT {_COLUMNS} FROM runs ORDER BY started_at, id")]


def run(project: Project, run_id: str) -> Run:
    row = project.conn.execute(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise KeyError(run_id)
    return _run(row)


def events(project: Project, run_id: str) -> list[str]:
    (text,) = project.conn.execute("SELECT events FROM runs WHERE id = ?", (run_id,)).fetchone()
    return text.splitlines()


def candidates_to_score(project: Project, unlabelled_only: bool = False,
                        item_ids: list[str] | None = None) -> list[tuple[str, int, str, str]]:
    """(item id, candidate position, prompt, response) for every candidate of every item with candidates (of these
    items only, when `item_ids` is given)."""
    from prefdesk.store.rows import candidates_from_json

    sql, args = "SELECT id, prompt, candidates FROM items", ()
    if unlabelled_only:
        sql += " WHERE n_raters = 0"
    elif item_ids is not None:
        sql, args = sql + " WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(item_ids),)
    return [(item_id, c.position, prompt, c.text) for item_id, prompt, raw in project.conn.execute(sql, args)
            for c in candidates_from_json(raw)]


def store_scores(project: Project, run_id: str, rows: list[tuple[str, int, float, dict | None]]) -> None:
    """Scores of one run (item id, position, score, per-dimension scores), replacing that run's earlier ones."""
    with project.transaction():
        project.conn.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?)",
                                 [(run_id, i, p, s, json.dumps(d) if d else None) for i, p, s, d in rows])
        project.conn.execute("UPDATE runs SET scored_at = ? WHERE id = ?", (utc_now(), run_id))


def last_scored_run(project: Project) -> str | None:
    """The run whose scores were stored last."""
    row = project.conn.execute("SELECT id FROM runs WHERE scored_at IS NOT NULL ORDER BY scored_at DESC, id DESC "
                               "LIMIT 1").fetchone()
    return row[0] if row else None


def latest_scored_run(project: Project) -> str | None:
    row = project.conn.execute("SELECT r.id FROM runs r WHERE EXISTS (SELECT 1 FROM scores s WHERE s.run_id = r.id) "
                               "ORDER BY r.started_at DESC, r.id DESC LIMIT 1").fetchone()
    return row[0] if row else None


def scores_of(project: Project, item_id: str, run_id: str) -> list[float | None]:
    """One score a candidate, in candidate order (None where the run scored none)."""
    got = dict(project.conn.execute("SELECT position, score FROM scores WHERE run_id = ? AND item_id = ?",
                                    (run_id, item_id)).fetchall())
    n = max(got, default=-1) + 1
    return [got.get(p) for p in range(n)]


def labelled_pairwise_items(project: Project) -> list[tuple[str, str]]:
    """(id, prompt) of every pairwise item with a current pairwise label."""
    return project.conn.execute(
        "SELECT DISTINCT i.id, i.prompt FROM items i JOIN current_labels l ON l.item_id = i.id "
        "WHERE i.kind = 'pairwise' AND l.kind = 'pairwise' ORDER BY i.id").fetchall()
