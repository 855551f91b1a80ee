"""The desk's shell (issue 19): keys that work in every window, and the defects a newcomer hit."""

import json

from PySide6.QtCore import Qt

from desktools import pairs, press, shown, write_jsonl
from prefdesk.domain import LabelKind, RaterRole
from prefdesk.formats.importer import import_file


def test_the_desks_menu_keys_work_in_a_panels_window_and_the_panels_own_keys_stay_its_own(qtbot, qt_prefs, project,
                                                                                          tmp_path):
    from prefdesk.ui.desk.window import MainWindow

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
    from prefdesk.ui.desk.window import MainWindow

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


def test_a_rewrite_is_typed_and_saved_from_the_keyboard_alone(desk, qtbot, project):
    """R opens the editor with the keys in the text at its end; typing goes in; Tab does not type a tab;
    Ctrl+Enter saves, as a keyboard sends it (Key_Return with Ctrl held)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from prefdesk.ui.desk.dialogs import RewriteDialog

    window = desk([{"prompt": "Capital of Australia?", "response_a": "Sydney", "response_b": "Canberra."}])
    seen = {}

    def type_in_dialog():
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, RewriteDialog)
        seen["focus"] = QApplication.focusWidget() is dialog.editor
        handle = dialog.windowHandle()
        for char in " It is Canberra":
            qtbot.keyClick(handle, char, Qt.ShiftModifier if char.isupper() else Qt.NoModifier)
        qtbot.keyClick(handle, Qt.Key_Tab)  # moves on: no tab in the text
        seen["after_tab"] = QApplication.focusWidget() is not dialog.editor
        dialog.editor.setFocus()
        qtbot.keyClick(handle, Qt.Key_Return, Qt.ControlModifier)
        seen["closed"] = not dialog.isVisible()
        if dialog.isVisible():  # Ctrl+Enter did nothing: close it so the test fails instead of hanging
            dialog.reject()
    QTimer.singleShot(200, type_in_dialog)
    press(qtbot, window, Qt.Key_R)
    assert seen == {"focus": True, "after_tab": True, "closed": True}
    left_text = window.item.candidates[window.draft.display_order[0]].text
    item = project.item(window.item.id)
    assert item.candidates[-1].text == left_text + " It is Canberra" and item.candidates[-1].source == "human-rewrite"
    (payload,) = [json.loads(p) for (p,) in project.conn.execute("SELECT payload FROM labels WHERE kind = 'rewrite'")]
    assert payload["rewrite"] == 2 and payload["original"] == window.draft.display_order[0]


def test_the_active_dimension_row_is_highlighted_in_the_active_selection_colour(desk, qtbot, tmp_path):
    from PySide6.QtGui import QPalette

    from prefdesk.domain import ItemKind

    window = desk(pairs(1))
    view = window.views[ItemKind.PAIRWISE]
    press(qtbot, window, Qt.Key_Tab, Qt.Key_Down)  # into the dimensions, to the second one
    highlight = view.dim_list.palette().color(QPalette.Active, QPalette.Highlight)
    rows = [view.dim_list.item(i) for i in range(view.dim_list.count())]
    assert [i for i, r in enumerate(rows) if r.background().color() == highlight] == [1] and len(rows) > 2
    assert rows[1].font().bold() and rows[1].text().startswith("▸")
    image = view.dim_list.grab().toImage()  # and it shows: the row's pixels carry the highlight colour
    y = view.dim_list.visualItemRect(rows[1]).center().y()
    assert image.pixelColor(view.dim_list.width() - 12, y) == highlight
    image.save(str(tmp_path / "dims.png"))


def test_an_operation_that_fails_without_its_own_handler_is_shown_not_dropped(desk, qtbot, monkeypatch):
    from prefdesk.ui.operations import Change

    told = []
    monkeypatch.setattr("prefdesk.ui.forms.tell", lambda parent, title, text, icon=None: told.append((parent, text)))
    window = desk(pairs(1))

    def work():
        raise ValueError("the version name is taken")
    window.ops.run(work, Change.LABELS)
    qtbot.waitUntil(lambda: bool(told), timeout=5000)
    assert told == [(window, "the version name is taken")]


def test_switching_to_dark_in_preferences_repaints_captions_and_panes_at_once(desk, qtbot):
    """Captions carry a style sheet: they kept the light palette's dark text on the new dark background."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from prefdesk.domain import ItemKind
    from prefdesk.ui.desk.dialogs import Preferences
    from prefdesk.ui.theme import apply_theme

    apply_theme("light")
    window = desk(pairs(1))
    view = window.views[ItemKind.PAIRWISE]

    def lightest_and_darkest(widget):
        """As the window shows it (a widget grabbed alone is painted afresh and hides the stale palette)."""
        image = window.grab().toImage()
        at = widget.mapTo(window, widget.rect().topLeft())
        values = [image.pixelColor(at.x() + x, at.y() + y).lightness() for x in range(0, widget.width(), 2)
                  for y in range(0, widget.height(), 2)]
        return max(values), min(values)

    def choose_dark():
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, Preferences)
        dialog.theme_box.setCurrentText("Dark")
        dialog.accept()
    QTimer.singleShot(100, choose_dark)
    press(qtbot, window, (Qt.Key_Comma, Qt.ControlModifier))
    try:
        text_max, background_min = lightest_and_darkest(view.left_caption)
        assert background_min < 60 and text_max > 170, (text_max, background_min)  # light text on the dark page
        pane = view.left_browser if hasattr(view, "left_browser") else view.findChildren(type(window.side.guidelines))[0]
        assert lightest_and_darkest(pane)[1] < 60  # the answer pane is dark too
    finally:
        apply_theme("light")


def test_preferences_and_the_cheat_sheet_fit_the_screen_with_keys_readable_and_no_sideways_scrolling(desk, qtbot):
    from prefdesk.ui.desk.dialogs import CheatSheet, Preferences

    window = desk(pairs(1))
    area = window.screen().availableGeometry()
    prefs = Preferences(window, window.bindings)
    qtbot.addWidget(prefs)
    prefs.show()
    qtbot.waitExposed(prefs)
    assert prefs.width() <= area.width() and prefs.height() <= area.height()
    for edits in prefs.editors.values():  # "Shift+Right" was cut to "t+Right" at scale 2
        for edit in edits:
            text = edit.keySequence().toString()
            assert edit.width() >= edit.fontMetrics().horizontalAdvance(text) + edit.fontMetrics().height(), text
    sheet = CheatSheet(window, "pairwise", window.bindings)
    qtbot.addWidget(sheet)
    sheet.show()
    qtbot.waitExposed(sheet)
    assert sheet.width() <= area.width() and sheet.height() <= area.height()
    assert sheet.table.horizontalScrollBar().maximum() == 0
    sheet.resize(420, sheet.height())  # narrower still: the help wraps, nothing scrolls sideways
    qtbot.wait(50)
    assert sheet.table.horizontalScrollBar().maximum() == 0


def test_panels_hear_of_new_labels_and_versions_through_the_change_signal_only(qtbot, qt_prefs, project, fixtures,
                                                                              tmp_path):
    """The Train panel's row count follows labels arriving; a version made in the Versions panel appears in an
    open Train panel, whose own choice stays; neither panel calls the other."""
    import pytest

    pytest.importorskip("pyqtgraph")
    from prefdesk.store import versions as store_versions
    from prefdesk.store.project import Project
    from prefdesk.ui.desk.window import MainWindow
    from prefdesk.ui.operations import Change

    import_file(project, fixtures / "rule_pairs.jsonl")
    import_file(project, write_jsonl(tmp_path, pairs(5)))
    window = shown(qtbot, MainWindow(project, project.ensure_rater("rita", RaterRole.REVIEWER)))
    press(qtbot, window, (Qt.Key_T, Qt.ControlModifier))
    train = window.train_panel
    train.policy.setCurrentIndex(train.policy.findText("the labels now, latest"))
    qtbot.waitUntil(lambda: "400 pairs" in train.counts.text(), timeout=20000)
    rater = project.rater("rita")
    for (item,) in project.conn.execute("SELECT id FROM items WHERE prompt LIKE 'q%'").fetchall()[:3]:
        project.commit_label(item, rater, LabelKind.PAIRWISE, {"verdict": "A"})
    window.ops.changed.emit(Change.LABELS)  # what the desk's commit says after each label
    qtbot.waitUntil(lambda: "403 pairs" in train.counts.text(), timeout=20000)

    qtbot.keyClick(train.windowHandle(), Qt.Key_V, Qt.ControlModifier | Qt.ShiftModifier)  # from the panel's window
    qtbot.waitUntil(lambda: window.versions_panel is not None)
    versions = window.versions_panel

    def create():  # what the panel's New version does once its dialog is answered
        with Project.open(project.path) as p:
            return store_versions.create(p, "r1").manifest
    window.ops.run(create, Change.VERSIONS, versions._created)
    qtbot.waitUntil(lambda: train.policy.findText("version r1 (403 labels, majority)") >= 0, timeout=20000)
    assert train.policy.currentText() == "the labels now, latest"  # the lead's choice stays
    assert [versions.table.item(r, 0).text() for r in range(versions.table.rowCount())] == ["r1"]


def test_at_the_size_of_a_1080p_screen_at_scale_2_the_answers_get_the_height_and_g_leaves_no_gaps(desk, qtbot):
    """QT_SCALE_FACTOR=2 on 1920x1080 is a 960x540 window in the same fonts: laid out here at that size."""
    window = desk([{"prompt": "What should I take for a stiff neck and fever?",
                    "response_a": " ".join(["Go to an emergency department now."] * 30), "response_b": "Rest."}])
    window.resize(960, 540)
    qtbot.waitUntil(lambda: window.width() == 960)
    view = window.current_view()
    line = view.fontMetrics().lineSpacing()
    assert view.left.viewport().height() >= 7 * line  # was 3 lines: the prompt and an empty bottom took the rest
    assert view.left.viewport().height() > 2 * view.prompt.browser.viewport().height()
    side = window.side
    press(qtbot, window, Qt.Key_G)
    qtbot.waitUntil(lambda: not side.guidelines.isVisible())
    gap = side.guidelines_title.geometry().top() - side.rationale.geometry().bottom()
    assert 0 < gap <= 3 * side.layout_.spacing() + 2  # the title follows the box; the room is at the bottom
    assert side.progress.geometry().top() - side.meta.geometry().bottom() <= 3 * side.layout_.spacing() + 2
    project_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "Pro&ject")
    assert all("\tCtrl+" in a.text() for a in project_menu.actions())  # each entry shows its key
