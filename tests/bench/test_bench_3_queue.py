"""Next-item query p99 <= 2 ms on N items (default 1M) with 3 labels each; label commit p99 <= 5 ms."""

import time

from conftest import N, report
from prefdesk.domain import Candidate, ItemKind, LabelKind, NewItem, NewLabel
from prefdesk.store.ingest import Ingest
from prefdesk.store.project import Project
from prefdesk.store.queue import Queue

PAYLOAD = {"verdict": "A", "strength": None, "dims": {}, "reason_tags": [], "rationale": None}


def build(path):
    """N pairwise items, each labelled by three raters, written through the bulk ingest path."""
    if path.exists():
        return
    tmp = path.with_name(path.name + ".building")
    for old in path.parent.glob(tmp.name + "*"):
        old.unlink()
    with Project.create(tmp) as project:
        project.set_setting("overlap", 4)  # every item is still open for a fourth rater
        project.set_setting("gold_rate", 0.0)
        with project.transaction():
            ingest = Ingest(project, None, "bench")
            for i in range(N):
                item = NewItem(ItemKind.PAIRWISE, f"prompt {i}", (Candidate(0, f"a{i}"), Candidate(1, f"b{i}")),
                               priority=float(i % 3))
                ingest.add(item, [NewLabel(LabelKind.PAIRWISE, PAYLOAD, f"r{k}") for k in range(3)])
            ingest.flush()
    tmp.replace(path)


def p99(samples):
    return sorted(samples)[int(len(samples) * 0.99)] * 1000


def test_next_item_and_commit_p99_on_1m_items_with_3_labels_each(bench_dir):
    path = bench_dir / f"queue_{N}.prefdesk"
    build(path)
    with Project.open(path) as project:
        rater = project.ensure_rater("bench-rater")
        queue = Queue(project, rater)
        nexts, commits = [], []
        for _ in range(2000):
            t = time.perf_counter()
            item_id = queue.next_item_id()
            nexts.append(time.perf_counter() - t)
            t = time.perf_counter()
            project.commit_label(item_id, rater, LabelKind.PAIRWISE, PAYLOAD, duration_ms=1000, display_order=(1, 0))
            commits.append(time.perf_counter() - t)
    report("next item p99", p99(nexts), 2.0, "ms")
    report("label commit p99 (fsync'd)", p99(commits), 5.0, "ms")
    assert p99(nexts) <= 2.0 and p99(commits) <= 5.0
