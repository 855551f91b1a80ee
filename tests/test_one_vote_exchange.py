"""One rater, one vote (issue 31) through the labels exchange format, and over random split / label / merge /
re-split sequences of three raters: never two current votes of one rater on an item, and exports count each
rater once."""

import json
import tempfile
from collections import Counter
from pathlib import Path

from desktools import pairs, write_jsonl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prefdesk.domain import LabelKind
from prefdesk.formats.export import export_dataset
from prefdesk.formats.importer import import_file
from prefdesk.quality.aggregate import Policy
from prefdesk.store import team
from prefdesk.store.merge import merge
from prefdesk.store.project import Project


def _doubles(project) -> list[tuple]:
    return project.conn.execute(
        "SELECT item_id, rater_id, round, COUNT(*) FROM current_labels WHERE kind != 'rewrite' AND source NOT IN "
        "('arbitration', 'reference', 'model-judge', 'rule') GROUP BY 1, 2, 3 HAVING COUNT(*) > 1").fetchall()


def test_a_second_vote_in_a_labels_file_supersedes_when_later_and_is_refused_naming_line_and_rater_when_earlier(
        project, tmp_path, cli):
    project.set_settings({"gold_rate": 0.0})
    import_file(project, write_jsonl(tmp_path, pairs(3)))
    zed = project.ensure_rater("zed")
    items = [i for (i,) in project.conn.execute("SELECT id FROM items ORDER BY id")]
    for item_id in items:
        project.commit_label(item_id, zed, LabelKind.PAIRWISE, {"verdict": "A"}, display_order=(0, 1))
    code, _, err = cli("export", "-p", project.path, "--format", "labels", "--out", tmp_path / "ex")
    assert code == 0, err
    (exported,) = [f for f in (tmp_path / "ex").glob("*.jsonl")]
    records = [json.loads(line) for line in exported.read_text().splitlines()]
    assert len(records) == 3

    def second_vote(rec, at, verdict):  # zed's vote on the item again, from another tool: no id, supersedes none
        label = {**rec["label"], "id": None, "created_at": at, "payload": {"verdict": verdict}, "supersedes": None}
        return {**rec, "label": label}

    later = write_jsonl(tmp_path, [second_vote(records[0], "2099-01-01T00:00:00Z", "B")], "later.jsonl")
    code, out, err = cli("import", later, "-p", project.path, "--format", "labels")
    assert code == 0 and "1 labels re-label an item" in out, err
    (current,) = project.labels(items[0])
    assert current.payload["verdict"] == "B" and current.supersedes == records[0]["label"]["id"]

    earlier = write_jsonl(tmp_path, [records[1], second_vote(records[1], "2000-01-01T00:00:00Z", "B")], "earlier.jsonl")
    before = project.conn.execute("SELECT COUNT(*) FROM labels").fetchone()
    code, out, err = cli("import", earlier, "-p", project.path, "--format", "labels")
    assert code != 0 and f"earlier.jsonl:2: label: zed already holds a later current vote on item {items[1]}" in err
    assert project.conn.execute("SELECT COUNT(*) FROM labels").fetchone() == before  # nothing half-written
    code, out, err = cli("import", earlier, "-p", project.path, "--format", "labels", "--skip-bad")
    assert code == 0 and (tmp_path / "earlier.jsonl.rejects.jsonl").exists()
    assert [lab.payload["verdict"] for lab in project.labels(items[1])] == ["A"] and _doubles(project) == []


def test_an_import_of_votes_on_items_a_rater_already_voted_on_keeps_the_first_and_names_the_rest(project, tmp_path):
    project.set_settings({"gold_rate": 0.0})
    first = [{"type": "scalar", "prompt": f"p{i}", "response": "r", "score": 2, "meta": {"rater": "ana"}} for i in range(3)]
    import_file(project, write_jsonl(tmp_path, first, "first.jsonl"))
    flipped = [{**r, "score": 5} for r in first]
    report = import_file(project, write_jsonl(tmp_path, flipped, "second.jsonl"))
    assert report.labels_added == 0 and len(report.second_votes) == 3 and {r for _, r in report.second_votes} == {"ana"}
    assert "3 labels refused as a rater's second vote" in report.summary() and _doubles(project) == []


# A round: split to some raters (overlap, re-label or not), each labels their whole file, and the files are merged
# at once or left for later; at the end every file is merged again, in an order of the test's choosing. Rounds left
# unmerged give raters the same items twice; re-label rounds give them their own items back.
ROUNDS = st.lists(st.tuples(st.sets(st.sampled_from(["ana", "ben", "cy"]), min_size=1), st.integers(1, 3),
                            st.booleans(), st.sampled_from(["A", "B", "tie"]), st.booleans(), st.integers(1, 3)),
                  min_size=2, max_size=5)


def _label_whole_file(path: Path, verdict: str) -> None:
    with Project.open(path) as rater_file:
        (rater,) = rater_file.raters()
        for (item_id,) in rater_file.conn.execute("SELECT id FROM items ORDER BY id").fetchall():
            rater_file.commit_label(item_id, rater, LabelKind.PAIRWISE, {"verdict": verdict}, display_order=(1, 0))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ROUNDS, st.randoms(use_true_random=False))
def test_random_split_label_merge_resplit_sequences_never_hold_two_current_votes_of_a_rater(rounds, rng):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with Project.create(tmp / "lead.prefdesk") as lead:
            lead.set_settings({"gold_rate": 0.0, "overlap": 3})
            import_file(lead, write_jsonl(tmp, pairs(6)))
            files: list[Path] = []
            for n, (raters, overlap, relabel, verdict, merge_now, lead_overlap) in enumerate(rounds):
                lead.set_settings({"overlap": lead_overlap})
                raters = sorted(raters)
                made = [Path(f["path"]) for f in team.split(lead, raters, tmp / f"s{n}", min(overlap, len(raters)),
                                                             relabel=relabel)]
                for path in made:
                    _label_whole_file(path, verdict)
                if merge_now:
                    merge(lead, made)
                files += made
                assert _doubles(lead) == [], n
            rng.shuffle(files)
            for path in files:
                merge(lead, [path])
                assert _doubles(lead) == [], path
            names = dict(lead.conn.execute("SELECT l.id, r.name FROM labels l JOIN raters r ON r.id = l.rater_id"))
            export_dataset(lead, "trl-preference", tmp / "ds", Policy("majority"))
            for path in (tmp / "ds").glob("*.jsonl"):
                for line in path.read_text().splitlines():
                    raters = Counter(names[i] for i in json.loads(line)["label_ids"])
                    assert set(raters.values()) <= {1}, raters
            n_raters = dict(lead.conn.execute("SELECT id, n_raters FROM items"))
            counted = Counter(i for (i,) in lead.conn.execute(
                "SELECT item_id FROM current_labels WHERE source = 'human' AND round = 1"))
            assert all(n_raters[i] == counted[i] for i in n_raters)  # the overlap count: one per rater
