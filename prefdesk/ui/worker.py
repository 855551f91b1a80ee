"""Run a function off the GUI thread and get its result back on it (one small helper, as in Anki's aqt)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(str)


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.fn = fn
        self.signals = _Signals()

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # reported on the GUI thread, never swallowed
            self.signals.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self.signals.done.emit(result)


def run_in_background(fn: Callable[[], Any], on_done: Callable[[Any], None],
                      on_failed: Callable[[str], None] | None = None) -> _Job:
    """Start `fn` on the global thread pool; `on_done(result)` runs on the GUI thread."""
    job = _Job(fn)
    job.signals.done.connect(on_done)
    if on_failed:
        job.signals.failed.connect(on_failed)
    QThreadPool.globalInstance().start(job)
    return job
