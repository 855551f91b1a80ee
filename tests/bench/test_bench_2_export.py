"""Export of N labels (default 1M) to TRL preference JSONL: <= 10 s. Uses the import benchmark's project."""

import time

import pytest

from conftest import N, report
from prefdesk.formats.export import export_dataset
from prefdesk.quality.aggregate import Policy
from prefdesk.store.project import Project


def test_export_1m_labels(bench_dir):
    path = bench_dir / f"import_{N}.prefdesk"
    if not path.exists():
        pytest.skip("run test_bench_1_import first: it builds the project this exports")
    with Project.open(path) as project:
        t = time.perf_counter()
        result = export_dataset(project, "trl-preference", bench_dir / "export", Policy())
        took = time.perf_counter() - t
    assert result.written == N
    report(f"export {N} labels", took, 10.0 * N / 1_000_000, "s")
    assert took <= 10.0 * N / 1_000_000
