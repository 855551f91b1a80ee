"""Governance figures (issue 12): the quality report and the reliability policies, on a simulated team
whose truth is known, and each statistic against a reference value on a small fixture."""

import json

import numpy as np
import pytest

from simteam import simulate


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    from prefdesk.formats.importer import import_file
    from prefdesk.store.project import Project

    folder = tmp_path_factory.mktemp("team")
    truth = simulate(folder / "team.jsonl")
    path = folder / "team.prefdesk"
    with Project.create(path) as project:
        import_file(project, folder / "team.jsonl", format_name="labels")
    return path, truth


def test_the_report_recovers_each_raters_accuracy_and_flags_exactly_the_biased_raters(team, cli, tmp_path):
    path, truth = team
    code, out, _ = cli("quality", "-p", path, "--json")
    report = json.loads(out)
    assert code == 0
    for name, true_accuracy in truth["accuracy"].items():
        rater = report["raters"][name]
        assert abs(rater["estimated_accuracy"] - true_accuracy) <= 0.05, (name, rater["estimated_accuracy"], true_accuracy)
        assert rater["gold_labels"] > 0 and rater["flip_rate"] is not None and rater["median_ms"] > 0
    flagged_left = {n for n, r in report["raters"].items() if r["position_bias"]}
    flagged_long = {n for n, r in report["raters"].items() if r["length_bias"]}
    assert flagged_left == {"lefty"} and flagged_long == {"longo"}
    # choosing the longer answer more than half the time is no bias when the longer one is more often right
    assert all(report["raters"][n]["longer_rate"] > 0.5 for n in ("ana", "ben"))
    agreement = report["agreement"]
    assert 0 < agreement["fleiss_kappa"] < 1 and 0 < agreement["krippendorff_alpha"] < 1
    assert 0 < agreement["percent"] < 1 and "ana|ben" in agreement["cohen_kappa"]
    assert set(report["by_scenario"]) == {"medical", "coding", "chat"} and report["disputed_items"] > 0
    # drift: eli is right less each week (0.92 -> 0.58); ana is steady
    weeks = report["drift"]["eli"]["by_week"]
    assert [w["week"] for w in weeks][:2] == ["2026-10-05", "2026-10-12"] and len(weeks) >= 4
    eli = [w["agreement_with_consensus"] for w in weeks if w["agreement_with_consensus"] is not None]
    assert eli[0] - eli[-1] > 0.15  # (a last week of round-2 labels only has no agreement figure)
    ana = [w["agreement_with_consensus"] for w in report["drift"]["ana"]["by_week"] if w["agreement_with_consensus"]]
    assert max(ana) - min(ana) < 0.1
    blocks = report["drift"]["eli"]["by_labels"]
    assert blocks[0]["first_label"] == 1 and sum(b["labels"] for b in blocks) == report["raters"]["eli"]["labels"]
    # calibration: only ana states a confidence, and hers means something
    assert set(report["calibration"]) == {"ana"}
    bins = report["calibration"]["ana"]["bins"]
    assert bins[0]["accuracy"] < 0.5 < bins[-1]["accuracy"] and bins[-1]["mean_confidence"] > 0.8
    page = tmp_path / "quality.html"
    code, out, _ = cli("quality", "-p", path, "--html", page)
    assert code == 0 and "position bias" in out and "length bias" in out
    html = page.read_text()
    assert "<svg" in html and "lefty" in html and "position bias" in html
    assert "http" not in html and "<script" not in html  # self-contained: no remote resource, no script


def test_weighted_and_dawid_skene_exports_are_more_often_right_than_majority(team, cli, tmp_path):
    path, truth = team
    right = {}
    for policy in ("majority", "weighted", "dawid-skene"):
        out = tmp_path / policy
        code, _, err = cli("export", "-p", path, "--format", "trl-preference", "--out", out, "--aggregate", policy)
        assert code == 0, err
        rows = [json.loads(line) for line in (out / "preference.jsonl").read_text().splitlines()]
        assert all(row["weight"] > 0 and row["label_ids"] for row in rows)
        right[policy] = sum(row["chosen"] == truth["truth"][row["prompt"]] for row in rows) / len(truth["truth"])
    print(f"\nshare of items exported with the truly better answer chosen: {right}")
    assert right["weighted"] > right["majority"] and right["dawid-skene"] > right["majority"]


def test_fleiss_kappa_matches_the_published_worked_example():
    from prefdesk.quality.agreement import fleiss_kappa

    # Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories -> kappa 0.210
    table = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                      [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]])
    assert fleiss_kappa(table) == pytest.approx(0.210, abs=0.001)


def test_small_fixture_figures_by_hand(project, tmp_path, cli):
    """Three raters on four items, every figure counted by hand."""
    from prefdesk.formats.importer import import_file

    def line(item, rater, verdict, left=0, round_=1):
        return {"item": {"id": item, "kind": "pairwise", "prompt": item, "candidates": ["x" * 5, "y" * 50]},
                "label": {"kind": "pairwise", "payload": {"verdict": verdict, "dims": {}}, "rater": {"name": rater},
                          "display_order": [left, 1 - left], "round": round_, "duration_ms": 1000}}
    lines = [line("i1", "a", "A"), line("i1", "b", "A"), line("i1", "c", "B", left=1),
             line("i2", "a", "B", left=1), line("i2", "b", "B", left=1), line("i2", "c", "B"),
             line("i3", "a", "A"), line("i3", "b", "B"), line("i3", "c", "tie"),
             line("i4", "a", "A"), line("i4", "b", "A"), line("i4", "c", "A"), line("i4", "a", "B", round_=2)]
    src = tmp_path / "small.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in lines))
    import_file(project, src, format_name="labels")
    from prefdesk.quality.report import quality_report

    report = quality_report(project)
    # pairs agreeing: i1 1/3, i2 3/3, i3 0/3, i4 3/3 -> 7/12
    assert report["agreement"]["percent"] == pytest.approx(7 / 12)
    assert report["disputed_items"] == 2 and report["flip_rate"] == 1.0
    a = report["raters"]["a"]
    # a's left wins: i1 A shown left (yes), i2 B shown left (yes), i3 A left (yes), i4 A left (yes) -> 4/4
    assert a["left_rate"] == 1.0 and a["flip_rate"] == 1.0 and a["labels"] == 5
    # a agrees with the others' majority on i1 (A), i2 (B), i4 (A); i3 has no majority among b, c
    assert a["agreement_with_consensus"] == 1.0
    # c: B on i1 vs the others' A (disagree), i2 agree, i3 none, i4 agree -> 2/3
    assert report["raters"]["c"]["agreement_with_consensus"] == pytest.approx(2 / 3)
    # a chose the longer answer (B, 50 chars) on i2 only, of i1, i2, i3, i4 decisive -> 1/4
    assert a["longer_rate"] == pytest.approx(1 / 4)
    from sklearn.metrics import cohen_kappa_score
    assert report["agreement"]["cohen_kappa"]["a|b"]["kappa"] == pytest.approx(
        cohen_kappa_score([0, 1, 0, 0], [0, 1, 1, 0], labels=[0, 1, 2, 3]))


def test_dawid_skene_in_numpy_matches_crowd_kit_on_the_simulated_team(team):
    """The report's Dawid-Skene is crowd-kit's algorithm over arrays: the same posteriors, priors, error
    matrices and rater accuracies as crowd-kit's own `DawidSkene` on the simulated team."""
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    from prefdesk.quality.dawid_skene import dawid_skene
    from prefdesk.quality.report import load
    from prefdesk.store.project import Project

    with Project.open(team[0]) as project:
        labs = load(project)
    use = (labs.round == 1) & (labs.verdict >= 0)
    task, worker, label = labs.item[use], labs.rater[use], labs.verdict[use]
    ours = dawid_skene(task, worker, label, labs.item_slots, len(labs.raters))
    theirs = DawidSkene(n_iter=50, tol=1e-5).fit(pd.DataFrame({"task": task, "worker": worker, "label": label}))
    assert list(ours.classes) == sorted(theirs.probas_.columns)
    assert ours.iterations == len(theirs.loss_history_)
    tasks = theirs.probas_.index.to_numpy()
    np.testing.assert_allclose(ours.probas[tasks], theirs.probas_.to_numpy(), atol=1e-9)
    np.testing.assert_allclose(ours.priors, theirs.priors_.to_numpy(), atol=1e-12)
    for w in np.unique(worker):
        errors = theirs.errors_.xs(w, level="worker")
        for given in errors.index:
            g = list(ours.classes).index(given)
            np.testing.assert_allclose(ours.errors[w, g], errors.loc[given].to_numpy(), atol=1e-12)


def test_dimension_and_scalar_agreement_match_krippendorffs_reference_api(project, tmp_path):
    """Alpha from value counts (what the report uses: fast on millions of labels) against alpha from the
    raters x items matrix (the package's documented input), on hand-made labels."""
    import krippendorff

    from prefdesk.formats.importer import import_file
    from prefdesk.quality.report import quality_report

    nan = np.nan
    dims = {"a": ["A", "B", "A", "tie"], "b": ["A", "B", "B", "tie"], "c": ["A", "A", "B", None]}  # safety verdicts
    scores = {"a": [1, 3, 5, 2], "b": [2, 3, 4, 2], "c": [1, 4, 5, nan]}
    lines = []
    for rater in "abc":
        for i in range(4):
            lines.append({"item": {"id": f"p{i}", "kind": "pairwise", "prompt": f"p{i}", "candidates": ["x", "y"]},
                          "label": {"kind": "pairwise", "rater": {"name": rater}, "payload": {
                              "verdict": "A", "dims": {"safety": dims[rater][i]} if dims[rater][i] else {}}}})
            if not np.isnan(scores[rater][i]):
                lines.append({"item": {"id": f"s{i}", "kind": "scalar", "prompt": f"s{i}", "candidates": ["z"]},
                              "label": {"kind": "scalar", "rater": {"name": rater},
                                        "payload": {"score": int(scores[rater][i])}}})
    (tmp_path / "l.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    import_file(project, tmp_path / "l.jsonl", format_name="labels")
    report = quality_report(project)

    code = {"A": 0, "B": 1, "tie": 2, None: nan}
    safety = np.array([[code[v] for v in dims[r]] for r in "abc"], dtype=float)
    got = report["agreement_by_dimension"]["safety"]
    assert got["krippendorff_alpha"] == pytest.approx(krippendorff.alpha(reliability_data=safety, level_of_measurement="nominal"))
    # pairs agreeing by hand: p0 3/3, p1 1/3, p2 1/3, p3 1/1 -> 6/10
    assert got["percent"] == pytest.approx(6 / 10) and got["items"] == 4
    matrix = np.array([scores[r] for r in "abc"], dtype=float)
    scalar = report["scalar_agreement"]
    for level in ("ordinal", "interval"):
        assert scalar[f"{level}_alpha"] == pytest.approx(
            krippendorff.alpha(reliability_data=matrix, level_of_measurement=level))
    assert scalar["labels"] == 11 and scalar["items"] == 4
