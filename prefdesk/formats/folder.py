"""Export folders that are whole or absent: every file of an export is written into a staging folder
beside the target, which then takes the target's place in one rename.

On Linux the two folders are exchanged atomically (`renameat2(RENAME_EXCHANGE)`); elsewhere two renames
run back to back, and a folder left half-swapped by a kill is put back by the next export. Files of
earlier exports into the same folder (other formats) are carried over as hard links, so their bytes are
not copied and the manifest still describes them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefdesk.store.ids import uuid7

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step; False where the system cannot (then the caller renames twice)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def _leftovers(out_dir: Path) -> None:
    """Clear what a killed export left beside `out_dir` (a staging folder, or the old folder of a swap
    cut between its two renames, which is put back first)."""
    for old in sorted(out_dir.parent.glob(f".{out_dir.name}.old-*")):
        if not out_dir.exists():
            old.rename(out_dir)
        else:
            shutil.rmtree(old, ignore_errors=True)
    for staging in out_dir.parent.glob(f".{out_dir.name}.staging-*"):
        shutil.rmtree(staging, ignore_errors=True)


def sync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


@contextmanager
def whole_folder(out_dir: Path, rewritten: tuple[str, ...]) -> Iterator[Path]:
    """A staging folder for an export into `out_dir`: it holds `out_dir`'s other files (hard links), the
    caller writes the `rewritten` ones into it, and on success it becomes `out_dir`. On failure it is
    removed and `out_dir` is as it was."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _leftovers(out_dir)
    staging = out_dir.parent / f".{out_dir.name}.staging-{uuid7()}"
    staging.mkdir()
    try:
        if out_dir.is_dir():
            for old in out_dir.iterdir():
                if old.is_file() and old.name not in rewritten:  # never linked: they are written anew
                    try:
                        os.link(old, staging / old.name)
                    except OSError:
                        shutil.copy2(old, staging / old.name)
        yield staging
        for name in rewritten:
            if (staging / name).exists():
                sync_file(staging / name)
        if not out_dir.exists():
            staging.rename(out_dir)
        elif _exchange(staging, out_dir):
            shutil.rmtree(staging)  # it now holds the old folder
        else:
            old = out_dir.parent / f".{out_dir.name}.old-{uuid7()}"
            out_dir.rename(old)
            staging.rename(out_dir)
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
