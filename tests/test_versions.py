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
    # q0: ann and bo say A and outrank the judge (a human label outranks a judge's under every policy): weight 1
    assert rows["q0"]["weight"] == 1.0 and rows["q0"]["label_ids"] == [lab.id for lab in project.labels(items[0])
                                                                        if lab.source is LabelSource.HUMAN]
    assert rows["q3"]["weight"] == 1.0
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


def test_the_versions_panel_creates_compares_exports_and_shows_the_pareto_frontier(
        qtbot, qt_prefs, project, tmp_path, monkeypatch):
    import os
    from pathlib import Path

    from PySide6.QtCore import Qt

    from desktools import press, shown
    from prefdesk.store import runs as store_runs
    from prefdesk.ui.desk.window import MainWindow
    from prefdesk.ui.versions.panel import NewVersionDialog

    items, ann, bo = _fixture(project, tmp_path)
    lead = project.ensure_rater("lea", RaterRole.EXPERT)
    window = shown(qtbot, MainWindow(project, lead))
    press(qtbot, window, (Qt.Key_V, Qt.ControlModifier | Qt.ShiftModifier))
    panel = window.versions_panel
    assert panel.table.rowCount() == 0 and "No versions yet" in panel.status.text()

    def fill(name, weak="1", where=""):
        def exec_(dialog):
            dialog.name.setText(name)
            dialog.where.setText(where)
            dialog.layers["weak"].setValue(float(weak))
            return True
        monkeypatch.setattr(NewVersionDialog, "exec", exec_)
        panel.new_button.click()
        qtbot.waitUntil(lambda: name in [v["name"] for v in panel.listed], timeout=10000)

    fill("r1", weak="0")
    cy = project.ensure_rater("cy")
    for item in items[:2]:
        project.commit_label(item, cy, LabelKind.PAIRWISE, {"verdict": "B", "dims": {"safety": "B"}})
    fill("r2")
    stored = project.conn.execute("SELECT name, json_extract(manifest, '$.labels') FROM versions ORDER BY created_at").fetchall()
    assert stored == [("r1", 12), ("r2", 17)]
    assert [panel.table.item(r, 0).text() for r in range(2)] == ["r1", "r2"]
    assert panel.table.item(0, 7).text() == "weak 0"

    def click_row(row, modifier=Qt.NoModifier):
        rect = panel.table.visualItemRect(panel.table.item(row, 0))
        qtbot.mouseClick(panel.table.viewport(), Qt.LeftButton, modifier, rect.center())

    click_row(0)
    click_row(1, Qt.ControlModifier)
    panel.diff_button.click()
    qtbot.waitUntil(lambda: "r1 -> r2" in panel.diff_text.toPlainText(), timeout=10000)
    assert "+5 -0" in panel.diff_text.toPlainText() and panel.shift.items  # the win-rate shift is drawn

    click_row(0)
    from prefdesk.ui import forms
    told = []
    monkeypatch.setattr(forms, "tell", lambda *a: told.append(a[2]))
    monkeypatch.setattr("prefdesk.ui.versions.panel.QDialog.exec", lambda d: True)
    assert panel.selected() == ["r1"]
    panel.export_button.click()
    qtbot.waitUntil(lambda: bool(told), timeout=10000)
    folder = project.path.parent / f"{project.path.stem}-r1"
    assert "rows written" in told[0] and json.loads((folder / "manifest.json").read_text())["version"] == "r1"

    # three multi-head reward runs on r2: the third is beaten on both dimensions by the first
    for accuracy in ({"safety": 0.9, "helpfulness": 0.6}, {"safety": 0.7, "helpfulness": 0.8},
                     {"safety": 0.8, "helpfulness": 0.55}):
        run = store_runs.start_run(project, "reward-dims", {"kind": "reward", "version": "r2"}, "-", None)
        store_runs.finish_run(project, run, "finished", {"eval": {"per_dimension_accuracy": {
            d: {"accuracy": a, "n": 10} for d, a in accuracy.items()}}})
    panel.refresh()
    panel.pareto_version.setCurrentText("r2")
    panel.show_pareto()
    assert [p["frontier"] for p in panel.points] == [True, True, False]
    assert panel.points[2]["dominated_by"] == [panel.points[0]["run"]]
    frontier = [panel.pareto_table.item(r, 3).text() for r in range(3)]
    assert frontier == ["yes", "yes", "no"] and len(panel.pareto_chart.lines) == 3
    panel.tabs.setCurrentIndex(1)
    shots = Path(os.environ.get("PREFDESK_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    assert panel.grab().toImage().save(str(shots / "versions_pareto.png"))

    click_row(1)
    panel.train_button.click()  # the Train panel, set to train on exactly this version
    assert window.train_panel.spec_choices()["version"] == "r2"
    # the same frontier in the quality page
    from prefdesk.cli import main

    assert main(["quality", "-p", str(project.path), "--html", str(tmp_path / "q.html")]) == 0
    page = (tmp_path / "q.html").read_text()
    assert "Version r2" in page and page.count("<b>yes</b>") == 2


def test_diff_of_a_majority_and_an_arbitrated_version_of_the_same_labels_shows_the_flipped_answers(project, tmp_path, cli):
    """Same labels, other policy: "+0 -0" is true of the label sets, and the exported answers still moved."""
    from desktools import pairs, write_jsonl
    from prefdesk.domain import RaterRole
    from prefdesk.formats.importer import import_file
    from prefdesk.quality import arbitration
    from prefdesk.store import versions

    import_file(project, write_jsonl(tmp_path, pairs(6)))
    raters = [project.ensure_rater(n) for n in ("ann", "bo", "cy")]
    lead = project.ensure_rater("lea", RaterRole.EXPERT)
    items = [i for (i,) in project.conn.execute("SELECT id FROM items ORDER BY id")]
    for item in items:
        for rater, verdict in zip(raters, ("A", "A", "B")):
            project.commit_label(item, rater, LabelKind.PAIRWISE, {"verdict": verdict})
    for item in items[:2]:  # the lead overturns the 2-1 majority on two items
        arbitration.decide(project, item, lead, "B", "the minority was right: A invents a dosage")
    versions.create(project, "maj", aggregate="majority")
    versions.create(project, "arb", aggregate="arbitrated")
    code, out, err = cli("version", "diff", "-p", project.path, "maj", "arb", "--json")
    assert code == 0, err
    verdicts = json.loads(out)["verdicts"]
    assert verdicts["flipped"] == 2 and verdicts["changed"] == 0 and verdicts["items_unchanged"] == 4
    assert sorted(verdicts["examples"]["flipped"]) == sorted(items[:2])
    code, out, _ = cli("version", "diff", "-p", project.path, "maj", "arb")
    assert "2 flipped" in out


@pytest.mark.parametrize("policy", ["weighted", "majority", "dawid-skene"])
def test_a_versions_export_stays_the_same_after_gold_promotion_trust_change_and_a_rewrite(project, tmp_path, cli,
                                                                                       policy):
    """What the export reads besides the labels (candidates, gold answers, reliabilities) is frozen too."""
    from desktools import pairs, write_jsonl
    from prefdesk.formats.importer import import_file

    import_file(project, write_jsonl(tmp_path, pairs(12)))
    raters = [project.ensure_rater(n) for n in ("ann", "bo", "cy")]
    items = [i for (i,) in project.conn.execute("SELECT id FROM items ORDER BY id")]
    for k, item in enumerate(items):
        for r, rater in enumerate(raters):
            project.commit_label(item, rater, LabelKind.PAIRWISE, {"verdict": "A" if (k + r) % 3 else "B"})
    project.conn.execute("UPDATE items SET is_gold = 1, gold_answer = '{\"verdict\": \"A\"}' WHERE id = ?", (items[0],))
    code, _, err = cli("version", "create", "v1", "-p", project.path, "--aggregate", policy)
    assert code == 0, err

    def exported(n):
        out = {}
        for fmt in ("trl-preference", "labels"):
            code, _, err = cli("export", "-p", project.path, "--version", "v1", "--format", fmt, "--out",
                               tmp_path / f"{fmt}-{n}")
            assert code == 0, err
            out[fmt] = {p.name: p.read_bytes() for p in sorted((tmp_path / f"{fmt}-{n}").iterdir())}
        return out
    before = exported(0)
    # after: gold promotions that change reliabilities, a trust change, a rewrite that adds a candidate
    for item in items[1:6]:
        project.conn.execute("UPDATE items SET is_gold = 1, gold_answer = '{\"verdict\": \"B\"}' WHERE id = ?", (item,))
    assert cli("config", "-p", project.path, "--set", 'source_trust={"human": 0.2}')[0] == 0
    project.commit_rewrite(items[2], raters[0], 0, "a rewritten answer")
    assert exported(1) == before
