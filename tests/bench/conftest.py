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


def report(name: str, value: float, budget: float, unit: str, at_least: bool = False) -> None:
    """Print a figure beside its budget (an upper bound, or a lower one with `at_least`)."""
    ok = value >= budget if at_least else value <= budget
    bound = ">=" if at_least else "<="
    print(f"\n[bench] {name}: {value:.3f} {unit} (budget {bound} {budget} {unit}: {'within' if ok else 'MISSED'})")
