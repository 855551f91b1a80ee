"""Quality report figures (issues 12 and 23): the whole report on N items x 3 labels <= 10 s (N = PREFDESK_BENCH_N,
1M by default; the first report ever, which fills the column cache, is reported beside it); on the demo project <= 0.3 s (the statistics libraries already imported: a desk panel or a
CLI imports them once; the first import is reported apart)."""

import json
import os
import random
import sqlite3
import time

from conftest import N, report


def team_project(folder, n_items: int):
    """A project of n_items pairwise items with 3 labels each from 20 raters, written straight into a
    project file made by PrefDesk (cached between runs)."""
    from prefdesk.store.project import Project

    path = folder / f"quality_{n_items}.prefdesk"
    if path.exists():
        return path
    tmp = path.with_name(path.name + ".building")
    tmp.unlink(missing_ok=True)
    with Project.create(tmp) as project:
        raters = [project.ensure_rater(f"r{k:02d}") for k in range(20)]
    rng = random.Random(1)
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA synchronous = OFF")
    items, labels = [], []
    for i in range(n_items):
        item_id = f"i{i:08d}"
        a, b = "short " * rng.randint(1, 5), "longer answer " * rng.randint(1, 20)
        items.append((item_id, "pairwise", f"q{i}", "{}", rng.choice(("chat", "code", "med")), 0, i,
                      "2026-01-01T00:00:00Z", json.dumps([{"text": a}, {"text": b}]), 3))
        better = rng.choice("AB")
        for k, rater in enumerate(rng.sample(raters, 3)):
            verdict = better if rng.random() < 0.8 else ("B" if better == "A" else "A")
            labels.append((f"l{i:08d}{k}", item_id, rater.id, "pairwise", json.dumps({"verdict": verdict, "dims": {}}),
                           f"2026-01-01T00:00:{k:02d}Z", rng.randint(2000, 20000), "v1", "bench", 1,
                           json.dumps([0, 1] if rng.random() < 0.5 else [1, 0]), "human"))
        if len(labels) >= 300_000 or i == n_items - 1:
            conn.executemany("INSERT INTO items (id, kind, prompt, meta, scenario, is_gold, content_hash, created_at, "
                             "candidates, n_raters) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", items)
            conn.executemany("INSERT INTO labels (id, item_id, rater_id, kind, payload, created_at, duration_ms, "
                             "guideline_version, app_version, round, display_order, source) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", labels)
            conn.commit()
            items, labels = [], []
    conn.close()
    tmp.replace(path)
    return path


def test_quality_report_on_many_items(bench_dir):
    from prefdesk.quality.report import quality_report
    from prefdesk.store.project import Project

    from prefdesk.quality.labels_table import load

    path = team_project(bench_dir, N)
    with Project.open(path) as project:
        project.conn.execute("DELETE FROM column_cache")  # the first report ever codes every label
        t = time.perf_counter()
        first = quality_report(project)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        got = quality_report(project)  # every report after reads the coded labels back, codes only the newest
        elapsed = time.perf_counter() - t
        t = time.perf_counter()
        load(project)
        reading = time.perf_counter() - t
    assert got["labels"] == first["labels"] == 3 * N
    assert got["agreement"] == first["agreement"] and got["raters"] == first["raters"]
    print(f"\n[bench] the first report, coding every label into the column cache: {cold:.1f} s")
    print(f"[bench] of which reading the labels and items (cache filled): {reading:.1f} s ({os.cpu_count()} cores)")
    report(f"quality report, {N} items x 3 labels", elapsed, 10.0, "s")


def test_quality_report_on_the_demo(tmp_path):
    from prefdesk.demo import build_demo
    from prefdesk.quality.report import quality_report
    from prefdesk.store.project import Project

    with Project.open(build_demo(tmp_path / "demo.prefdesk")) as project:
        t = time.perf_counter()
        quality_report(project)
        first = time.perf_counter() - t
        t = time.perf_counter()
        quality_report(project)
        warm = time.perf_counter() - t
    print(f"\n[bench] demo quality report, first call (imports scipy, scikit-learn, krippendorff): {first:.3f} s")
    report("quality report on the demo (libraries loaded)", warm, 0.3, "s")
