"""Labels that wait for the project file: a rater's verdict is never refused or delayed because another
program (an import) holds the write lock.

When a label cannot be written at once, it is appended to `FILE.pending.jsonl` beside the project and
fsynced (so it is as durable as a committed label), and written into the project as soon as the file is
free, with its own id and time: writing is idempotent, so a crash between the two loses and doubles
nothing. Opening the project writes what a crashed desk left pending.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from prefdesk.domain import Label, LabelKind, LabelSource
from prefdesk.store.project import Project, ProjectBusy


def pending_path(project: Project) -> Path:
    return project.path.with_name(project.path.name + ".pending.jsonl")


def hold(project: Project, label: Label) -> None:
    """Keep a label on disk until the project can take it."""
    with open(pending_path(project), "ab") as f:
        f.write(orjson.dumps(label._asdict()) + b"\n")
        f.flush()
        os.fsync(f.fileno())


def waiting(project: Project) -> list[Label]:
    """The labels held, oldest first (a line cut by a crash mid-write is the one label not yet acknowledged)."""
    path = pending_path(project)
    if not path.exists():
        return []
    out = []
    for raw in path.read_bytes().splitlines():
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        data["kind"], data["source"] = LabelKind(data["kind"]), LabelSource(data["source"])
        data["display_order"] = tuple(data["display_order"]) if data["display_order"] is not None else None
        out.append(Label(**data))
    return out


def write_waiting(project: Project) -> int:
    """Write every held label into the project in one transaction and forget them; the number written.
    `ProjectBusy` while the file is still taken (they stay held)."""
    labels = waiting(project)
    if not labels:
        return 0
    with project.transaction():
        written = sum(project.write_label(label) for label in labels)
    pending_path(project).unlink()
    return written


def write_waiting_if_free(project: Project) -> int:
    try:
        return write_waiting(project)
    except ProjectBusy:
        return 0
