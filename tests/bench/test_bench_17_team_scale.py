"""A team of 50 raters without a server (issue 36): the lead splits 50k items to 50 rater files (each item to 2
raters), every rater labels their 2,000 items, and the lead merges the 50 files (100k labels) into the project, with
the merge's checks (trust boundary, one vote, payloads) as they run for a real team. The merge runs in a process of
its own: its time and peak memory are what the README's design note weighs a shared server against."""

import random
import time

from test_bench_8_merge import _label, _lead, merge_in_a_process

RATERS = [f"rater{k:02d}" for k in range(50)]
PER_RATER = 2000
BUDGET_S = 60  # the note's yardstick: a lead merging a day's work of 50 raters waits under a minute


def test_merge_fifty_rater_files_of_two_thousand_labels(tmp_path):
    from prefdesk.store import team
    from prefdesk.store.project import Project

    from conftest import report

    lead = _lead(tmp_path, len(RATERS) * PER_RATER // 2)
    t = time.perf_counter()
    with Project.open(lead) as project:
        files = team.split(project, RATERS, tmp_path / "team", overlap=2)
    split_s = time.perf_counter() - t
    rng = random.Random(5)
    labels = sum(_label(tmp_path / "team" / f"{name}.prefdesk", rng) for name in RATERS)
    assert labels == len(RATERS) * PER_RATER and {f["items"] for f in files} == {PER_RATER}
    got = merge_in_a_process(lead, [f["path"] for f in files])
    assert got["labels_added"] == labels and got["refused"] == 0
    print(f"\n[bench] split of {len(RATERS) * PER_RATER // 2} items into {len(RATERS)} rater files (overlap 2): "
          f"{split_s:.1f} s")
    print(f"[bench] merge peak memory (RSS of the merging process): {got['rss_mb']:.0f} MB")
    report(f"merge of {len(RATERS)} rater files x {PER_RATER} labels ({labels} labels)", got["s"], BUDGET_S, "s")
    with Project.open(lead) as project:  # every merged vote is there, once
        (count,) = project.conn.execute("SELECT COUNT(*) FROM labels").fetchone()
    assert count == labels
