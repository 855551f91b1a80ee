"""The package as pip builds it: no setuptools warning a newcomer reads as an error, the license as an SPDX
expression with its file, and the `prefdesk` command pointing at the program (`prefdesk.__main__`)."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_builds_without_warnings_and_names_its_license_and_command(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    for package in ("prefdesk", "training"):
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
                          "--no-index", "-w", str(tmp_path / "wheel"), str(src)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    said = out.stdout + out.stderr
    assert [line for line in said.splitlines() if "Warning" in line] == []  # SetuptoolsDeprecationWarning and kin
    (wheel,) = (tmp_path / "wheel").glob("prefdesk-*.whl")
    with zipfile.ZipFile(wheel) as z:
        info = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = z.read(info).decode()
        entry_points = z.read(info.replace("METADATA", "entry_points.txt")).decode()
        names = z.namelist()
    assert "License-Expression: MIT" in metadata and "License-File: LICENSE" in metadata
    assert "prefdesk = prefdesk.__main__:main" in entry_points
    assert "prefdesk/cli/__init__.py" in names and "prefdesk/cli/data.py" in names
