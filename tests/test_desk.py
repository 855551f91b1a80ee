"""The desk driven by keys, as a rater would, on a real project file (pytest-qt, offscreen)."""

import json

import pytest
from PySide6.QtCore import Qt

from prefdesk.formats.importer import import_file
from prefdesk.ui.actions import ACTIONS
from prefdesk.ui.main_window import MainWindow


def pairs_file(tmp_path, n):
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"q{i}", "response_a": f"a{i}", "response_b": f"b{i}"}) + "\n" for i in range(n)))
    return path


@pytest.fixture
def desk(qtbot, project, tmp_path):
    def open_desk(n=20, rater="ana"):
        project.set_setting("gold_rate", 0)
        import_file(project, pairs_file(tmp_path, n))
        window = MainWindow(project, project.ensure_rater(rater))
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(lambda: window.isActiveWindow())
        return window
    return open_desk


def rows(project):
    return project.conn.execute(
        "SELECT i.prompt, json_extract(l.payload, '$.verdict'), l.display_order, l.duration_ms, l.guideline_version, l.session_id "
        "FROM labels l JOIN items i ON i.id = l.item_id ORDER BY l.id").fetchall()


def test_rater_labels_twenty_pairs_with_one_key_each(desk, qtbot, project):
    window = desk(20)
    expected = []
    for i in range(20):
        order = window.pairwise.display_order
        key = Qt.Key_1 if i % 2 == 0 else Qt.Key_2
        left_or_right = 0 if key == Qt.Key_1 else 1
        expected.append("A" if order[left_or_right] == 0 else "B")
        qtbot.keyClick(window.windowHandle(), key)
    stored = rows(project)
    assert [r[1] for r in stored] == expected
    assert all(r[2] in ("[0, 1]", "[1, 0]") and r[3] >= 0 and r[4] == "v1" and r[5] == window.session.id for r in stored)
    assert {r[2] for r in stored} == {"[0, 1]", "[1, 0]"}  # left/right order is randomised
    assert window.item is None and window.stack.currentWidget() is window.empty


def test_tie_both_bad_and_clearly_better_keys(desk, qtbot, project):
    window = desk(3)
    qtbot.keyClick(window.windowHandle(), Qt.Key_T)
    qtbot.keyClick(window.windowHandle(), Qt.Key_B)
    qtbot.keyClick(window.windowHandle(), Qt.Key_1, Qt.ShiftModifier)
    payloads = [json.loads(p) for (p,) in project.conn.execute("SELECT payload FROM labels ORDER BY id")]
    assert [p["verdict"] for p in payloads[:2]] == ["tie", "both_bad"]
    assert payloads[2]["strength"] == "clear"


def test_back_reopens_the_previous_item_and_the_new_verdict_supersedes(desk, qtbot, project):
    window = desk(3)
    first_item = window.item.id
    qtbot.keyClick(window.windowHandle(), Qt.Key_T)
    qtbot.keyClick(window.windowHandle(), Qt.Key_Backspace)
    assert window.item.id == first_item
    qtbot.keyClick(window.windowHandle(), Qt.Key_B)
    all_rows = project.conn.execute("SELECT id, supersedes, json_extract(payload, '$.verdict') FROM labels ORDER BY id").fetchall()
    assert len(all_rows) == 2 and all_rows[1][1] == all_rows[0][0] and all_rows[1][2] == "both_bad"
    assert [lab.payload["verdict"] for lab in project.labels(first_item)] == ["both_bad"]


def test_skip_moves_on_without_a_label(desk, qtbot, project):
    window = desk(2)
    first = window.item.id
    qtbot.keyClick(window.windowHandle(), Qt.Key_S)
    assert window.item.id != first and project.count("labels") == 0


def test_every_action_is_in_a_menu_with_its_shortcut(desk):
    window = desk(1)
    menu_actions = {a for m in window.menuBar().actions() for a in m.menu().actions()}
    assert set(window.actions_by_name.values()) <= menu_actions
    for spec in ACTIONS:
        assert [s.toString() for s in window.actions_by_name[spec.name].shortcuts()][0] == spec.keys[0]


def test_the_demo_desk_renders(qtbot, tmp_path):
    from prefdesk.demo import ensure_demo
    from prefdesk.store.project import Project

    with Project.open(ensure_demo()) as project:
        window = MainWindow(project, project.ensure_rater("sam"))
        qtbot.addWidget(window)
        window.show()
        assert window.item is not None and window.item.kind.value in ("pairwise", "scalar")
        image = window.grab()
        assert image.width() > 800
