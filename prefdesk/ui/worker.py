"""Run a function off the GUI thread and get its result back on it (as Anki's aqt operations do).

Failures arrive as the exception object itself, so the caller decides how to word it; nothing is
swallowed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(object)


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.fn = fn
        self.signals = _Signals()
        self.setAutoDelete(False)  # the caller's reference keeps the signals alive until delivered

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # noqa: BLE001 (every failure goes back to the GUI thread)
            result, signal = exc, "failed"
        else:
            signal = "done"
        # the desk quit while this ran (work started as it closed): the application and these signals are gone,
        # and there is no one left to tell (the ledger soak saw "Signal source has been deleted" here)
        if shiboken6.isValid(self.signals):
            getattr(self.signals, signal).emit(result)


def run_in_background(fn: Callable[[], Any], on_done: Callable[[Any], None],
                      on_failed: Callable[[Exception], None] | None = None) -> _Job:
    """Start `fn` on the global thread pool; `on_done(result)` or `on_failed(exception)` runs on the GUI
    thread. Keep the returned job referenced until it reports."""
    job = _Job(fn)
    job.signals.done.connect(on_done)
    if on_failed:
        job.signals.failed.connect(on_failed)
    QThreadPool.globalInstance().start(job)
    return job


def describe(exc: Exception) -> str:
    """An exception as a person reads it: the project's own errors carry their message, others their type."""
    from prefdesk.domain.settings import SettingError
    from prefdesk.formats.errors import ImportRefused
    from prefdesk.store.project import ProjectError

    if isinstance(exc, (ProjectError, ImportRefused, SettingError, ValueError, OSError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
