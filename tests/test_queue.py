"""The queue: overlap target, gold interleaving, priority, skip and back."""

import json

from prefdesk.domain import LabelKind
from prefdesk.formats.importer import import_file
from prefdesk.store.queue import Queue

PAYLOAD = {"verdict": "A", "strength": None, "dims": {}, "reason_tags": [], "rationale": None}


def make_items(project, tmp_path, n=10, gold=0, priorities=None):
    path = tmp_path / "items.jsonl"
    with open(path, "w") as f:
        for i in range(n):
            rec = {"prompt": f"q{i}", "response_a": "a", "response_b": "b"}
            if i < gold:
                rec["is_gold"] = True
            if priorities:
                rec["priority"] = priorities[i]
            f.write(json.dumps(rec) + "\n")
    import_file(project, path)


def prompt_of(project, item_id):
    return project.item(item_id).prompt


def label_all(project, queue, limit=100):
    seen = []
    while (item_id := queue.next_item_id()) and len(seen) < limit:
        seen.append(prompt_of(project, item_id))
        project.commit_label(item_id, queue.rater, LabelKind.PAIRWISE, PAYLOAD)
    return seen


def test_each_item_reaches_the_overlap_target_and_no_further(project, tmp_path):
    project.set_setting("gold_rate", 0)
    make_items(project, tmp_path, n=5)
    raters = [project.ensure_rater(n) for n in ("ana", "ben", "cleo")]
    assert len(label_all(project, Queue(project, raters[0]))) == 5
    assert len(label_all(project, Queue(project, raters[1]))) == 5
    assert label_all(project, Queue(project, raters[2])) == []  # overlap 2 reached everywhere
    project.set_setting("overlap", 3)
    assert len(label_all(project, Queue(project, raters[2]))) == 5


def test_a_rater_never_gets_an_item_twice(project, tmp_path):
    project.set_setting("gold_rate", 0)
    make_items(project, tmp_path, n=6)
    ana = project.ensure_rater("ana")
    first = label_all(project, Queue(project, ana), limit=3)
    rest = label_all(project, Queue(project, ana))  # a new sitting
    assert sorted(first + rest) == [f"q{i}" for i in range(6)]


def test_gold_items_are_interleaved_at_the_set_rate_and_ignore_overlap(project, tmp_path):
    project.set_setting("gold_rate", 0.25)
    make_items(project, tmp_path, n=12, gold=3)
    seen = label_all(project, Queue(project, project.ensure_rater("ana")))
    gold = {"q0", "q1", "q2"}
    assert [i for i, p in enumerate(seen, start=1) if p in gold] == [4, 8, 12]
    # gold is for every rater, whatever the overlap target
    project.set_setting("overlap", 1)
    seen_b = label_all(project, Queue(project, project.ensure_rater("ben")))
    assert set(seen_b) == gold


def test_higher_priority_first_and_skipped_items_come_back_last(project, tmp_path):
    project.set_setting("gold_rate", 0)
    make_items(project, tmp_path, n=4, priorities=[0, 5, 1, 5])
    queue = Queue(project, project.ensure_rater("ana"))
    first = queue.next_item_id()
    assert prompt_of(project, first) == "q1"
    queue.skip(first)
    order = label_all(project, queue)
    assert order == ["q3", "q2", "q0", "q1"]


def test_back_returns_the_previous_label_and_its_edit_supersedes_it(project, tmp_path):
    project.set_setting("gold_rate", 0)
    make_items(project, tmp_path, n=3)
    ana = project.ensure_rater("ana")
    label_all(project, Queue(project, ana))
    last = project.previous_label(ana)
    assert prompt_of(project, last.item_id) == "q2"
    before = project.previous_label(ana, before=last)
    assert prompt_of(project, before.item_id) == "q1"
    edit = project.commit_label(before.item_id, ana, LabelKind.PAIRWISE, {**PAYLOAD, "verdict": "B"}, supersedes=before)
    assert project.previous_label(ana, before=edit).item_id == project.previous_label(ana, before=before).item_id


def scalar_project_with_overlap_one(folder, n):
    """A project file of `n` scalar items that one rater each is enough for."""
    import json

    from prefdesk.formats.importer import import_file
    from prefdesk.store.project import Project

    path, src = folder / "p.prefdesk", folder / "items.jsonl"
    src.write_text("".join(json.dumps({"prompt": f"q{i}", "response": f"r{i}"}) + "\n" for i in range(n)))
    with Project.create(path) as setup:
        setup.set_settings({"overlap": 1, "gold_rate": 0.0})
        import_file(setup, src)
    return path


def test_raters_working_at_once_are_not_handed_an_item_beyond_the_overlap(tmp_path):
    from prefdesk.store.project import Project
    from prefdesk.store.queue import Queue
    from prefdesk.store.stats import project_stats

    path = scalar_project_with_overlap_one(tmp_path, 2)
    ana_file, ben_file = Project.open(path), Project.open(path)  # two desks on one file
    ana, ben = ana_file.ensure_rater("ana"), ben_file.ensure_rater("ben")
    ana_queue, ben_queue = Queue(ana_file, ana), Queue(ben_file, ben)
    first = ana_queue.next_item()
    second = ben_queue.next_item()
    assert second.id != first.id  # ana has the first on her screen
    ana_queue.skip(first.id)  # given back: ben may have it now
    ben_file.commit_label(second.id, ben, "scalar", {"score": 3, "dims": {}})
    assert ben_queue.next_item().id == first.id
    ben_file.lease(first.id, ben, seconds=-1)  # a lease past its time holds nothing
    assert Queue(ana_file, ana).next_item().id == first.id
    assert project_stats(ana_file)["items_over_overlap"] == 0
    ana_file.close()
    ben_file.close()


def test_two_raters_labelling_at_once_with_overlap_one_never_label_the_same_item(tmp_path):
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from prefdesk.store.project import Project
    from prefdesk.store.stats import project_stats

    path = scalar_project_with_overlap_one(tmp_path, 300)
    script = ("import os, sys, time; from prefdesk.store.project import Project; from prefdesk.store.queue import Queue\n"
              "with Project.open(sys.argv[1]) as p:\n"
              "    while not os.path.exists(sys.argv[1] + '.go'): time.sleep(0.01)\n"
              "    r = p.ensure_rater(sys.argv[2]); q = Queue(p, r)\n"
              "    for _ in range(150):  # half each: neither can finish alone\n"
              "        item = q.next_item()\n"
              "        time.sleep(0.003)  # reading it\n"
              "        p.commit_label(item.id, r, 'scalar', {'score': 3, 'dims': {}})\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    with Project.open(path) as project:  # the raters exist before both start, as on a team's first day
        project.ensure_rater("ana")
        project.ensure_rater("ben")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), name], env=env) for name in ("ana", "ben")]
    time.sleep(1.5)  # both started and waiting
    Path(f"{path}.go").touch()
    assert [p.wait(120) for p in procs] == [0, 0]
    with Project.open(path) as project:
        stats = project_stats(project)
        assert stats["items_over_overlap"] == 0 and stats["items_short_of_overlap"] == 0
        assert stats["labels_by_rater"] == {"ana": 150, "ben": 150}
