"""Project › Items (issue 19): the browser's queries, full-text search, and the panel through the window: keys,
filters, search, the open-item view, bulk edit (recorded) and the raters' progress."""


import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from desktools import press, shown, write_jsonl
from prefdesk.domain import LabelKind, RaterRole
from prefdesk.formats.importer import import_file
from prefdesk.quality import browse
from prefdesk.store import search

HH = [{"prompt": "Human: My neck is stiff and I have a fever. What should I take?\n\nAssistant: How long?\n\n"
                 "Human: Three days now, and the light hurts my eyes.",
       "response_a": "A stiff neck with fever and light sensitivity can be meningitis: go to an emergency room now.",
       "response_b": "Ibuprofen and rest; it will pass.", "scenario": "medical", "risk_level": "high"},
      {"prompt": "Human: Write a haiku about autumn rain", "response_a": "Cold rain on maples", "response_b": "Leaves fall",
       "scenario": "creative"},
      {"prompt": "Human: What is 17 * 23?", "response_a": "391", "response_b": "401"}]


@pytest.fixture
def team(project, tmp_path):
    """Three items; ann and bo disagree on the first (a dispute), ann labelled the second; bo flagged the third."""
    import_file(project, write_jsonl(tmp_path, HH))
    ids = [i for (i,) in project.conn.execute("SELECT id FROM items ORDER BY rowid")]
    ann, bo = project.ensure_rater("ann"), project.ensure_rater("bo")
    project.commit_label(ids[0], ann, LabelKind.PAIRWISE, {"verdict": "A", "rationale": "meningitis signs"},
                         display_order=(1, 0), duration_ms=4000)
    project.commit_label(ids[0], bo, LabelKind.PAIRWISE, {"verdict": "B"}, display_order=(0, 1), duration_ms=2000)
    project.commit_label(ids[1], ann, LabelKind.PAIRWISE, {"verdict": "A"}, display_order=(0, 1), duration_ms=3000)
    project.flag(ids[2], bo, "check the arithmetic")
    return ids


def rowids_of(project, ids):
    return {r: i for r, i in project.conn.execute("SELECT rowid, id FROM items")}


def matching_ids(project, **query):
    by_rowid = rowids_of(project, None)
    return [by_rowid[r] for r in browse.item_rowids(project, browse.ItemQuery(**query))]


def test_filters_search_and_rows_follow_the_projects_rules(project, team):
    ann = project.rater("ann")
    assert matching_ids(project) == team
    assert matching_ids(project, scenario="medical") == [team[0]]
    assert matching_ids(project, scenario=browse.BLANK) == [team[2]]
    assert matching_ids(project, labelled_by=ann.id) == team[:2]
    assert matching_ids(project, not_labelled_by=ann.id) == [team[2]]
    assert matching_ids(project, flagged=True) == [team[2]]
    assert matching_ids(project, status="disputed") == [team[0]]
    assert matching_ids(project, min_raters=2) == [team[0]]
    assert matching_ids(project, sort="scenario", descending=True)[0] == team[0]
    assert search.catch_up(project) == 3 and search.behind(project) == 0
    assert matching_ids(project, search="meningitis") == [team[0]]  # found in an answer
    assert matching_ids(project, search="haik") == [team[1]]  # the last word is a prefix
    assert matching_ids(project, search='" * - ()') == team  # syntax is not parsed: no words, no search
    assert matching_ids(project, search='rain AND') == []  # AND is a word here, not an operator
    rows = browse.page(project, browse.item_rowids(project, browse.ItemQuery()))
    assert [r.raters for r in rows] == [["ann", "bo"], ["ann"], []]
    assert rows[0].agreement == 0.5 and rows[0].status == "disputed" and rows[0].labels == 2
    assert rows[2].flagged == 1 and rows[1].agreement is None
    assert matching_ids(project, status="undecided") == [team[0]] and matching_ids(project, status="decided") == []
    from prefdesk.quality import arbitration

    arbitration.decide(project, team[0], project.ensure_rater("lea", RaterRole.EXPERT), "A", "meningitis: go now")
    assert matching_ids(project, status="decided") == [team[0]] and matching_ids(project, status="disputed") == []
    assert browse.page(project, browse.item_rowids(project, browse.ItemQuery()))[0].status == "decided"


def test_a_rater_with_many_labels_is_filtered_from_the_coded_labels_exactly_as_sql_filters(tmp_path, monkeypatch):
    """"Labelled by" a rater who judged most of a big project reads the labels' coded (item, rater) columns
    (`store.column_cache`), not SQL: the same items in the same order, for every rater, with other filters, orders and
    a first screen's limit; a rewrite, a judge's label and an edit count as SQL counts them."""
    from simteam import simulate

    from prefdesk.domain import LabelSource
    from prefdesk.store import column_cache
    from prefdesk.store.project import Project

    monkeypatch.setattr(column_cache, "CHUNK", 64)
    simulate(tmp_path / "team.jsonl")
    with Project.create(tmp_path / "team.prefdesk") as project:
        import_file(project, tmp_path / "team.jsonl", format_name="labels")
        items = [i for (i,) in project.conn.execute("SELECT id FROM items ORDER BY rowid")]
        zed = project.ensure_rater("zed")
        project.commit_label(items[0], zed, LabelKind.REWRITE, {"original": 0, "rewrite": 1})  # not a verdict
        judge = project.ensure_rater("judge:tiny", RaterRole.MODEL_JUDGE)
        project.commit_label(items[1], judge, LabelKind.PAIRWISE, {"verdict": "A"}, source=LabelSource.MODEL_JUDGE)
        first = project.commit_label(items[2], zed, LabelKind.PAIRWISE, {"verdict": "A"})
        project.commit_label(items[2], zed, LabelKind.PAIRWISE, {"verdict": "B"}, supersedes=first)
        raters = [r for (r,) in project.conn.execute("SELECT id FROM raters ORDER BY name")]
        queries = [dict(), dict(scenario="medical"), dict(sort="raters", descending=True), dict(sort="scenario")]
        for many in (10**9, 1):  # SQL, then the coded columns
            monkeypatch.setattr(browse, "MANY_LABELS", many)
            got = [(browse.item_rowids(project, browse.ItemQuery(**{key: rater, **extra})),
                    browse.item_rowids(project, browse.ItemQuery(**{key: rater, **extra}), limit=5))
                   for rater in raters for key in ("labelled_by", "not_labelled_by") for extra in queries]
            if many > 1:
                expected = got
        assert got == expected and any(full for full, _ in got) and any(not full for full, _ in got)
        assert project.conn.execute("SELECT COUNT(*) FROM column_cache WHERE name LIKE 'rater-items:%'").fetchone()[0]
        assert matching_ids(project, labelled_by=zed.id) == [items[2]] and \
            matching_ids(project, labelled_by=judge.id) == []


def test_the_search_index_follows_a_rewrite_and_new_items(project, team, tmp_path):
    search.catch_up(project)
    project.commit_rewrite(team[2], project.ensure_rater("ann"), 1, "Seventeen times twenty-three is 391")
    assert matching_ids(project, search="twenty") == [team[2]]
    import_file(project, write_jsonl(tmp_path, [{"prompt": "Human: name a zebra", "response_a": "x", "response_b": "y"}],
                                     "more.jsonl"))
    assert search.behind(project) == 1
    search.catch_up(project)
    assert len(matching_ids(project, search="zebra")) == 1


def test_the_items_window_from_the_keyboard_filters_searches_opens_and_edits_in_bulk(qtbot, qt_prefs, project, team):
    from prefdesk.ui.items.dialogs import BulkEditDialog, ItemDialog
    from prefdesk.ui.desk.window import MainWindow

    window = shown(qtbot, MainWindow(project, project.ensure_rater("lea", RaterRole.EXPERT)))
    press(qtbot, window, (Qt.Key_I, Qt.ControlModifier | Qt.ShiftModifier))
    panel = window.items_panel
    assert panel is not None and panel.isVisible()
    qtbot.waitUntil(lambda: panel.took_s is not None, timeout=10000)
    assert panel.model.rowCount() == 3
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    panel.set_filter("status", "disputed")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=10000)
    assert panel.model.data(panel.model.index(0, 10)) == "disputed"
    panel.clear_filters()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3, timeout=10000)
    qtbot.keyClick(panel.windowHandle(), Qt.Key_F, Qt.ControlModifier)
    assert QApplication.focusWidget() is panel.search
    qtbot.keyClicks(panel.search, "haiku")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=10000)
    panel.clear_filters()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3, timeout=10000)

    panel.table.setFocus()
    panel.table.setCurrentIndex(panel.model.index(0, 0))
    seen = {}

    def read_item_dialog():
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, ItemDialog):
            table = dialog.table
            seen["rows"] = [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]
        (dialog or panel).close() if dialog else None

    QTimer.singleShot(300, read_item_dialog)
    qtbot.keyClick(panel.windowHandle(), Qt.Key_Return)
    assert [r[0] for r in seen["rows"]] == ["ann", "bo"]
    assert seen["rows"][0][4] == "B | A" and "meningitis signs" in seen["rows"][0][6]  # what ann saw on the left

    panel.activateWindow()  # as a window manager gives it back when the dialog closes
    qtbot.waitUntil(panel.isActiveWindow)
    panel.table.selectAll()

    def fill_bulk_edit():
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, BulkEditDialog):
            dialog.boxes["risk_level"].setCurrentText("high")
            dialog.boxes["bucket"].setCurrentText("round-2")
            dialog._check()
        elif dialog is not None:
            dialog.reject()

    QTimer.singleShot(300, fill_bulk_edit)
    qtbot.keyClick(panel.windowHandle(), Qt.Key_M, Qt.ControlModifier)
    qtbot.waitUntil(lambda: "3 items changed" in panel.hint.text(), timeout=10000)
    assert project.conn.execute("SELECT DISTINCT risk_level, bucket FROM items").fetchall() == [("high", "round-2")]
    edits = project.conn.execute("SELECT field, old, new, by FROM item_edits ORDER BY field, old").fetchall()
    assert ("bucket", None, "round-2", "lea") in edits and ("risk_level", None, "high", "lea") in edits
    assert len([e for e in edits if e[0] == "risk_level"]) == 2  # the first item was high already: not an edit
    qtbot.waitUntil(lambda: panel.model.data(panel.model.index(1, 3)) == "high", timeout=10000)  # the panel listened


def test_an_annotator_sees_only_their_own_labels_and_cannot_edit(qtbot, qt_prefs, project, team):
    from prefdesk.ui.items.dialogs import ItemDialog
    from prefdesk.ui.desk.window import MainWindow

    window = shown(qtbot, MainWindow(project, project.ensure_rater("ann")))
    window.run_named("items")
    panel = window.items_panel
    qtbot.waitUntil(lambda: panel.took_s is not None, timeout=10000)
    assert panel.model.data(panel.model.index(0, 8)) == "2"  # how many, not who
    assert panel.table.isColumnHidden(9) and panel.table.isColumnHidden(11)
    dialog = ItemDialog(panel, window, team[0])
    assert [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())] == ["ann"]
    dialog.close()
    panel.table.selectAll()
    panel.edit_selection()
    assert "reviewers and experts" in panel.hint.text()
    assert project.conn.execute("SELECT COUNT(*) FROM item_edits").fetchone()[0] == 0


def test_the_raters_view_counts_today_left_and_median(qtbot, qt_prefs, project, team):
    from prefdesk.ui.desk.window import MainWindow

    window = shown(qtbot, MainWindow(project, project.ensure_rater("lea", RaterRole.REVIEWER)))
    window.run_named("items")
    panel = window.items_panel
    panel.show_raters()
    qtbot.waitUntil(lambda: bool(panel.raters.rows), timeout=10000)
    by_name = {r.name: r for r in panel.raters.rows}
    assert (by_name["ann"].today, by_name["ann"].total, by_name["ann"].median_s) == (2, 2, 3.5)
    assert by_name["bo"].left == project.conn.execute(
        "SELECT COUNT(*) FROM items WHERE open = 1 AND id NOT IN (SELECT item_id FROM labels l JOIN raters r "
        "ON r.id = l.rater_id WHERE r.name = 'bo')").fetchone()[0]


def test_every_panel_action_resolves_in_the_registry_and_its_keys_do_not_clash():
    from prefdesk.ui.actions import PANEL_SCOPES, all_actions, conflicts, default_bindings, keymaps

    bindings = default_bindings()
    assert conflicts(bindings) == []
    maps = keymaps(bindings)
    items = maps["items"]
    assert items["Return"].name == "items_open" and items["Ctrl+M"].name == "items_edit"
    assert items["Ctrl+Shift+Q"].name == "quality"  # the desk's menu commands work in a panel too
    assert "S" not in items and "1" not in items  # a desk verdict or skip key never fires in a panel
    for spec in all_actions():
        if spec.scope in PANEL_SCOPES:
            assert callable(spec.handler) and spec.help
