import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

# Benchmarks run on demand (`make bench`), not in the default suite.
collect_ignore = [] if os.environ.get("PREFDESK_BENCH") else ["bench"]

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(autouse=True)
def user_data(tmp_path, monkeypatch) -> Path:
    """Each test gets its own user data folder (demo project, last project)."""
    folder = tmp_path / "userdata"
    monkeypatch.setenv("PREFDESK_DATA", str(folder))
    return folder


@pytest.fixture
def project(tmp_path):
    from prefdesk.store.project import Project

    with Project.create(tmp_path / "p.prefdesk") as p:
        yield p


@pytest.fixture
def cli(capsys):
    """Run `prefdesk ARGS...` in-process; returns (exit code, stdout, stderr)."""
    from prefdesk.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse exits for --version and usage errors
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
