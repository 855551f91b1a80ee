"""Follow a training job from its run folder, whoever started it and whether or not it still runs.

A job writes its events to `RUN/events.jsonl` (its stdout) and its log to `RUN/job.log` (stderr), and holds
a lock on `RUN/job.lock` while it lives (`training.cli`). The desk and the CLI read the same three files:
new events are recorded in the project's `runs` table, and the run is settled (finished, cancelled,
failed) from its last event, or as failed when the job is gone without one (killed, crashed). So a desk
closed during a run reads the run's state back when it opens again.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from prefdesk.store import runs as store_runs
from prefdesk.store.project import Project
from prefdesk.store.runs import run_folder
from training.protocol import STOP_FILE, Event, JobEvent, RunStatus, parse_event

EVENTS_FILE = "events.jsonl"
LOG_FILE = "job.log"
LOCK_FILE = "job.lock"  # training.cli.JOB_LOCK
PID_FILE = "job.pid"  # training.cli.JOB_PID, written by the job once it holds the lock
STARTING_S = 20  # a job launched this recently may not have started Python yet


def job_alive(folder: Path, launched_at: float | None = None) -> bool:
    """Whether the run's job still runs. The job takes the folder's lock, then writes its pid (the kernel
    drops the lock however the job ends): the lock held means alive; not held with a pid written means
    gone; neither means still starting, for STARTING_S after `launched_at`. Without flock (Windows):
    whether the process named in job.pid exists, or it is still starting."""
    pid_written = (folder / PID_FILE).exists()
    starting = not pid_written and launched_at is not None and time.time() - launched_at < STARTING_S
    try:
        import fcntl
    except ImportError:
        return starting or _pid_alive(folder)
    try:
        with open(folder / LOCK_FILE, "a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f, fcntl.LOCK_UN)
    except OSError:
        pass
    return starting


def _pid_alive(folder: Path) -> bool:
    try:
        os.kill(int((folder / PID_FILE).read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


def log_tail(folder: Path, lines: int = 20) -> str:
    try:
        return "\n".join((folder / LOG_FILE).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class RunWatch:
    """Reads a run's new events and keeps its record in the project up to date; `poll()` as often as you like."""

    def __init__(self, project: Project, run_id: str) -> None:
        self.project = project
        self.run_id = run_id
        self.folder = run_folder(project, run_id)
        self.offset = 0
        self.seen = len(store_runs.events(project, run_id))  # lines already recorded (a desk reopened mid-run)
        self.events: list[JobEvent] = []  # every event of the run, in order, recorded or not before
        self.status = store_runs.run(project, run_id).status
        self.launched_at: float | None = None
        self.unreadable: str | None = None  # why the event stream cannot be read, when it cannot

    def poll(self, alive: bool | None = None) -> list[dict]:
        """The events written since the last poll (recorded in the project); settles the run when its job
        ended. `alive`: whether the job still runs (default: `job_alive`)."""
        fresh = self._read()
        if self.status == RunStatus.RUNNING and not self._ended():
            if not (job_alive(self.folder, self.launched_at) if alive is None else alive):
                fresh += self._read()  # what it wrote between the read and the look at its lock
                if not self._ended():
                    self._settle(self._end_without_event())
        return fresh

    def _end_without_event(self) -> JobEvent:
        """How a job that is gone without a last event ended: finished if its model folder holds the report it
        writes on success (the event stream was deleted or unreadable), else failed, with why."""
        report = self.folder / "model" / "report.json"
        try:
            if report.is_file() and (self.launched_at is None or report.stat().st_mtime >= self.launched_at - 1):
                return JobEvent(Event.FINISHED, {"event": "finished", "report": json.loads(report.read_text()),
                                                 "output_dir": str(report.parent)})
        except (OSError, ValueError):
            pass
        error = self.unreadable or "the training runtime ended without a result (killed, or it crashed)"
        return JobEvent(Event.FAILED, {"event": "failed", "error": error,
                                       "hint": log_tail(self.folder) or "no log was written"})

    def _read(self) -> list[JobEvent]:
        try:
            with open(self.folder / EVENTS_FILE, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        except OSError as exc:  # a directory, a file without read permission: said when the job is gone
            self.unreadable = f"{self.folder / EVENTS_FILE} cannot be read ({exc.strerror})"
            return []
        end = chunk.rfind(b"\n") + 1  # a line still being written waits for the next read
        self.offset += end
        lines, fresh = [], []
        for raw in chunk[:end].decode("utf-8", errors="replace").splitlines():
            event = parse_event(raw)
            if event is None:
                continue
            self.events.append(event)
            if event.kind is Event.LAUNCHED:
                self.launched_at = event["time"]
            if self.seen:  # recorded by an earlier watch (a desk reopened mid-run)
                self.seen -= 1
                continue
            lines.append(raw)
            fresh.append(event)
        if lines:
            store_runs.add_events(self.project, self.run_id, lines)
        return fresh

    def _ended(self) -> bool:
        """Settle the run if its last event ends it (a resumed run's stream goes on after `launched`)."""
        last = self.events[-1] if self.events else None
        if last is None or not last.kind.ends_run:
            return False
        self._settle(last)
        return True

    def _settle(self, last: JobEvent) -> None:
        if last.kind is Event.FINISHED:
            store_runs.finish_run(self.project, self.run_id, RunStatus.FINISHED, last.get("report"), last.get("output_dir"))
        elif last.kind is Event.CANCELLED:
            store_runs.finish_run(self.project, self.run_id, RunStatus.CANCELLED, {"checkpoint": last.get("checkpoint"),
                                                                                   "step": last.get("step")})
        else:
            store_runs.finish_run(self.project, self.run_id, RunStatus.FAILED,
                                  {"error": last.get("error"), "hint": last.get("hint")})
        self.status = RunStatus(last.kind.value)


def settle_running_runs(project: Project) -> list[str]:
    """Bring every run the project thinks is running up to date (a desk opened after a job ended, or was
    killed while the desk was closed); the ids of those still running."""
    still = []
    for run in store_runs.runs(project):
        if run.status == RunStatus.RUNNING:
            watch = RunWatch(project, run.id)
            watch.poll()
            if watch.status == RunStatus.RUNNING:
                still.append(run.id)
    return still


def mark_launch(folder: Path, resumed: bool = False) -> None:
    """Before a launch: a `launched` event in the stream (so an earlier launch's `cancelled` is not read as
    this one's end), the stop file of a cancelled launch removed, the pid file of an earlier one too."""
    (folder / PID_FILE).unlink(missing_ok=True)
    (folder / "model" / STOP_FILE).unlink(missing_ok=True)
    with open(folder / EVENTS_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps({"event": "launched", "time": round(time.time(), 3), "resumed": resumed}) + "\n")


def request_stop(folder: Path) -> None:
    """Ask the job to stop at its next step with a resumable checkpoint (`cancelled`)."""
    (folder / "model").mkdir(parents=True, exist_ok=True)
    (folder / "model" / STOP_FILE).touch()
