"""Online feedback at scale (issue 34): importing 1M PrefDesk feedback events stays within 3x a bare `json.loads`
pass over the file; the Feedback panel's read (the trends per day by model version and the summary) takes under a
second."""

import subprocess
import sys
import time

from conftest import N, fresh_project, json_loads_pass, report
from synthetic import write_feedback_events


def test_import_1m_feedback_events_and_their_trends(bench_dir):
    path = write_feedback_events(bench_dir / f"feedback_{N}.jsonl", N)
    bare = json_loads_pass(path)
    project = fresh_project(bench_dir, f"feedback_{N}.prefdesk")
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "prefdesk", "feedback", "import", str(path), "-p", str(project)],
                          check=True, capture_output=True, text=True)
    took = time.perf_counter() - t
    print(f"\n{done.stdout.strip()}\n[bench] bare json.loads over {N} events: {bare:.3f} s")
    report(f"feedback import of {N} events", took, 3.0 * bare, "s")
    report("feedback import / json.loads", took / bare, 3.0, "x")

    from prefdesk.feedback.trends import summary, trends
    from prefdesk.store.project import Project

    with Project.open(project) as p:  # what the Feedback panel reads when it opens
        t = time.perf_counter()
        points = trends(p.conn, "day", "model_version")
        held = summary(p.conn)
        query = time.perf_counter() - t
    report(f"the Feedback panel's read (trends per day by model version, summary) over {N} events "
           f"({len(points)} points)", query, 1.0, "s")
    assert held["events"] == N
    assert sum(pt["events"] for pt in points) == N
    assert took / bare <= 3.0 and query <= 1.0
