"""Frozen dataset versions (issue 13): what a version holds never changes, its export is the same byte for
byte, and its diff says what changed, each figure counted by hand on a small fixture."""

import json

import pytest

from prefdesk.domain import LabelKind, LabelSource, RaterRole


def _fixture(project, tmp_path):
    """Six pairwise items in two scenarios and two buckets; ann and bo label all, a judge labels three."""
    from desktools import write_jsonl
    from prefdesk.formats.importer import import_file

    records = [{"prompt": f"q{i}", "response_a": f"a{i}", "response_b": f"b{i}", "scenario": "med" if i < 3 else "code",
                "bucket": "easy" if i % 2 == 0 else "hard"} for i in range(6)]
    import_file(project, write_jsonl(tmp_path, records))
    ann, bo = project.ensure_rater("ann"), project.ensure_rater("bo")
    judge = project.ensure_rater("judge", RaterRole.MODEL_JUDGE)
    items = [i for (i,) in project.conn.execute("SELECT id FROM items ORDER BY prompt")]
    for k, item in enumerate(items):
        project.commit_label(item, ann, LabelKind.PAIRWISE, {"verdict": "A", "dims": {"safety": "A"}})
        project.commit_label(item, bo, LabelKind.PAIRWISE, {"verdict": "A" if k < 4 else "B", "dims": {"safety": "B"}})
        if k < 3:
            project.commit_label(item, judge, LabelKind.PAIRWISE, {"verdict": "A"}, source=LabelSource.MODEL_JUDGE)
    return items, ann, bo


def test_a_versions_export_is_the_same_byte_for_byte_however_many_labels_arrive(project, tmp_path, cli):
    items, ann, bo = _fixture(project, tmp_path)
    code, out, err = cli("version", "create", "-p", project.path, "r1", "--aggregate", "dawid-skene", "--json")
    assert code == 0, err
    assert json.loads(out)["labels"] == 15

    def export(folder, fmt="trl-preference"):
        code, _, err = cli("export", "-p", project.path, "--version", "r1", "--format", fmt, "--out", tmp_path / folder)
        assert code == 0, err
        return {p.name: p.read_bytes() for p in (tmp_path / folder).iterdir()}

    first, first_labels = export("one"), export("one-labels", "labels")
    # afterwards: new labels, a label in the version superseded, an item made gold, a role changed
    cy = project.ensure_rater("cy")
    for item in items:
        project.commit_label(item, cy, LabelKind.PAIRWISE, {"verdict": "B"})
    (old,) = [lab for lab in project.labels(items[0]) if lab.rater_id == ann.id]
    project.commit_label(items[0], ann, LabelKind.PAIRWISE, {"verdict": "B"}, supersedes=old)
    assert export("two") == first and export("two-labels", "labels") == first_labels
    # an item made gold and a rater made expert since: the training file and the layers stay as frozen (the
    # `labels` exchange format carries items and raters as they are now: it is for moving labels, not releases)
    project.conn.execute("UPDATE items SET is_gold = 1, gold_answer = '{\"verdict\": \"B\"}' WHERE id = ?", (items[1],))
    project.conn.execute("UPDATE raters SET role = 'expert' WHERE id = ?", (bo.id,))
    assert export("three") == first
    manifest = json.loads(first["manifest.json"])
    assert manifest["version"] == "r1" and manifest["aggregation"] == "dawid-skene"
    # the project's own export has moved on
    code, _, _ = cli("export", "-p", project.path, "--format", "trl-preference", "--out", tmp_path / "now")
    assert (tmp_path / "now" / "preference.jsonl").read_bytes() != first["preference.jsonl"]
    code, _, err = cli("export", "-p", project.path, "--version", "r1", "--aggregate", "majority",
                       "--format", "trl-preference", "--out", tmp_path / "x")
    assert code == 2 and "frozen with --aggregate dawid-skene" in err


def test_filters_layers_and_quotas_choose_the_labels_and_weigh_the_rows(project, tmp_path, cli):
    from prefdesk.store import versions

    items, ann, bo = _fixture(project, tmp_path)
    med = versions.create(project, "med", filters={"scenario": ["med"]}, layers=versions.parse_layers(["weak=0"]))
    assert med.manifest["labels"] == 6 and med.manifest["counts"]["source"] == {"human": 6}  # the judge's 3: weight 0
    weak = versions.create(project, "weak-half", layers=versions.parse_layers(["weak=0.5"]))
    assert weak.manifest["counts"]["layer"] == {"main": 12, "weak": 3}
    code, _, err = cli("export", "-p", project.path, "--version", "weak-half", "--format", "trl-preference",
                       "--out", tmp_path / "w")
    rows = {r["prompt"]: r for r in map(json.loads, (tmp_path / "w" / "preference.jsonl").read_text().splitlines())}
    # q0: ann, bo, judge all say A -> weight 1 x mean layer weight (1 + 1 + 0.5) / 3
    assert rows["q0"]["weight"] == pytest.approx(round(2.5 / 3, 4)) and rows["q3"]["weight"] == 1.0
    capped = versions.create(project, "capped", quotas={"easy": 1})
    assert capped.manifest["counts"]["bucket"]["easy"] in (2, 3) and capped.manifest["counts"]["bucket"]["hard"] == 7
    assert capped.manifest["items"] == 4  # 3 hard + 1 easy
    again = versions.create(project, "capped-again", quotas={"easy": 1})
    assert again.label_ids == capped.label_ids  # the quota picks the same items every time


def test_diff_figures_counted_by_hand(project, tmp_path, cli):
    from prefdesk.store import versions

    items, ann, bo = _fixture(project, tmp_path)
    versions.create(project, "a", layers=versions.parse_layers(["weak=0"]))  # ann 6 + bo 6
    cy = project.ensure_rater("cy")
    for item in items[:2]:
        project.commit_label(item, cy, LabelKind.PAIRWISE, {"verdict": "B", "dims": {"safety": "B"}})
    project.set_guidelines("v2", "# v2")
    project.commit_label(items[5], cy, LabelKind.PAIRWISE, {"verdict": "tie", "dims": {"safety": "tie"}})
    (old,) = [lab for lab in project.labels(items[0]) if lab.rater_id == ann.id]
    project.commit_label(items[0], ann, LabelKind.PAIRWISE, {"verdict": "A", "dims": {"safety": "A"}}, supersedes=old)
    versions.create(project, "b", parent="a", filters={"scenario": ["med", "code"]})
    code, out, err = cli("version", "diff", "-p", project.path, "a", "b", "--json")
    assert code == 0, err
    d = json.loads(out)
    # b: ann 6 (one of them re-done) + bo 6 + judge 3 + cy 3 = 18; a: 12
    assert (d["labels_a"], d["labels_b"]) == (12, 18)
    assert d["labels_added"] == 7 and d["labels_removed"] == 1  # added: judge 3, cy 3, ann's new; removed: ann's old
    assert d["items_added"] == 0 and d["items_removed"] == 0
    assert d["sources"]["model-judge"] == {"a": 0, "b": 3, "share_a": 0.0, "share_b": round(3 / 18, 4)}
    assert d["guideline_versions"]["v2"]["b"] == 2  # cy's tie and ann's re-done label came under v2
    assert d["raters_added"] == ["cy", "judge"] and d["raters_removed"] == []
    # safety: a has 6 A (ann) + 6 B (bo) -> A 0.5, B 0.5; b adds cy's B, B, tie: A 6/15, B 8/15, tie 1/15
    shift = d["dimension_win_rate_shift"]["safety"]
    assert shift == {"A": round(6 / 15 - 0.5, 4), "B": round(8 / 15 - 0.5, 4), "tie": round(1 / 15, 4)}
    code, out, _ = cli("version", "diff", "-p", project.path, "a", "b")
    assert "+7 -1" in out and "source model-judge: 0 -> 3" in out


def test_a_bad_version_request_names_what_is_wrong_and_writes_nothing(project, tmp_path, cli):
    _fixture(project, tmp_path)
    for args, message in ((("--where", "colour=red"), "KEY one of scenario"), (("--layer", "silver=2"), "LAYER one of"),
                          (("--quota", "easy=lots"), "BUCKET=N"), (("--parent", "nope"), "no version 'nope'"),
                          (("--where", "scenario=nowhere"), "nothing to freeze")):
        code, _, err = cli("version", "create", "-p", project.path, "x", *args)
        assert code == 2 and message in err, (args, err)
    assert project.conn.execute("SELECT COUNT(*) FROM versions").fetchone() == (0,)
    assert cli("version", "create", "-p", project.path, "x")[0] == 0
    code, _, err = cli("version", "create", "-p", project.path, "x")
    assert code == 2 and "never rewritten" in err
    code, _, err = cli("export", "-p", project.path, "--version", "y", "--format", "seed", "--out", tmp_path / "o")
    assert code == 2 and "no version 'y'" in err and "versions: x" in err
