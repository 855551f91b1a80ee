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


def test_storage_floor_of_an_import(bench_dir, tmp_path):
    """What SQLite alone costs: N ready-made item and label rows (as the import writes them, ~1.3 KB an
    item) inserted, indexed and committed into a new project, with no parsing or converting at all. An
    import cannot be faster than this; compare it with the json.loads pass printed by the test above."""
    import itertools

    from prefdesk.formats.registry import BY_NAME
    from prefdesk.store.ingest import Ingest, prepare
    from prefdesk.store.project import Project

    with open(write_pairwise(bench_dir / f"pairwise_{N}.jsonl", N), "rb") as f:
        template = [prepare(*pair) for line in itertools.islice(f, 1000) for pair in BY_NAME["seed"].convert(json.loads(line))]
    with Project.create(tmp_path / "floor.prefdesk") as project:
        ingest = Ingest(project, None, "floor")
        writes = 0.0
        start = time.perf_counter()
        with project.bulk_write(large=True):  # as an import into a new project does
            for base in range(0, N, 4000):  # rows made outside the timed part: only the writes count
                batch = [p._replace(content_hash=base + i, prompt=f"{base + i} {p.prompt}")
                         for i, p in enumerate(template[(base + k) % 1000] for k in range(min(4000, N - base)))]
                t = time.perf_counter()
                ingest._pending = batch
                ingest.flush()
                writes += time.perf_counter() - t
            t = time.perf_counter()
        writes += time.perf_counter() - t  # the commit
        total = time.perf_counter() - start
    assert project.path.exists() and total >= writes
    report(f"storage floor: {N} items + labels written and committed", writes, 20.0 * N / 1_000_000, "s")
