"""The demo project: built from `resources/demo/*.jsonl` into the user's data folder on first run."""

from __future__ import annotations

import json
from pathlib import Path

from prefdesk.domain import LabelKind, LabelSource, RaterRole
from prefdesk.formats.importer import import_file
from prefdesk.paths import data_dir, resources_dir
from prefdesk.store.project import Project

DEMO_NAME = "demo.prefdesk"


def demo_path() -> Path:
    return data_dir() / DEMO_NAME


def build_demo(target: Path, source: Path | None = None) -> Path:
    """Create the demo project at `target` (built in a temporary file, then moved into place)."""
    source = source or resources_dir() / "demo"
    tmp = target.with_name(target.name + ".building")
    for leftover in tmp.parent.glob(tmp.name + "*"):
        leftover.unlink()
    with Project.create(tmp) as project:
        settings = json.loads((source / "settings.json").read_text())
        project.set_settings(settings)
        import_file(project, source / "items.jsonl", format_name="unlabelled")
        by_demo_id = project.item_ids_by_meta("id")
        raters = {}
        for line in (source / "raters.jsonl").read_text().splitlines():
            r = json.loads(line)
            raters[r["name"]] = project.ensure_rater(r["name"], RaterRole(r["role"]), r.get("level"), r.get("notes"))
        with project.transaction():
            for line in (source / "labels.jsonl").read_text().splitlines():
                lab = json.loads(line)
                project.commit_label(
                    by_demo_id[lab["item"]], raters[lab["rater"]], LabelKind(lab["kind"]), lab["payload"],
                    duration_ms=lab.get("duration_ms"), display_order=tuple(lab.get("display_order", ())) or None,
                    source=LabelSource.HUMAN,
                )
    tmp.replace(target)
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    return target


def ensure_demo() -> Path:
    """The demo project's path, building it on first use."""
    path = demo_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        build_demo(path)
    return path
