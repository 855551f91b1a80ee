"""Import of N pairwise records (default 1M): <= 20 s, <= 300 MB peak RSS, <= 3x a bare json.loads pass."""

import json
import resource
import subprocess
import sys
import time

from conftest import N, report
from synthetic import write_pairwise


def test_import_1m_pairwise_records(bench_dir):
    path = write_pairwise(bench_dir / f"pairwise_{N}.jsonl", N)
    t = time.perf_counter()
    with open(path, "rb") as f:
        for line in f:
            json.loads(line)
    bare = time.perf_counter() - t
    project = bench_dir / f"import_{N}.prefdesk"
    for old in bench_dir.glob(project.name + "*"):
        old.unlink()
    subprocess.run([sys.executable, "-m", "prefdesk", "new", str(project)], check=True, capture_output=True)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "prefdesk", "import", str(path), "-p", str(project)], check=True)
    took = time.perf_counter() - t
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\n[bench] bare json.loads over {N} records: {bare:.3f} s")
    report(f"import {N} records", took, 20.0 * N / 1_000_000, "s")
    report("import / json.loads", took / bare, 3.0, "x")
    report("import peak RSS", rss_mb, 300.0, "MB")
    assert took <= 20.0 * N / 1_000_000 and took / bare <= 3.0 and rss_mb <= 300.0
