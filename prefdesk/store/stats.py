"""Counts over a project, for `prefdesk stats` and the desk."""

from __future__ import annotations

import json

from prefdesk.store.project import Project


def project_stats(project: Project) -> dict:
    """Items by kind, labels by source and rater, items still short of the overlap target."""
    conn = project.conn
    return {
        "items": dict(conn.execute("SELECT kind, COUNT(*) FROM items GROUP BY kind ORDER BY kind").fetchall()),
        "gold_items": conn.execute("SELECT COUNT(*) FROM items WHERE is_gold = 1").fetchone()[0],
        "labels_by_source": dict(conn.execute(
            "SELECT source, COUNT(*) FROM current_labels GROUP BY source ORDER BY source").fetchall()),
        "labels_by_rater": dict(conn.execute(
            "SELECT r.name, COUNT(*) FROM current_labels l JOIN raters r ON r.id = l.rater_id "
            "GROUP BY r.name ORDER BY r.name").fetchall()),
        "superseded_labels": conn.execute("SELECT COUNT(*) FROM labels WHERE supersedes IS NOT NULL").fetchone()[0],
        "double_votes": len(project.double_votes),  # found on open; `prefdesk check --repair` mends them
        "generation": generation_stats(conn),
        "flagged_items": conn.execute("SELECT COUNT(DISTINCT item_id) FROM flags").fetchone()[0],
        "overlap_target": project.settings["overlap"],
        "items_short_of_overlap": conn.execute("SELECT COUNT(*) FROM items WHERE open = 1 AND is_gold = 0").fetchone()[0],
        "items_over_overlap": conn.execute("SELECT COUNT(*) FROM items WHERE is_gold = 0 AND n_raters > ?",
                                           (int(project.settings["overlap"]),)).fetchone()[0],
    }


def generation_stats(conn) -> dict:
    """Over the generation runs: answers resampled, and prompts that made no item and why (near-duplicate answers,
    answers that stayed empty or cut at the token limit)."""
    out: dict = {"runs": 0, "resampled": 0, "duplicate_prompts": 0, "unfit_prompts": {}}
    for (report,) in conn.execute("SELECT report FROM runs WHERE kind = 'generate' AND report IS NOT NULL"):
        report = json.loads(report)
        out["runs"] += 1
        out["resampled"] += int(report.get("resampled") or 0)
        out["duplicate_prompts"] += int(report.get("duplicate_prompts") or 0)
        for why, n in (report.get("unfit") or {}).items():
            out["unfit_prompts"][why] = out["unfit_prompts"].get(why, 0) + int(n)
    return out


def labels_by(project: Project, rater_id: str) -> int:
    """How many labels (superseded ones included) a rater has written."""
    return project.conn.execute("SELECT COUNT(*) FROM labels WHERE rater_id = ?", (rater_id,)).fetchone()[0]
