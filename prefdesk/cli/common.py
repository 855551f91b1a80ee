"""What the command modules share: a progress bar, and how an option takes KEY=VALUE words."""

from __future__ import annotations

import argparse
import sys


def progress(desc: str):
    """A byte-based progress bar on stderr (silent when stderr is not a terminal)."""
    from tqdm import tqdm

    bar = tqdm(total=0, unit="B", unit_scale=True, desc=desc, disable=not sys.stderr.isatty(), leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return bar, update


def key_values(p: argparse.ArgumentParser, flag: str, metavar: str, help: str) -> None:
    """An option of KEY=VALUE words: several after the flag, and the flag repeatable (`domain.key_values`)."""
    p.add_argument(flag, nargs="+", action="extend", default=[], metavar=metavar, help=help)
