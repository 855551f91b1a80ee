"""Import of N pairwise records (default 1M): <= 20 s, <= 300 MB peak RSS, <= 3x a bare json.loads pass."""

import json
import resource
import subprocess
import sys
import time

from conftest import N, fresh_project, json_loads_pass, report
from synthetic import write_pairwise


def test_import_1m_pairwise_records(bench_dir):
    path = write_pairwise(bench_dir / f"pairwise_{N}.jsonl", N)
    bare = json_loads_pass(path)
    project = fresh_project(bench_dir, f"import_{N}.prefdesk")
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


def test_longest_write_lock_held_by_an_import_beside_a_desk(bench_dir):
    """Issue 10: how long an import of N records holds the write lock while a desk has the project open (the
    import stays all-or-nothing, so it is one transaction), and what a desk's label costs meanwhile: the
    desk waits at most DESK_LOCK_WAIT_MS, then holds the label on disk (`store.pending`)."""
    import sqlite3

    from prefdesk.store.pending import hold
    from prefdesk.store.project import Project
    from prefdesk.ui.desk.window import DESK_LOCK_WAIT_MS

    path = write_pairwise(bench_dir / f"pairwise_{N}.jsonl", N)
    project_path = bench_dir / f"lock_{N}.prefdesk"
    for old in bench_dir.glob(project_path.name + "*"):
        old.unlink()
    subprocess.run([sys.executable, "-m", "prefdesk", "new", str(project_path)], check=True, capture_output=True)
    desk = Project.open(project_path)  # open before the import starts, as a desk would be: the import stays in WAL
    desk.wait_for_lock(DESK_LOCK_WAIT_MS)
    rater = desk.ensure_rater("bench-desk")
    importer = subprocess.Popen([sys.executable, "-m", "prefdesk", "import", str(path), "-p", str(project_path)])
    probe = sqlite3.connect(project_path, isolation_level=None, timeout=0)
    longest = locked_since = 0.0
    label_costs = []
    while importer.poll() is None:
        now = time.perf_counter()
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            if locked_since:
                longest = max(longest, now - locked_since)
            locked_since = 0.0
        except sqlite3.OperationalError:
            locked_since = locked_since or now
            t = time.perf_counter()  # a desk label now, as MainWindow.commit does it
            label = desk.new_label("no-such-item-yet", rater, "scalar", {"score": 1, "dims": {}})
            if not label_costs:  # the first one waits DESK_LOCK_WAIT_MS for the lock; later ones go straight to disk
                try:
                    desk.write_label(label)
                except Exception:
                    pass
            hold(desk, label)
            label_costs.append(time.perf_counter() - t)
        time.sleep(0.2)
    if locked_since:
        longest = max(longest, time.perf_counter() - locked_since)
    assert importer.wait() == 0
    desk.close()
    for old in bench_dir.glob(project_path.name + "*"):
        old.unlink()
    report(f"longest write lock held by an import of {N} records (desk open)", longest, 0.0, "s")
    worst_at = max(range(len(label_costs)), key=label_costs.__getitem__) if label_costs else 0
    print(f"\n[bench] the worst desk label was number {worst_at + 1} of the import's")
    costs = sorted(label_costs) or [0.0]
    print(f"\n[bench] desk labels during the import: {len(costs)}, median {costs[len(costs) // 2] * 1000:.1f} ms "
          f"(each fsynced to FILE.pending.jsonl)")
    report("a desk label during the import, worst case", costs[-1] * 1000, 200.0, "ms")
    assert costs[-1] < 0.2
