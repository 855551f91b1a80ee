"""Debian packages of the PyInstaller bundles (`make dist`, after `make build`):

    dist/prefdesk_VERSION_ARCH.deb        the desk: /opt/prefdesk/prefdesk, `prefdesk` on the PATH, a desktop entry,
                                          an icon, and the .prefdesk file type (a double-click opens the project)
    dist/prefdesk-train_VERSION_ARCH.deb  the training runtime (CPU torch): /opt/prefdesk/prefdesk-train, where the
                                          desk looks for it (prefdesk.jobs.runtime); built when dist/prefdesk-train is

    python resources/packaging/linux/build_deb.py [--dist dist] [--version V]

Standard library and dpkg-deb only. Files are owned by root in the package (dpkg-deb --root-owner-group).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
PREFIX = "opt/prefdesk"
# what Qt's xcb platform plugin loads from the system (the bundle carries Qt itself)
DESK_DEPENDS = ("libxcb-cursor0, libxkbcommon-x11-0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, libxcb-randr0, "
                "libxcb-render-util0, libxcb-shape0, libxcb-xinerama0, libxcb-xkb1, libegl1, libgl1, libfontconfig1, "
                "libdbus-1-3")
POSTINST = """#!/bin/sh
set -e
# the file type and the menu entry (dpkg triggers do this too where the tools are installed)
if command -v update-mime-database >/dev/null; then update-mime-database /usr/share/mime || true; fi
if command -v update-desktop-database >/dev/null; then update-desktop-database -q /usr/share/applications || true; fi
if command -v gtk-update-icon-cache >/dev/null; then gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true; fi
"""


def project_version() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    return re.search(r'^version\s*=\s*"([^"]+)"', text, re.M).group(1)


def deb_arch() -> str:
    try:
        return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _size_kb(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink()) // 1024


def _control(root: Path, fields: dict[str, str], postinst: str | None = None) -> None:
    debian = root / "DEBIAN"
    debian.mkdir(parents=True)
    (debian / "control").write_text("".join(f"{k}: {v}\n" for k, v in fields.items()))
    if postinst:
        (debian / "postinst").write_text(postinst)
        (debian / "postinst").chmod(0o755)


def _build(root: Path, out: Path, compression: list[str]) -> Path:
    for path in [root, *root.rglob("*")]:  # a package's modes do not depend on the builder's umask
        if path.is_dir():
            path.chmod(0o755)
    subprocess.run(["dpkg-deb", "--root-owner-group", *compression, "--build", str(root), str(out)], check=True)
    return out


def desk_package(dist: Path, version: str, arch: str, work: Path) -> Path:
    bundle = dist / "prefdesk"
    if not (bundle / "prefdesk").is_file():
        raise SystemExit(f"{bundle}/prefdesk: no desk bundle; run `make build` first")
    root = work / "prefdesk"
    shutil.copytree(bundle, root / PREFIX / "prefdesk", symlinks=True)
    (root / "usr/bin").mkdir(parents=True)
    os.symlink(f"/{PREFIX}/prefdesk/prefdesk", root / "usr/bin/prefdesk")
    for source, target in ((HERE / "prefdesk.desktop", "usr/share/applications/prefdesk.desktop"),
                           (HERE / "prefdesk-mime.xml", "usr/share/mime/packages/prefdesk.xml"),
                           (ROOT / "resources/icons/prefdesk.svg", "usr/share/icons/hicolor/scalable/apps/prefdesk.svg")):
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / target)
    _control(root, {"Package": "prefdesk", "Version": version, "Architecture": arch, "Section": "science",
                    "Priority": "optional", "Maintainer": "PrefDesk team <prefdesk@localhost>",
                    "Installed-Size": str(_size_kb(root)), "Depends": DESK_DEPENDS,
                    "Suggests": "prefdesk-train",
                    "Description": "desktop tool for LLM preference data\n"
                                   " Label candidates side by side, govern agreement and bias, freeze dataset versions,\n"
                                   " export folders TRL and datasets load, and (with prefdesk-train) train reward\n"
                                   " models and DPO, offline."}, POSTINST)
    return _build(root, dist / f"prefdesk_{version}_{arch}.deb", ["-Zxz", "-z6"])


def train_package(dist: Path, version: str, arch: str, work: Path) -> Path | None:
    bundle = dist / "prefdesk-train"
    if not (bundle / "prefdesk-train").is_file():
        return None
    root = work / "prefdesk-train"
    shutil.copytree(bundle, root / PREFIX / "prefdesk-train", symlinks=True)
    _control(root, {"Package": "prefdesk-train", "Version": version, "Architecture": arch, "Section": "science",
                    "Priority": "optional", "Maintainer": "PrefDesk team <prefdesk@localhost>",
                    "Installed-Size": str(_size_kb(root)), "Enhances": "prefdesk",
                    "Description": "training runtime of PrefDesk (CPU torch)\n"
                                   " The reward, DPO, process-reward, generation and judge jobs, with PyTorch's CPU\n"
                                   " build and the bundled MiniLM base, found by the desk where it is installed.\n"
                                   " A CUDA workstation installs prefdesk from pip with torch's CUDA build instead."})
    # torch's shared libraries are most of it and compress little: a fast level (xz -6 took minutes for little gain)
    return _build(root, dist / f"prefdesk-train_{version}_{arch}.deb", ["-Zgzip", "-z1"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", default=str(ROOT / "dist"))
    parser.add_argument("--version", default=None)
    args = parser.parse_args(argv)
    if not shutil.which("dpkg-deb"):
        print("build_deb: dpkg-deb not found (Debian's dpkg package)", file=sys.stderr)
        return 2
    dist, version, arch = Path(args.dist), args.version or project_version(), deb_arch()
    with tempfile.TemporaryDirectory(dir=dist) as work:
        made = [desk_package(dist, version, arch, Path(work)), train_package(dist, version, arch, Path(work))]
    for deb in filter(None, made):
        print(f"{deb}: {deb.stat().st_size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
