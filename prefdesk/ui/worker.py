"""Run a function off the GUI thread and get its result back on it (one small helper, as in Anki's aqt)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(str)


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], Any], expected: tuple[type[Exception], ...]) -> None:
        super().__init__()
        self.fn = fn
        self.expected = expected
        self.signals = _Signals()
        self.setAutoDelete(False)  # the caller's reference keeps the signals alive until delivered

    def run(self) -> None:
        try:
            result = self.fn()
        except self.expected as exc:  # errors meant for the user: their own message
            self.signals.failed.emit(str(exc))
            return
        except Exception as exc:  # anything else is reported too, never swallowed
            self.signals.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self.signals.done.emit(result)


def run_in_background(fn: Callable[[], Any], on_done: Callable[[Any], None],
                      on_failed: Callable[[str], None] | None = None,
                      expected: tuple[type[Exception], ...] = ()) -> _Job:
    """Start `fn` on the global thread pool; `on_done(result)` or `on_failed(message)` runs on the GUI thread.

    Keep the returned job referenced until it reports.
    """
    job = _Job(fn, expected)
    job.signals.done.connect(on_done)
    if on_failed:
        job.signals.failed.connect(on_failed)
    QThreadPool.globalInstance().start(job)
    return job
