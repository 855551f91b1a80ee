"""Where a training job runs: the desk's own Python when the `train` extra is installed, else an
interpreter the user named, else a frozen training bundle beside the desk's. Found without importing
torch (the desk must open fast and never load it)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

INSTALL_HINT = ('install the training runtime: `make train` in a source checkout, or python -m pip install '
                '"prefdesk[train]" (on a CUDA workstation install torch\'s CUDA build first, as pytorch.org says), '
                'or the prefdesk-train bundle beside the desk, or name a Python that has it in Preferences')
BUNDLE_NAME = "prefdesk-train"


class NoRuntime(RuntimeError):
    """No Python with torch and transformers was found; the message says how to install one."""


def training_command(python: str | None = None) -> list[str]:
    """The command that runs `python -m training` (then `run JOB.json`, `score …`)."""
    python = python or os.environ.get("PREFDESK_TRAIN_PYTHON")
    if python:
        if not shutil.which(python) and not Path(python).is_file():
            raise NoRuntime(f"{python}: no such Python; {INSTALL_HINT}")
        return [python, "-m", "training"]
    frozen = getattr(sys, "frozen", False)
    if not frozen and all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers", "trl")):
        return [sys.executable, "-m", "training"]
    bundle = Path(sys.executable).resolve().parent.parent / BUNDLE_NAME / BUNDLE_NAME
    if bundle.is_file():
        return [str(bundle)]
    raise NoRuntime(f"no training runtime: {INSTALL_HINT}")


def runtime_problems(python: str | None = None) -> list[str]:
    """[] where a training runtime is found, else what to install: a panel shows it before Start."""
    try:
        training_command(python)
    except NoRuntime as exc:
        return [str(exc)]
    return []
