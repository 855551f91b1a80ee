"""Labels that wait for the project file: a rater's verdict is never refused or delayed because another
program (an import) holds the write lock.

When a label cannot be written at once, it is appended to `FILE.pending.jsonl` beside the project and
fsynced (so it is as durable as a committed label), and written into the project as soon as the file is
free, with its own id and time: writing is idempotent, so a crash between the two loses and doubles
nothing. Opening the project writes what a crashed desk left pending.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

try:
    import fcntl
except ImportError:  # Windows: one desk per project on a machine
    fcntl = None

import orjson

from prefdesk.domain import Label, LabelKind, LabelSource
from prefdesk.store.errors import ProjectBusy
from prefdesk.store.votes import SecondVote

if TYPE_CHECKING:  # `Project.open` writes the waiting labels: the project module imports this one
    from prefdesk.store.project import Project


def pending_path(project: Project) -> Path:
    return project.path.with_name(project.path.name + ".pending.jsonl")


@contextmanager
def _locked(path: Path, mode: str) -> Iterator:
    """The held-labels file, locked against the other desks on this machine (two raters, one project):
    a label appended while another desk writes the file into the project is neither lost nor doubled."""
    with open(path, mode) as f:
        if fcntl is not None:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        yield f


def hold(project: Project, label: Label) -> None:
    """Keep a label on disk until the project can take it."""
    with _locked(pending_path(project), "ab") as f:
        f.write(orjson.dumps(label._asdict()) + b"\n")
        f.flush()
        os.fsync(f.fileno())


def waiting(project: Project) -> list[Label]:
    """The labels held, oldest first (a line cut by a crash mid-write is the one label not yet acknowledged)."""
    path = pending_path(project)
    return _parse(path.read_bytes()) if path.exists() else []


def _parse(data: bytes) -> list[Label]:
    out = []
    for raw in data.splitlines():
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
    path = pending_path(project)
    if not path.exists() or not path.stat().st_size:
        return 0
    with _locked(path, "r+b") as f:
        labels = _parse(f.read())
        with project.transaction():
            written = 0
            for label in labels:
                try:
                    written += project.write_label(label)
                except SecondVote as exc:  # the rater's later vote is there (another desk of theirs): kept beside
                    _keep_refused(project, label, str(exc))
        f.truncate(0)  # emptied, not removed: a desk waiting on the lock appends to this same file
        f.flush()
        os.fsync(f.fileno())
    return written


def _keep_refused(project: Project, label: Label, why: str) -> None:
    """An acknowledged label the project refuses (an earlier second vote) is never lost: FILE.pending-refused.jsonl."""
    with open(project.path.with_name(project.path.name + ".pending-refused.jsonl"), "ab") as f:
        f.write(orjson.dumps({**label._asdict(), "refused": why}) + b"\n")
        f.flush()
        os.fsync(f.fileno())


def write_waiting_if_free(project: Project) -> int:
    try:
        return write_waiting(project)
    except ProjectBusy:
        return 0
