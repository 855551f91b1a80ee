"""The desk's WAL checkpoints, moved off the key path.

SQLite checkpoints the WAL inside the commit that takes it past 1,000 pages: that one label then also copies
every page the last hundred or so labels wrote into the project file, and fsyncs it (10-20 ms on the 1M-item
project, the desk's p99 key time). A desk turns its connection's automatic checkpoint off and runs a PASSIVE
checkpoint on a connection of its own, on a thread, once a second. PASSIVE never waits on or blocks a writer;
pages a reader still needs are left for the next one. Other programs on the file keep SQLite's default, and
the last connection to close checkpoints what is left, as always. Only SQLite opens the file here.
"""

from __future__ import annotations

import sqlite3
import threading

from prefdesk.store.project import Project

EVERY_S = 1.0
AUTO_PAGES = 1000  # SQLite's default, given back when the desk stops


class Checkpointer:
    """`start()` once the project is open for the desk; `stop()` before it closes."""

    def __init__(self, project: Project, every_s: float = EVERY_S) -> None:
        self.project = project
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0  # checkpoints that ran (for tests and the curious)
        self.last: tuple[int, int, int] | None = None  # the last one's (busy, pages in the WAL, pages copied)
        self.error: str | None = None  # why the last try failed (it is tried again a second later)

    def start(self) -> None:
        self.project.conn.execute("PRAGMA wal_autocheckpoint = 0")
        self._thread = threading.Thread(target=self._run, name="prefdesk-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if not self.project.closed:
            self.project.conn.execute(f"PRAGMA wal_autocheckpoint = {AUTO_PAGES}")

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        while not self._stop.wait(self.every_s) and not self.project.closed:
            try:
                if conn is None:
                    conn = sqlite3.connect(self.project.path.resolve().as_uri() + "?mode=rw", uri=True,
                                           isolation_level=None, check_same_thread=False)  # never creates one
                    conn.execute("PRAGMA busy_timeout = 0")  # a checkpoint that would wait is tried next time
                self.last = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                self.runs += 1
                self.error = None
            except sqlite3.Error as exc:  # (the file moved or went away under the desk): tried next time
                self.error = str(exc)
        if conn is not None:
            conn.close()
