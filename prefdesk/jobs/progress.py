"""A job's progress in words: one source for the command line and the desk's panels.

`progress_text` says where a job is (done/total, rate, ETA) from its `progress` event. `ProgressPrinter` is what
a long command (generate, judge, evaluate, score, train) passes as `on_event`: on a terminal one live line; when
stderr is a file or a pipe (nohup, a scheduler, CI) plain timestamped lines, one every `every_s` seconds and one
at each start and end, so a log shows the job moving; `quiet` prints nothing. The command's result stays on stdout.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

from training.protocol import Event, JobEvent  # stdlib only: the job contract

EVERY_S = 10.0  # seconds between two progress lines in a log
_RATES = (("tokens_per_s", "tokens/s"), ("samples_per_s", "samples/s"))


def duration_text(seconds: float | None) -> str:
    """An ETA or a length of time as a person reads it: 45 s, 3 min 05 s, 2 h 10 min."""
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def progress_text(event: JobEvent, unit: str = "steps") -> str:
    """`12/40 prompts (30%) · 31.5 tokens/s · ETA 42 s` from a progress event."""
    step, total = event.get("step") or 0, event.get("total_steps") or 0
    parts = [f"{step}/{total} {unit}" + (f" ({100 * step // total}%)" if total else "")]
    parts += [f"{event[key]} {label}" for key, label in _RATES if event.get(key) is not None]
    parts.append(f"ETA {duration_text(event.get('eta_s'))}")
    return " · ".join(parts)


class ProgressPrinter:
    """`on_event` for a long command: see module."""

    def __init__(self, unit: str = "steps", quiet: bool = False, stream: TextIO | None = None,
                 every_s: float = EVERY_S) -> None:
        self.unit, self.quiet, self.every_s = unit, quiet, every_s
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty()
        self._last: float | None = None
        self._open_line = False  # a live line is on screen, not yet ended

    def __call__(self, event: JobEvent) -> None:
        if self.quiet:
            return
        if event.kind is Event.PROGRESS:
            text = progress_text(event, self.unit)
            if self.live:
                self.stream.write(f"\r{text}   ")
                self._open_line = True
            else:
                now = time.monotonic()
                last_step = event.get("step") == event.get("total_steps")
                if self._last is None or now - self._last >= self.every_s or last_step:
                    self._line(text)
                    self._last = now
            self.stream.flush()
        elif event.kind in (Event.STARTED, Event.FINISHED, Event.FAILED, Event.CANCELLED):
            details = {k: v for k, v in event.fields.items() if k not in ("event", "time", "report", "preview")}
            self._line(f"{event.kind.value}: {json.dumps(details, default=str)[:400]}")
            self.stream.flush()

    def _line(self, text: str) -> None:
        if self._open_line:
            self.stream.write("\n")
            self._open_line = False
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())
        self.stream.write(f"{text}\n" if self.live else f"{stamp} {text}\n")
