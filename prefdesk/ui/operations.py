"""Operations on the project and the one `changed` signal every panel listens to (Anki's
`CollectionOp` and `operation_did_execute`).

A panel never refreshes itself after its own write: it refreshes when `changed` says that what it
shows changed (items, labels, settings, the project itself). Switching projects is such a change, so
nothing of the old project can stay on screen or in a panel's state.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Flag, auto
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from prefdesk.ui.worker import run_in_background


class Change(Flag):
    ITEMS = auto()
    LABELS = auto()
    SETTINGS = auto()
    FLAGS = auto()
    VERSIONS = auto()  # a dataset version made (the Versions and Train panels list them)
    RUNS = auto()  # a training run started or ended
    SCORES = auto()  # a reward run's scores stored (the desk shows them to reviewers)
    PROJECT = auto()  # another project file (or rater): everything else too
    RATERS = auto()  # a rater's role or name changed (the Raters view)
    FEEDBACK = auto()  # online feedback imported or sent back (the Feedback panel)
    ALL = ITEMS | LABELS | SETTINGS | FLAGS | VERSIONS | RUNS | SCORES | PROJECT | RATERS | FEEDBACK


class Operations(QObject):
    """Runs project work off the GUI thread and announces what it changed."""

    changed = Signal(object)  # a Change

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: set = set()

    def run(self, work: Callable[[], Any], changes: Change, on_done: Callable[[Any], None] | None = None,
            on_failed: Callable[[Exception], None] | None = None) -> None:
        """Run `work` in the background; then `on_done(result)` and `changed(changes)`, or `on_failed(exc)`.
        Without `on_failed` a failure is shown to the user in a message over the desk: never dropped."""
        def done(result: Any) -> None:
            self._running.discard(job)
            if on_done:
                on_done(result)
            if changes:
                self.changed.emit(changes)

        def failed(exc: Exception) -> None:
            self._running.discard(job)
            if on_failed:
                on_failed(exc)
            else:
                from prefdesk.ui import forms
                from prefdesk.ui.worker import describe

                parent = self.parent()
                forms.tell(parent if isinstance(parent, QWidget) else None, "PrefDesk: that did not work", describe(exc))

        job = run_in_background(work, done, failed)
        self._running.add(job)
