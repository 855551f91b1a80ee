"""Where PrefDesk keeps user data (the demo project, the last project), per platform, without Qt."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def data_dir() -> Path:
    """The user's PrefDesk data folder; PREFDESK_DATA overrides it (tests, portable installs)."""
    if os.environ.get("PREFDESK_DATA"):
        return Path(os.environ["PREFDESK_DATA"])
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / "PrefDesk"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "PrefDesk"
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "prefdesk"


def resources_dir() -> Path:
    """The bundled resources folder, in a source checkout or a PyInstaller bundle."""
    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent))
    return base / "resources"
