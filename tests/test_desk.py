"""The desk driven by keys, as a rater would, on a real project file (pytest-qt, offscreen)."""

from PySide6.QtCore import QSettings, Qt

from desktools import pairs, press, stored, write_jsonl as write
from prefdesk.domain import ItemKind
from prefdesk.formats.importer import import_file
from prefdesk.ui.actions import GLOBAL, all_actions, conflicts
from prefdesk.ui.desk.file_menu import import_path
from prefdesk.ui.desk.window import MainWindow


def test_rater_labels_twenty_pairs_with_one_key_each(desk, qtbot, project):
    window = desk(pairs(20))
    view = window.views[ItemKind.PAIRWISE]
    expected = []
    for i in range(20):
        key = Qt.Key_1 if i % 2 == 0 else Qt.Key_Right
        side = 0 if key == Qt.Key_1 else 1
        expected.append("A" if view.draft.display_order[side] == 0 else "B")
        press(qtbot, window, key)
    rows = project.conn.execute(
        "SELECT json_extract(payload, '$.verdict'), display_order, duration_ms, guideline_version, session_id, source "
        "FROM labels ORDER BY id").fetchall()
    assert [r[0] for r in rows] == expected
    assert all(r[2] >= 0 and r[3] == "v1" and r[4] == window.work.session.id and r[5] == "human" for r in rows)
    assert {r[1] for r in rows} == {"[0, 1]", "[1, 0]"}  # left/right order is randomised, and recorded
    assert window.item is None and window.stack.currentWidget() is window.empty
    assert "Today: <b>20</b>" in window.side.progress.text()  # progress counts each commit without a query


def test_a_full_label_with_four_dimensions_takes_six_keys(desk, qtbot, project):
    window = desk(pairs(2))
    view = window.views[ItemKind.PAIRWISE]
    left_is_a = view.draft.display_order[0] == 0
    press(qtbot, window, Qt.Key_Tab, Qt.Key_Left, Qt.Key_Left, Qt.Key_Space, Qt.Key_Right, Qt.Key_1)
    (payload,) = stored(project)
    a, b = ("A", "B") if left_is_a else ("B", "A")
    assert payload["verdict"] == a and payload["strength"] == "slight"
    assert payload["dims"] == {"helpfulness": a, "correctness": a, "safety": "tie", "conciseness": b}


def test_tie_both_bad_clearly_better_and_reason_tags(desk, qtbot, project):
    window = desk(pairs(3))
    press(qtbot, window, Qt.Key_T, Qt.Key_B)
    window.views[ItemKind.PAIRWISE].tag_list.item(0).setCheckState(Qt.Checked)  # a click on the tag
    view = window.views[ItemKind.PAIRWISE]
    left = "A" if view.draft.display_order[0] == 0 else "B"
    press(qtbot, window, (Qt.Key_Exclam, Qt.ShiftModifier))  # Shift+1 on a US keyboard
    payloads = stored(project)
    assert [p["verdict"] for p in payloads[:2]] == ["tie", "both_bad"]
    assert payloads[2]["verdict"] == left and payloads[2]["strength"] == "clear"
    assert payloads[2]["reason_tags"] == ["factual error"]


def test_high_risk_items_need_a_rationale_when_the_project_says_so(desk, qtbot, project):
    window = desk([{"prompt": "chest pain?", "response_a": "see a doctor", "response_b": "rest", "risk_level": "high"}],
                  rationale_required="high-risk")
    press(qtbot, window, Qt.Key_1)
    assert project.count("labels") == 0 and window.side.rationale.hasFocus()
    qtbot.keyClicks(window.side.rationale, "Triage first.")
    press(qtbot, window, Qt.Key_Escape, Qt.Key_1)
    assert stored(project)[0]["rationale"] == "Triage first."


def test_back_reopens_the_previous_item_and_the_new_verdict_supersedes(desk, qtbot, project):
    window = desk(pairs(3))
    first_item = window.item.id
    press(qtbot, window, Qt.Key_T, Qt.Key_Backspace)
    assert window.item.id == first_item
    press(qtbot, window, Qt.Key_B)
    rows = project.conn.execute("SELECT id, supersedes, json_extract(payload, '$.verdict') FROM labels ORDER BY id").fetchall()
    assert len(rows) == 2 and rows[1][1] == rows[0][0] and rows[1][2] == "both_bad"
    assert [lab.payload["verdict"] for lab in project.labels(first_item)] == ["both_bad"]


def test_skip_and_flag(desk, qtbot, project):
    window = desk(pairs(2))
    first = window.item.id
    press(qtbot, window, Qt.Key_F, Qt.Key_S)
    assert window.item.id != first and project.count("labels") == 0
    assert project.conn.execute("SELECT item_id FROM flags").fetchall() == [(first,)]


def test_ranking_by_number_keys_with_a_tie(desk, qtbot, project):
    window = desk([{"prompt": "rank", "responses": ["w", "x", "y", "z"]}])
    shown = window.views[ItemKind.RANKING].draft.display_order
    press(qtbot, window, Qt.Key_3, Qt.Key_1, Qt.Key_Equal, Qt.Key_4, Qt.Key_Return)
    (payload,) = stored(project)
    assert payload["order"] == [[shown[2]], [shown[0], shown[3]], [shown[1]]]
    (label,) = project.labels(window.project.conn.execute("SELECT item_id FROM labels").fetchone()[0])
    assert label.display_order == shown and sorted(shown) == [0, 1, 2, 3]


def test_scalar_scores_with_a_digit(desk, qtbot, project):
    window = desk([{"prompt": "p", "response": "r"}, {"prompt": "q", "response": "s"}])
    press(qtbot, window, Qt.Key_4, Qt.Key_1)
    assert [p["score"] for p in stored(project)] == [4, 1]


def test_process_item_rated_step_by_step_stopping_at_the_first_error(desk, qtbot, project):
    window = desk([{"prompt": "Compute 2+2*3", "steps": ["2*3 = 6", "2 + 6 = 9", "So 9.", "Answer 9"]}])
    press(qtbot, window, Qt.Key_Plus, Qt.Key_Minus)
    draft = window.views[ItemKind.PROCESS].draft
    assert draft.cursor == 2 and draft.first_error() == 1
    press(qtbot, window, Qt.Key_I, Qt.Key_Return)
    (payload,) = stored(project)
    assert payload == {"ratings": [1, -1], "first_error": 1, "final_correct": False, "cannot_judge": False,
                       "replacement": None, "rationale": None}


def test_rewrite_stores_a_new_candidate_and_a_pair(desk, qtbot, project, monkeypatch):
    window = desk(pairs(1))
    def fake_exec(dialog):
        dialog.editor.setPlainText("A much better answer.")
        return True
    monkeypatch.setattr("prefdesk.ui.desk.dialogs.RewriteDialog.exec", fake_exec)
    item_id = window.item.id
    left = window.views[ItemKind.PAIRWISE].draft.display_order[0]
    press(qtbot, window, Qt.Key_R)
    item = project.item(item_id)
    assert item.candidates[2].text == "A much better answer." and item.candidates[2].source == "human-rewrite"
    (label,) = [lab for lab in project.labels(item_id) if lab.kind.value == "rewrite"]
    assert label.payload == {"original": left, "rewrite": 2}


def test_remapping_a_shortcut_is_saved_and_used_and_conflicts_are_refused(desk, qtbot, project):
    window = desk(pairs(2))
    bindings = dict(window.bindings)
    bindings["tie"] = ("Y",)
    assert conflicts(bindings) == []
    window.set_bindings(bindings)
    press(qtbot, window, Qt.Key_Y)
    assert stored(project)[0]["verdict"] == "tie"
    assert QSettings().value("shortcuts/tie") == ["Y"]
    bindings["both_bad"] = ("Y",)
    assert conflicts(bindings)[0][0] == "Y"


def test_the_cheat_sheet_lists_every_action_of_the_view(desk, qtbot, monkeypatch):
    window = desk(pairs(1))
    shown = {}
    monkeypatch.setattr("prefdesk.ui.desk.dialogs.CheatSheet.exec", lambda d: shown.setdefault("rows", [
        d.table.item(r, 1).text() for r in range(d.table.rowCount())]))
    press(qtbot, window, Qt.Key_F1)
    expected = [a.help for a in all_actions() if a.scope in ("pairwise", GLOBAL)]
    assert shown["rows"] == expected


def test_gold_items_come_at_the_set_rate_through_the_desk(desk, qtbot, project):
    records = [{**r, "is_gold": i < 2} for i, r in enumerate(pairs(10))]
    window = desk(records, gold_rate=0.25)
    seen = []
    while window.item is not None:
        seen.append(window.item.is_gold)
        press(qtbot, window, Qt.Key_T)
    assert [i for i, g in enumerate(seen, start=1) if g] == [4, 8]


def test_the_demo_desk_renders(qtbot, qt_prefs, tmp_path):
    from prefdesk.demo import ensure_demo
    from prefdesk.store.project import Project

    with Project.open(ensure_demo()) as project:
        window = MainWindow(project, project.ensure_rater("sam"))
        qtbot.addWidget(window)
        window.show()
        assert window.item is not None
        screen = window.screen().availableGeometry()
        assert 600 < window.width() <= screen.width() and window.height() <= screen.height()


def test_a_malformed_import_from_the_file_menu_shows_its_errors_and_changes_nothing(desk, qtbot, project, tmp_path, monkeypatch):
    window = desk(pairs(1))
    shown = []
    monkeypatch.setattr("prefdesk.ui.forms.tell", lambda parent, title, text, icon=None: shown.append(text))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok", "response_a": "a", "response_b": "b"}\n{"prompt": "x", "response_a": 3, "response_b": "b"}\n')
    before = project.count("items")
    import_path(window, bad)
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert f"{bad}:2: response_a: expected text or messages, got int" in shown[0]
    assert project.count("items") == before


def test_an_import_from_the_file_menu_feeds_the_queue(desk, qtbot, project, tmp_path):
    window = desk(pairs(1))
    qtbot.keyClick(window.windowHandle(), Qt.Key_1)
    assert window.item is None
    import_path(window, write(tmp_path, pairs(5)[1:], "more.jsonl"))
    qtbot.waitUntil(lambda: window.item is not None, timeout=5000)
    assert window.item.prompt == "q1"


def test_a_big_import_from_the_file_menu_converts_in_worker_processes(desk, qtbot, project, tmp_path, monkeypatch):
    from prefdesk.formats import parallel

    window = desk(pairs(1))
    monkeypatch.setattr(parallel, "MIN_BYTES", 1)  # every file is "big": the import starts a worker process
    started = []
    real = parallel.outcomes
    monkeypatch.setattr(parallel, "outcomes", lambda *a: started.append(a[3]) or real(*a))
    qtbot.keyClick(window.windowHandle(), Qt.Key_1)
    import_path(window, write(tmp_path, pairs(40)[1:], "big.jsonl"))
    qtbot.waitUntil(lambda: window.item is not None, timeout=20000)
    assert started == [parallel.worker_count()] and project.count("items") == 40


def test_a_long_candidate_paints_at_once_and_is_formatted_in_the_background(desk, qtbot, project):
    import time

    long_answer = ("Here is **a very long** answer with `code`.\n\n" * 2500)  # ~110 KB
    window = desk([{"prompt": "q", "response_a": long_answer, "response_b": "short"}, *pairs(1)])
    view = window.views[ItemKind.PAIRWISE]
    side = view.left if view.draft.display_order[0] == 0 else view.right
    assert "**a very long**" in side.toPlainText()  # plain text first...
    qtbot.waitUntil(lambda: "**" not in side.toPlainText()[:200], timeout=10000)  # ...then formatted
    started = time.perf_counter()
    press(qtbot, window, Qt.Key_1)  # the key still commits at once
    assert time.perf_counter() - started < 0.5 and project.count("labels") == 1


def test_ranking_by_drag_fixes_the_whole_order(desk, qtbot, project):
    from PySide6.QtCore import QModelIndex

    window = desk([{"prompt": "rank", "responses": ["w", "x", "y"]}])
    view = window.views[ItemKind.RANKING]
    assert [view.order_list.item(i).text() for i in range(3)] == ["[1] ?", "[2] ?", "[3] ?"]
    assert view.order_list.model().moveRow(QModelIndex(), 2, QModelIndex(), 0)  # drag [3] to the front
    qtbot.waitUntil(lambda: view.order_list.item(0).text() == "[3]")
    press(qtbot, window, Qt.Key_Return)
    (payload,) = stored(project)
    shown = view.draft.display_order  # screen slot -> candidate position
    assert payload["order"] == [[shown[2]], [shown[0]], [shown[1]]]


def test_a_verdict_while_another_writer_holds_the_file_is_kept_and_written_in_when_it_is_free(desk, qtbot, project):
    import sqlite3
    import time

    from prefdesk.store.pending import pending_path, waiting

    window = desk(pairs(3))
    first = window.item.id
    other = sqlite3.connect(project.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # as a long import does
    started = time.perf_counter()
    press(qtbot, window, Qt.Key_1)
    assert time.perf_counter() - started < 0.5  # never stalled
    assert window.item.id != first and "Saved on this machine (1 waiting)" in window.statusBar().currentMessage()
    assert project.count("labels") == 0 and pending_path(project).exists()  # on disk, fsynced, beside the project
    press(qtbot, window, Qt.Key_T)
    assert window.item is not None and window.item.id not in (first,)  # the held item is not served again
    other.execute("ROLLBACK")
    qtbot.waitUntil(lambda: project.count("labels") == 2, timeout=5000)
    assert waiting(project) == [] and [lab.payload["verdict"] for lab in project.labels(first)] != []
    assert "now in the project" in window.statusBar().currentMessage()


def test_opening_another_project_shows_its_items_not_the_old_ones(desk, qtbot, project, tmp_path):
    from prefdesk.store.project import Project

    window = desk(pairs(2))
    other_path = tmp_path / "other.prefdesk"
    with Project.create(other_path) as other:
        other.set_setting("gold_rate", 0)
        import_file(other, write(tmp_path, [{"prompt": "from the other file", "response": "r"}], "other.jsonl"))
    window.open_project(other_path)
    assert window.project.path == other_path and window.item.prompt == "from the other file"
    press(qtbot, window, Qt.Key_4)
    assert window.project.count("labels") == 1


def test_a_project_that_cannot_be_opened_is_named_and_the_current_one_stays(desk, qtbot, project, tmp_path, monkeypatch):
    window = desk(pairs(2))
    shown = []
    monkeypatch.setattr("prefdesk.ui.forms.tell", lambda parent, title, text, icon=None: shown.append(text))
    not_a_project = tmp_path / "notes.prefdesk"
    not_a_project.write_text("these are my notes, not a database\n" * 100)
    item = window.item.id
    window.open_project(not_a_project)
    assert shown == [f"{not_a_project}: not a PrefDesk project file (not an SQLite database)"]
    assert window.project is project and window.item.id == item
    press(qtbot, window, Qt.Key_1)
    assert project.count("labels") == 1
