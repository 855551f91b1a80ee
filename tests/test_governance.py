"""Governance in the desk (issue 12): arbitration through the real window, re-annotation rounds through the
queue, the arbitrated export, and the Quality panel, each read back from the project file."""

import json
import os
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QInputDialog

from desktools import pairs, press, shown
from prefdesk.domain import LabelKind, RaterRole
from prefdesk.formats.importer import import_file
from prefdesk.ui.desk.window import MainWindow


def _disputed(project, tmp_path, n=3):
    """n pairwise items, each labelled A by ann (shown A on the left) and B by bo (shown B on the left)."""
    from desktools import write_jsonl

    import_file(project, write_jsonl(tmp_path, pairs(n, risk_level="high")))
    ann, bo = project.ensure_rater("ann"), project.ensure_rater("bo")
    item_ids = [i for (i,) in project.conn.execute("SELECT id FROM items ORDER BY rowid")]
    for item_id in item_ids:
        project.commit_label(item_id, ann, LabelKind.PAIRWISE, {"verdict": "A", "rationale": "A cites the dose",
                                                               "dims": {"safety": "A"}, "reason_tags": ["factual error"]},
                             display_order=(0, 1), duration_ms=4000)
        project.commit_label(item_id, bo, LabelKind.PAIRWISE, {"verdict": "B", "rationale": "B is shorter"},
                             display_order=(1, 0), duration_ms=2000)
    return item_ids


def _answer_next_dialog(text: str) -> None:
    """Type `text` into the next input dialog and accept it, as a reviewer would."""
    def answer():
        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QInputDialog) and w.isVisible())
        dialog.setTextValue(text)
        dialog.accept()
    QTimer.singleShot(200, answer)


def test_a_reviewer_arbitrates_promotes_to_gold_and_adds_a_clause(qtbot, qt_prefs, project, tmp_path, cli):
    item_ids = _disputed(project, tmp_path)
    project.set_settings({"gold_rate": 0.0})
    reviewer = project.ensure_rater("rita", RaterRole.REVIEWER)
    window = shown(qtbot, MainWindow(project, reviewer))
    press(qtbot, window, (Qt.Key_A, Qt.ControlModifier | Qt.ShiftModifier))
    panel = window.arbitration_panel
    qtbot.waitExposed(panel)
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    assert panel.list.count() == 3 and "high-risk" in panel.reasons.text()
    # both verdicts, with rationale, dimensions, tags, and the side each rater was shown on the left
    header = [panel.table.horizontalHeaderItem(c).text() for c in range(panel.table.columnCount())]
    rows = [{h: panel.table.item(r, c).text() for c, h in enumerate(header)} for r in range(panel.table.rowCount())]
    assert [(r["Rater"], r["Verdict"], r["Shown left"]) for r in rows] == [("ann", "A better", "A"), ("bo", "B better", "B")]
    assert (rows[0]["Rationale"], rows[0]["Dimensions"], rows[0]["Tags"]) == ("A cites the dose", "safety: A", "factual error")
    assert rows[1]["Rationale"] == "B is shorter" and rows[1]["Seconds"] == "2"

    keys = panel.windowHandle()
    qtbot.keyClick(keys, Qt.Key_Return, Qt.ControlModifier)  # no verdict yet: nothing stored
    assert "Choose the verdict" in panel.status.text()
    qtbot.keyClick(keys, Qt.Key_2)  # B
    assert panel.verdict == "B", panel.status.text()
    qtbot.keyClick(keys, Qt.Key_Return, Qt.ControlModifier)  # no reason yet: refused, the box takes the keys
    assert panel.decision is None and panel.reason.hasFocus()
    qtbot.keyClicks(panel.reason, "B gives the safe dose 2")  # a digit typed in the box is text, not a verdict
    assert panel.verdict == "B"
    qtbot.keyClick(keys, Qt.Key_Return, Qt.ControlModifier)
    qtbot.waitUntil(lambda: panel.decision is not None)  # written as a project operation, off the GUI thread
    decision = panel.decision
    row = project.conn.execute("SELECT item_id, rater_id, kind, payload, source, guideline_version, session_id, round "
                               "FROM labels WHERE id = ?", (decision.id,)).fetchone()
    payload = json.loads(row[3])
    ann_bo = [i for (i,) in project.conn.execute("SELECT id FROM labels WHERE item_id = ? AND source = 'human' "
                                                 "ORDER BY id", (item_ids[0],))]
    assert row[0] == item_ids[0] and row[1] == reviewer.id and row[2] == "pairwise" and row[4] == "arbitration"
    assert payload["verdict"] == "B" and payload["rationale"] == "B gives the safe dose 2"
    assert payload["arbitrates"] == ann_bo and "high-risk" in payload["reasons"]
    assert row[5] == "v1" and row[6] == window.work.session.id and row[7] == 1
    # the raters' labels are as they were: the dispute stays in the history
    assert [json.loads(p)["verdict"] for (p,) in project.conn.execute(
        "SELECT payload FROM current_labels WHERE item_id = ? AND source = 'human' ORDER BY id", (item_ids[0],))] == ["A", "B"]

    qtbot.keyClick(keys, Qt.Key_G, Qt.ControlModifier)  # promote to gold, with the decided answer
    gold = project.conn.execute("SELECT is_gold, gold_answer, gold_from FROM items WHERE id = ?", (item_ids[0],)).fetchone()
    assert gold[0] == 1 and json.loads(gold[1]) == {"verdict": "B"} and gold[2] == decision.id

    _answer_next_dialog("When the doses differ, prefer the one within the label's range.")
    qtbot.keyClick(keys, Qt.Key_L, Qt.ControlModifier)  # a clause: a new guideline version, in force at once
    qtbot.waitUntil(lambda: project.settings["guideline_version"] == "v2")
    version, text = project.guidelines()
    assert text.startswith("# Guidelines v1") and text.rstrip().endswith("prefer the one within the label's range.")
    assert project.conn.execute("SELECT clause, item_id FROM guidelines WHERE version = 'v2'").fetchone() == (
        "When the doses differ, prefer the one within the label's range.", item_ids[0])
    assert "v2" in window.side.guidelines_title.text()  # the desk shows the new version, clause included
    assert "within the label's range" in window.side.guidelines.toPlainText()

    panel.activateWindow()  # the dialog gone, the panel is the active window again
    qtbot.waitUntil(panel.isActiveWindow)
    qtbot.keyClick(keys, Qt.Key_J)  # next dispute: the decided item has left the queue
    assert panel.list.count() == 2 and panel.current().item_id == item_ids[1] and panel.decision is None

    # exports: `arbitrated` takes the decision; `majority` does not count it as a vote (1-1: no majority)
    for policy, expected in (("arbitrated", "b0"), ("majority", None)):
        out = tmp_path / policy
        code, _, err = cli("export", "-p", project.path, "--format", "trl-preference", "--out", out, "--aggregate", policy)
        assert code == 0, err
        rows = {r["prompt"]: r for r in map(json.loads, (out / "preference.jsonl").read_text().splitlines())}
        if expected is None:
            assert "q0" not in rows
        else:
            assert rows["q0"]["chosen"] == expected and rows["q0"]["weight"] == 1.0
            assert rows["q0"]["label_ids"] == [decision.id, ann_bo[1]]


def test_annotators_cannot_arbitrate_and_a_decision_needs_a_reviewer(qtbot, qt_prefs, project, tmp_path):
    import pytest

    from prefdesk.quality import arbitration
    from prefdesk.store.project import ProjectError

    item_ids = _disputed(project, tmp_path, n=1)
    annotator = project.ensure_rater("ann")
    window = shown(qtbot, MainWindow(project, annotator))
    press(qtbot, window, (Qt.Key_A, Qt.ControlModifier | Qt.ShiftModifier))
    assert window.arbitration_panel is None and "reviewers and experts" in window.statusBar().currentMessage()
    with pytest.raises(ProjectError, match="only reviewers and experts"):
        arbitration.decide(project, item_ids[0], annotator, "A", "because")
    assert project.conn.execute("SELECT COUNT(*) FROM labels WHERE source = 'arbitration'").fetchone() == (0,)


def test_a_later_label_against_the_decision_reopens_the_dispute(project, tmp_path):
    from prefdesk.quality import arbitration

    item_ids = _disputed(project, tmp_path, n=1)
    expert = project.ensure_rater("eve", RaterRole.EXPERT)
    arbitration.decide(project, item_ids[0], expert, "A", "A is right")
    assert arbitration.disputes(project) == []
    project.commit_label(item_ids[0], project.ensure_rater("cy"), LabelKind.PAIRWISE, {"verdict": "A"})
    assert arbitration.disputes(project) == []  # agrees with the decision
    project.commit_label(item_ids[0], project.ensure_rater("di"), LabelKind.PAIRWISE, {"verdict": "B"})
    (dispute,) = arbitration.disputes(project)
    assert dispute.decision is not None and dispute.decision.payload["verdict"] == "A"


def test_a_share_of_labels_comes_back_as_round_two_and_the_flip_is_recorded(desk, qtbot, project):
    window = desk(pairs(40), reannotate_share=0.5, reannotate_after_hours=0.0)
    served = 0
    while window.item is not None and served < 100:
        press(qtbot, window, Qt.Key_1)
        served += 1
    scheduled = dict(project.conn.execute("SELECT item_id, first_label FROM reannotations"))
    rows = project.conn.execute("SELECT item_id, id, json_extract(payload, '$.verdict'), display_order FROM labels "
                                "WHERE round = 2").fetchall()
    firsts = {item: (verdict, order) for item, verdict, order in project.conn.execute(
        "SELECT item_id, json_extract(payload, '$.verdict'), display_order FROM labels WHERE round = 1")}
    assert len(firsts) == 40 and 8 <= len(scheduled) <= 32  # about half, by a hash of each label's id
    # each came back once, unannounced, as round 2 (mixed in with the rest: every 4th item, then alone)
    assert sorted(r[0] for r in rows) == sorted(scheduled) and served == 40 + len(scheduled)
    done = dict(project.conn.execute("SELECT item_id, done_label FROM reannotations"))
    assert all(done[item] == label_id for item, label_id, _, _ in rows)
    # round 2 has a display order of its own: the same key then picks by what is shown, not by memory
    assert any(order != firsts[item][1] for item, _, _, order in rows)
    from prefdesk.quality.report import quality_report

    report = quality_report(project)
    changed = sum(verdict != firsts[item][0] for item, _, verdict, _ in rows)
    assert changed > 0 and report["raters"]["ana"]["flip_rate"] == changed / len(rows)
    assert report["raters"]["ana"]["labels"] == 40 + len(rows)
    # an export counts a rater once an item: the second look is not a second vote
    from prefdesk.formats.export import export_dataset
    from prefdesk.quality.aggregate import Policy

    done_export = export_dataset(project, "trl-preference", project.path.parent / "out", Policy("majority"))
    ids = [json.loads(line)["label_ids"] for line in (project.path.parent / "out" / "preference.jsonl").read_text().splitlines()]
    assert done_export.written == 40 and all(len(i) == 1 for i in ids)


def test_the_quality_panel_shows_the_team_to_a_lead_and_only_their_own_figures_to_an_annotator(
        qtbot, qt_prefs, project, tmp_path):
    from prefdesk.formats.importer import import_file as imp
    from simteam import simulate

    simulate(tmp_path / "team.jsonl", n_items=300)
    imp(project, tmp_path / "team.jsonl", format_name="labels")
    lead = project.ensure_rater("lea", RaterRole.EXPERT)
    window = shown(qtbot, MainWindow(project, lead))
    press(qtbot, window, (Qt.Key_Q, Qt.ControlModifier | Qt.ShiftModifier))
    panel = window.quality_panel
    qtbot.waitUntil(lambda: panel.report is not None, timeout=20000)
    names = [panel.raters.item(r, 0).text() for r in range(panel.raters.rowCount())]
    assert set(names) >= {"ana", "lefty", "longo"} and panel.heat.rowCount() == len(names)
    flags = {panel.raters.item(r, 0).text(): (panel.raters.item(r, 7).text(), panel.raters.item(r, 9).text())
             for r in range(panel.raters.rowCount())}
    assert flags["lefty"][0].startswith("⚑") and flags["ana"] == ("no", "no")
    assert "waiting for arbitration" in panel.summary.text()
    from prefdesk.quality import arbitration  # the report's count and the arbitration list follow one rule

    assert panel.report["arbitration"]["waiting"] == len(arbitration.disputes(project)) > 0
    kappa = panel.report["agreement"]["cohen_kappa"]["ana|ben"]["kappa"]
    assert panel.heat.item(names.index("ana"), names.index("ben")).text().startswith(f"{kappa:.2f}")
    shots = Path(os.environ.get("PREFDESK_SHOTS", tmp_path))  # rendered, to be looked at
    shots.mkdir(parents=True, exist_ok=True)
    for i in range(panel.tabs.count()):
        panel.tabs.setCurrentIndex(i)
        image = panel.grab().toImage()
        assert image.save(str(shots / f"quality_{i}.png")) and image.width() > 300
    assert panel.drift_agreement.lines and panel.bias.items, "drift lines and bias bars are drawn"
    # a new label reaches the panel by itself
    before = panel.report["labels"]
    item_id = project.conn.execute("SELECT id FROM items LIMIT 1").fetchone()[0]
    project.commit_label(item_id, lead, LabelKind.PAIRWISE, {"verdict": "A"})
    from prefdesk.ui.operations import Change

    window.ops.changed.emit(Change.LABELS)
    qtbot.waitUntil(lambda: panel.report["labels"] == before + 1, timeout=20000)

    annotator = project.ensure_rater("ana")
    window.set_project(project, annotator)
    assert window.quality_panel is None  # the lead's panel went with the lead's session
    press(qtbot, window, (Qt.Key_Q, Qt.ControlModifier | Qt.ShiftModifier))
    mine = window.quality_panel
    qtbot.waitUntil(lambda: mine.report is not None, timeout=20000)
    assert mine.raters.rowCount() == 1 and mine.raters.item(0, 0).text() == "ana"
    assert set(mine.report) == {"raters", "drift", "calibration"} and not mine.arbitrate.isVisible()
    assert mine.tabs.indexOf(mine.heat) == -1


def test_the_lead_sets_re_annotation_arbitration_and_source_trust_in_the_settings_dialog(desk, project, monkeypatch):
    from prefdesk.ui.desk.settings_dialog import SettingsDialog

    window = desk(pairs(1))
    refused = []
    monkeypatch.setattr("prefdesk.ui.forms.tell", lambda *a: refused.append(a[2]))

    def edit(dialog, trust):
        dialog.reannotate_share.setValue(0.2)
        dialog.reannotate_after.setValue(48)
        dialog.arbitration.setCurrentText("no-majority")
        dialog.trust.setText(trust)
        dialog.save()
        return dialog.result()
    monkeypatch.setattr(SettingsDialog, "exec", lambda d: edit(d, "model-judge: lots"))
    window.run_named("settings")
    assert "source_trust" in refused[0] and project.settings["reannotate_share"] == 0.05  # nothing half-saved
    monkeypatch.setattr(SettingsDialog, "exec", lambda d: edit(d, "human: 1, model-judge: 0.25, judge-x: 2"))
    window.run_named("settings")
    assert "unknown source 'judge-x'" in refused[1]
    monkeypatch.setattr(SettingsDialog, "exec", lambda d: edit(d, "human: 1, model-judge: 0.25"))
    window.run_named("settings")
    stored = dict((k, json.loads(v)) for k, v in project.conn.execute("SELECT key, value FROM settings"))
    assert stored["reannotate_share"] == 0.2 and stored["reannotate_after_hours"] == 48.0
    assert stored["arbitration_rule"] == "no-majority" and stored["source_trust"] == {"human": 1.0, "model-judge": 0.25}


def test_weighted_aggregation_follows_the_leads_trust_in_each_source(project, tmp_path):
    from desktools import write_jsonl
    from prefdesk.domain import LabelSource
    from prefdesk.quality.reliability import reliability_policy

    import_file(project, write_jsonl(tmp_path, pairs(20)))
    human, judge = project.ensure_rater("hu"), project.ensure_rater("mj", RaterRole.MODEL_JUDGE)
    item_ids = [i for (i,) in project.conn.execute("SELECT id FROM items ORDER BY rowid")]
    for k, item_id in enumerate(item_ids):
        project.commit_label(item_id, human, LabelKind.PAIRWISE, {"verdict": "A"})
        project.commit_label(item_id, judge, LabelKind.PAIRWISE, {"verdict": "A" if k < 15 else "B"},
                             source=LabelSource.MODEL_JUDGE)
    disputed = item_ids[15]
    labels = project.labels(disputed)
    for trust, expected in ((0.25, "A"), (4.0, "B")):
        project.set_settings({"source_trust": {"human": 1.0, "model-judge": trust}})
        out, _ = reliability_policy(project, "weighted").pairwise(labels)
        assert out["verdict"] == expected, trust
