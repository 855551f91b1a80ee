"""The Linux installers (issue 22): `build_deb.py` packs the desk bundle with `prefdesk` on the PATH, a desktop entry
that desktop-file-validate accepts, an icon and the .prefdesk file type, and the training runtime as its own
package where the desk looks for it. Built here from stand-in bundles (CI builds and installs the real ones:
.ci/run); the desktop entry's command opens a project given as its one argument."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINUX = ROOT / "resources" / "packaging" / "linux"

pytestmark = pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="dpkg-deb (Debian's dpkg) is not installed")


def _bundle(dist: Path, name: str) -> None:
    (dist / name / "_internal").mkdir(parents=True)
    exe = dist / name / name
    exe.write_text("#!/bin/sh\necho stand-in\n")
    exe.chmod(0o755)


def test_the_desk_and_the_training_runtime_are_debian_packages_with_a_desktop_entry_and_a_file_type(tmp_path):
    dist = tmp_path / "dist"
    _bundle(dist, "prefdesk")
    _bundle(dist, "prefdesk-train")
    proc = subprocess.run([sys.executable, str(LINUX / "build_deb.py"), "--dist", str(dist), "--version", "0.1.0"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (desk,) = dist.glob("prefdesk_0.1.0_*.deb")
    (train,) = dist.glob("prefdesk-train_0.1.0_*.deb")
    contents = subprocess.run(["dpkg-deb", "--contents", str(desk)], capture_output=True, text=True, check=True).stdout
    for path in ("./usr/bin/prefdesk -> /opt/prefdesk/prefdesk/prefdesk", "./opt/prefdesk/prefdesk/prefdesk",
                 "./usr/share/applications/prefdesk.desktop", "./usr/share/mime/packages/prefdesk.xml",
                 "./usr/share/icons/hicolor/scalable/apps/prefdesk.svg"):
        assert path in contents, contents
    assert "root/root" in contents.splitlines()[0]
    info = subprocess.run(["dpkg-deb", "--field", str(desk), "Package", "Depends"], capture_output=True, text=True,
                          check=True).stdout
    assert "Package: prefdesk\n" in info and "libxcb-cursor0" in info
    train_files = subprocess.run(["dpkg-deb", "--contents", str(train)], capture_output=True, text=True).stdout
    # where the frozen desk looks for the runtime: beside its own folder (prefdesk.jobs.runtime)
    assert "./opt/prefdesk/prefdesk-train/prefdesk-train" in train_files
    from prefdesk.jobs.runtime import BUNDLE_NAME

    assert BUNDLE_NAME == "prefdesk-train"
    mime = (LINUX / "prefdesk-mime.xml").read_text()
    assert 'type="application/x-prefdesk"' in mime and '<glob pattern="*.prefdesk"/>' in mime
    entry = (LINUX / "prefdesk.desktop").read_text()
    assert "MimeType=application/x-prefdesk;" in entry and "Exec=prefdesk %f" in entry
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(LINUX / "prefdesk.desktop")], capture_output=True, text=True)
        assert check.returncode == 0 and not check.stdout.strip(), check.stdout + check.stderr


def test_the_desktop_entrys_command_opens_the_project_it_is_given(tmp_path):
    """`prefdesk FILE.prefdesk` (Exec=prefdesk %f) opens the desk on that project: as the rater PREFDESK_RATER names,
    closed after PREFDESK_QUIT_AFTER_MS; the project is then the last one opened."""
    from prefdesk.cli import main
    from prefdesk.store.project import Project

    project = tmp_path / "double-clicked.prefdesk"
    assert main(["new", str(project)]) == 0
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PREFDESK_RATER": "dana", "PREFDESK_QUIT_AFTER_MS": "300"}
    proc = subprocess.run([sys.executable, "-m", "prefdesk", str(project)], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with Project.open(project) as opened:
        assert [r.name for r in opened.raters()] == ["dana"]  # the desk opened it as dana
