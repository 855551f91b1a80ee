import os
from pathlib import Path

import pytest

N = int(os.environ.get("PREFDESK_BENCH_N", "1000000"))


@pytest.fixture(scope="session")
def bench_dir() -> Path:
    """Generated data is cached here between runs (it is large: ~1.2 GB for 1M records)."""
    folder = Path(os.environ.get("PREFDESK_BENCH_DIR", Path(__file__).parent / ".data"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def report(name: str, value: float, budget: float, unit: str) -> None:
    verdict = "within" if value <= budget else "OVER"
    print(f"\n[bench] {name}: {value:.3f} {unit} (budget {budget} {unit}: {verdict})")
