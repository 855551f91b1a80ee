"""The desk's shell (issue 19): keys that work in every window, and the defects a newcomer hit."""

from PySide6.QtCore import Qt

from desktools import pairs, press, shown, write_jsonl
from prefdesk.domain import LabelKind, RaterRole
from prefdesk.formats.importer import import_file


def test_the_desks_menu_keys_work_in_a_panels_window_and_the_panels_own_keys_stay_its_own(qtbot, qt_prefs, project,
                                                                                          tmp_path):
    from prefdesk.ui.main_window import MainWindow

    import_file(project, write_jsonl(tmp_path, pairs(3)))
    item = project.conn.execute("SELECT id FROM items ORDER BY id").fetchone()[0]
    for name, verdict in (("ann", "A"), ("bo", "B")):  # a dispute waiting for arbitration
        project.commit_label(item, project.ensure_rater(name), LabelKind.PAIRWISE, {"verdict": verdict})
    window = shown(qtbot, MainWindow(project, project.ensure_rater("lea", RaterRole.EXPERT)))
    press(qtbot, window, (Qt.Key_Q, Qt.ControlModifier | Qt.ShiftModifier))
    quality = window.quality_panel
    qtbot.waitUntil(lambda: quality.report is not None, timeout=20000)
    quality.activateWindow()
    qtbot.waitUntil(quality.isActiveWindow)
    labels_before = project.conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0]
    qtbot.keyClick(quality.windowHandle(), Qt.Key_1)  # a verdict key in a panel is not a verdict of the desk
    assert project.conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == labels_before
    qtbot.keyClick(quality.windowHandle(), Qt.Key_A, Qt.ControlModifier | Qt.ShiftModifier)
    qtbot.waitUntil(lambda: window.arbitration_panel is not None and window.arbitration_panel.isVisible())


def test_today_counts_labels_not_edits_and_a_reopened_desk_agrees(desk, qtbot, project):
    from prefdesk.ui.main_window import MainWindow

    window = desk(pairs(4))
    press(qtbot, window, Qt.Key_1, Qt.Key_2)
    assert "Today: <b>2</b>" in window.side.progress.text()
    press(qtbot, window, Qt.Key_Backspace, Qt.Key_T)  # back to the second verdict and change it: an edit
    assert project.conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 3
    assert "Today: <b>2</b>" in window.side.progress.text()
    window.close()
    again = shown(qtbot, MainWindow(project, project.ensure_rater("ana")))
    assert "Today: <b>2</b>" in again.side.progress.text()


def test_a_clause_added_by_arbitration_cites_the_item_by_its_prompt_not_its_id(project, tmp_path):
    from prefdesk.quality import arbitration

    import_file(project, write_jsonl(tmp_path, [{"prompt": "How much paracetamol can a child take in a day?",
                                                 "response_a": "Weight-based, ask a pharmacist", "response_b": "4 g"}]))
    item = project.conn.execute("SELECT id FROM items").fetchone()[0]
    for name, verdict in (("ann", "A"), ("bo", "B")):
        project.commit_label(item, project.ensure_rater(name), LabelKind.PAIRWISE, {"verdict": verdict})
    decision = arbitration.decide(project, item, project.ensure_rater("lea", RaterRole.EXPERT), "A", "adult dose")
    version = arbitration.add_clause(project, decision, "Child doses are by weight; never give an adult dose.")
    in_force, text = project.guidelines()
    assert in_force == version == "v2"
    assert item not in text and "> How much paracetamol can a child take in a day?" in text
    assert project.conn.execute("SELECT item_id FROM guidelines WHERE version = 'v2'").fetchone()[0] == item
