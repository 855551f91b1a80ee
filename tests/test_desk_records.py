"""What the desk records, through the real window and keys as a keyboard sends them (pytest-qt): each
test here failed before the desk restructure (issue 9)."""

import json

import pytest
from PySide6.QtCore import Qt

from desktools import pairs, press, stored, write_jsonl as write
from prefdesk.domain import ItemKind
from prefdesk.formats.export import export_dataset
from prefdesk.formats.importer import import_file
from prefdesk.quality.aggregate import Policy
from prefdesk.store.project import Project
from prefdesk.ui.actions import GLOBAL, all_actions, conflicts, default_bindings


def test_shift_2_as_a_keyboard_sends_it_stores_right_clearly_better(desk, qtbot, project):
    window = desk(pairs(2))
    right = "A" if window.draft.display_order[1] == 0 else "B"
    press(qtbot, window, (Qt.Key_At, Qt.ShiftModifier))  # Shift+2 on a US layout: '@' with Shift held
    (payload,) = stored(project)
    assert payload["verdict"] == right and payload["strength"] == "clear"
    assert conflicts(default_bindings()) == []
    assert not any(k.startswith("Shift+") and k[6:].isdigit() for keys in default_bindings().values() for k in keys)


def test_every_action_resolves_to_a_handler_in_every_view(desk, qtbot, project, monkeypatch):
    window = desk([*pairs(1), {"prompt": "r", "responses": ["x", "y", "z"]}, {"prompt": "s", "response": "t"},
                   {"prompt": "p", "steps": ["a", "b"]}])
    for module in ("prefdesk.ui.desk.window.QMessageBox", "prefdesk.ui.desk.file_menu.QFileDialog", "prefdesk.ui.forms.QMessageBox"):
        monkeypatch.setattr(module, type("Silent", (), {"__getattr__": lambda self, n: lambda *a, **k: ("", "")})())
    dialogs = ("cheat_sheet", "preferences", "settings", "rewrite", "import", "export", "quit", "new_project",
               "open_project", "about", "queue_order", "spans")
    for kind, view in window.views.items():
        for spec in all_actions():
            if spec.scope == GLOBAL:
                assert callable(spec.handler)
            elif spec.scope == kind.value:
                assert getattr(type(view), spec.handler.__name__) is spec.handler, spec.name
    seen = set()
    while window.item is not None and window.item.kind not in seen:
        kind = window.item.kind
        seen.add(kind)
        for spec in all_actions():
            if spec.scope == kind.value:
                window.run_action(spec)  # none raises, whatever the state
                if window.item is None or window.item.kind is not kind:
                    break
        if window.item is not None and window.item.kind is kind:
            window.run_named("skip")
    for spec in all_actions():
        if spec.scope == GLOBAL and spec.name not in dialogs:
            window.run_action(spec)


def test_switching_project_brings_its_dimensions_tags_and_guidelines(desk, qtbot, project, tmp_path):
    window = desk(pairs(1), dimensions=["helpfulness", "safety"], reason_tags=["too long"])
    other = Project.create(tmp_path / "b.prefdesk")
    other.set_settings({"gold_rate": 0.0, "dimensions": ["accuracy"], "reason_tags": ["cites sources"]})
    other.set_guidelines("b-2", "# Guidelines of project B")
    import_file(other, write(tmp_path, pairs(2), "b.jsonl"))
    other.close()
    window.open_project(tmp_path / "b.prefdesk")
    view = window.views[ItemKind.PAIRWISE]
    assert view.draft.dimensions == ["accuracy"] and view.draft.reason_tags == ["cites sources"]
    assert "Guidelines of project" not in window.side.guidelines.toPlainText()  # A's are gone at once
    qtbot.waitUntil(lambda: "Guidelines of project B" in window.side.guidelines.toPlainText())
    left = "A" if view.draft.display_order[0] == 0 else "B"
    press(qtbot, window, Qt.Key_Tab, Qt.Key_Left, (Qt.Key_1, Qt.ControlModifier), Qt.Key_1)
    label = window.project.labels(window.project.conn.execute("SELECT item_id FROM labels").fetchone()[0])[0]
    assert label.payload["dims"] == {"accuracy": left} and label.payload["reason_tags"] == ["cites sources"]
    assert label.guideline_version == "b-2"
    empty = Project.create(tmp_path / "empty.prefdesk")
    empty.close()
    window.open_project(tmp_path / "empty.prefdesk")
    assert window.item is None and "File › Import" in window.empty.text() and window.side.meta.text() == "—"


def test_undo_after_a_rewrite_keeps_the_rewrite_pair_and_rewrite_then_skip_keeps_the_item(desk, qtbot, project, monkeypatch):
    window = desk(pairs(3))
    monkeypatch.setattr("prefdesk.ui.desk.dialogs.RewriteDialog.exec",
                        lambda d: d.editor.setPlainText("Better.") or True)
    press(qtbot, window, Qt.Key_T)  # a verdict on the first item
    second = window.item.id
    press(qtbot, window, Qt.Key_R, Qt.Key_S)  # rewrite, then skip: the verdict on it is still to give
    assert window.item.id != second
    press(qtbot, window, (Qt.Key_Z, Qt.ControlModifier))  # back: to the tie, not to the rewrite
    assert window.work.editing.payload["verdict"] == "tie"
    press(qtbot, window, Qt.Key_B)
    kinds = [lab.kind.value for lab in project.labels(second)]
    assert kinds == ["rewrite"]  # still current, not superseded
    served = []
    while window.item is not None:
        served.append(window.item.id)
        press(qtbot, window, Qt.Key_T)
    assert second in served  # the skipped item came back for its verdict


def test_back_shows_the_earlier_label_and_then_returns_to_the_item_the_rater_was_on(desk, qtbot, project):
    window = desk(pairs(3))
    first = window.item.id
    left = "A" if window.draft.display_order[0] == 0 else "B"
    press(qtbot, window, Qt.Key_Tab, Qt.Key_Left, (Qt.Key_2, Qt.ControlModifier))
    qtbot.keyClicks(window.side.rationale, "")  # nothing typed yet
    window.side.rationale.setFocus()
    qtbot.keyClicks(window.side.rationale, "clear and safe")
    qtbot.keyClick(window.side.rationale, Qt.Key_Escape)  # Esc typed in the rationale
    press(qtbot, window, (Qt.Key_Exclam, Qt.ShiftModifier))
    on = window.item.id
    press(qtbot, window, Qt.Key_Backspace)
    draft = window.draft
    assert window.item.id == first and draft.restored and draft.verdict.value == left and draft.strength.value == "clear"
    assert draft.dims["helpfulness"].value == left and draft.tags == {"unsafe advice"}
    assert window.side.rationale.toPlainText() == "clear and safe"
    assert "earlier label" in window.views[ItemKind.PAIRWISE].state.text()
    press(qtbot, window, (Qt.Key_1, Qt.ControlModifier), Qt.Key_Return)  # add a tag, keep the verdict
    assert window.item.id == on
    current = project.labels(first)[0]
    assert current.payload["reason_tags"] == ["factual error", "unsafe advice"] and current.payload["rationale"] == "clear and safe"
    assert current.supersedes is not None and current.display_order == draft.display_order


@pytest.mark.parametrize("record,key", [({"prompt": "p", "response": "r"}, Qt.Key_4),
                                        ({"prompt": "p", "steps": ["only step"]}, Qt.Key_Plus)])
def test_a_rationale_is_required_on_high_risk_items_of_every_kind(desk, qtbot, project, record, key):
    window = desk([{**record, "risk_level": "high"}], rationale_required="high-risk")
    press(qtbot, window, key, Qt.Key_Return)
    assert project.count("labels") == 0 and window.side.rationale.hasFocus()
    assert "rationale" in window.statusBar().currentMessage()
    qtbot.keyClicks(window.side.rationale, "why")
    qtbot.keyClick(window.side.rationale, Qt.Key_Escape)  # Esc typed in the rationale
    press(qtbot, window, key, Qt.Key_Return)
    assert stored(project)[0]["rationale"] == "why"


def test_gold_items_look_like_any_other(desk, qtbot, project):
    window = desk(pairs(1, is_gold=True))
    assert window.item.is_gold
    text = window.header.text() + window.side.meta.text() + window.statusBar().currentMessage()
    assert "gold" not in text.lower()


def test_flag_keeps_the_rationale_can_be_taken_back_and_shows_when_the_item_returns(desk, qtbot, project):
    window = desk(pairs(2))
    item = window.item.id
    window.side.rationale.setFocus()
    qtbot.keyClicks(window.side.rationale, "unsure about the dose")
    qtbot.keyClick(window.side.rationale, Qt.Key_Escape)  # Esc typed in the rationale
    press(qtbot, window, Qt.Key_F)
    assert window.side.rationale.toPlainText() == "unsure about the dose"
    assert project.flag_note(item, window.rater) == "unsure about the dose" and "Flagged" in window.side.meta.text()
    press(qtbot, window, Qt.Key_F)
    assert project.flag_note(item, window.rater) is None and "Flagged" not in window.side.meta.text()
    press(qtbot, window, Qt.Key_F, Qt.Key_S, Qt.Key_S)
    assert window.item.id == item and "Flagged" in window.side.meta.text()


def test_reason_tags_and_scrolling_by_keyboard(desk, qtbot, project):
    long = "\n\n".join(f"paragraph {i}" for i in range(300))
    window = desk([{"prompt": "q", "response_a": long, "response_b": long}])
    view = window.views[ItemKind.PAIRWISE]
    press(qtbot, window, (Qt.Key_3, Qt.ControlModifier), (Qt.Key_1, Qt.ControlModifier), (Qt.Key_3, Qt.ControlModifier))
    assert window.draft.tags == {"factual error"}
    assert view.tag_list.item(0).checkState() == Qt.Checked
    bar = view.left.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    press(qtbot, window, Qt.Key_PageDown)
    assert bar.value() > 0
    press(qtbot, window, Qt.Key_End)
    assert bar.value() == bar.maximum()
    press(qtbot, window, Qt.Key_Home)
    assert bar.value() == 0


def test_key_hints_follow_a_remap_everywhere(desk, qtbot, project):
    window = desk(pairs(2))
    bindings = dict(window.bindings)
    bindings["left_better"] = ("Q", "Left")
    window.set_bindings(bindings)
    view = window.views[ItemKind.PAIRWISE]
    assert "[Q/←]" in view.left_caption.text() and window.statusBar().currentMessage().startswith("Q/←")
    assert "\tQ" in window.menu_actions["left_better"].text()
    press(qtbot, window, Qt.Key_Q)
    assert project.count("labels") == 1


def test_the_cheat_sheet_is_read_only(desk, qtbot, monkeypatch):
    from PySide6.QtWidgets import QAbstractItemView

    window = desk(pairs(1))
    seen = []
    monkeypatch.setattr("prefdesk.ui.desk.dialogs.CheatSheet.exec", lambda d: seen.append(d.table.editTriggers()))
    press(qtbot, window, (Qt.Key_Question, Qt.ShiftModifier))
    assert seen == [QAbstractItemView.NoEditTriggers]


def test_scalar_items_show_the_scale_anchors(desk, qtbot, project):
    window = desk([{"prompt": "p", "response": "line one\nline two"}], scale_anchors={"1": "useless", "5": "ideal"})
    view = window.views[ItemKind.SCALAR]
    assert "useless" in view.anchors.text() and "ideal" in view.anchors.text()
    assert "line one\nline two" in view.response.toPlainText().replace("\u2028", "\n")


def test_ranking_strip_shows_every_candidate_on_each_item(desk, qtbot, project):
    window = desk([{"prompt": "r5", "responses": list("abcde")}, {"prompt": "r3", "responses": list("xyz")}])
    view = window.views[ItemKind.RANKING]
    assert view.order_list.count() == 5 and len(view.captions) == 5
    press(qtbot, window, Qt.Key_1, Qt.Key_2, Qt.Key_3, Qt.Key_4, Qt.Key_Return)
    assert view.order_list.count() == 3 and len(view.captions) == 3


def test_a_rewrite_is_one_transaction(project, tmp_path, monkeypatch):
    import_file(project, write(tmp_path, pairs(1)))
    item_id = project.conn.execute("SELECT id FROM items").fetchone()[0]
    rater = project.ensure_rater("ana")
    monkeypatch.setattr(Project, "commit_label", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk full")))
    with pytest.raises(RuntimeError):
        project.commit_rewrite(item_id, rater, 0, "better")
    assert len(project.item(item_id).candidates) == 2


def test_closing_the_desk_ends_the_session(desk, qtbot, project):
    window = desk(pairs(1))
    session = window.work.session.id
    window.close()
    (ended,) = project.conn.execute("SELECT ended_at FROM sessions WHERE id = ?", (session,)).fetchone()
    assert ended is not None


def test_process_work_and_rationales_reach_the_exports(project, tmp_path):
    import_file(project, write(tmp_path, [{"prompt": "2+2*3?", "steps": ["2*3 = 6", "2 + 6 = 9"]}]))
    item_id = project.conn.execute("SELECT id FROM items").fetchone()[0]
    project.commit_label(item_id, project.ensure_rater("ana"), "process",
                         {"ratings": [1, -1], "first_error": 1, "final_correct": False, "cannot_judge": False,
                          "replacement": {"step": 1, "text": "2 + 6 = 8"}, "rationale": "arithmetic slip"})
    export_dataset(project, "trl-stepwise", tmp_path / "out", Policy())
    (step_row,) = [json.loads(x) for x in (tmp_path / "out" / "stepwise.jsonl").read_text().splitlines()]
    assert step_row["labels"] == [True, False] and step_row["meta"]["final_correct"] is False
    assert step_row["meta"]["replacements"][0]["text"] == "2 + 6 = 8" and step_row["meta"]["replacements"][0]["step"] == 1
    assert step_row["meta"]["rationales"] == ["arithmetic slip"]


def test_rationales_and_process_work_given_at_the_desk_reach_the_exports(desk, qtbot, project, tmp_path, monkeypatch):
    window = desk([{"prompt": "2+2*3?", "steps": ["2*3 = 6", "2 + 6 = 9"]}, *pairs(1)])
    monkeypatch.setattr("prefdesk.ui.desk.dialogs.RewriteDialog.exec", lambda d: d.editor.setPlainText("2 + 6 = 8") or True)
    for _ in range(2):
        window.side.rationale.setFocus()
        if window.item.kind is ItemKind.PROCESS:
            qtbot.keyClicks(window.side.rationale, "arithmetic slip")
            qtbot.keyClick(window.side.rationale, Qt.Key_Escape)
            press(qtbot, window, Qt.Key_Plus, Qt.Key_Minus, Qt.Key_R, Qt.Key_I, Qt.Key_Return)
        else:
            qtbot.keyClicks(window.side.rationale, "the first is wrong")
            qtbot.keyClick(window.side.rationale, Qt.Key_Escape)
            press(qtbot, window, Qt.Key_2)
    assert window.item is None
    export_dataset(project, "trl-stepwise", tmp_path / "out", Policy())
    export_dataset(project, "trl-preference", tmp_path / "out", Policy())
    (step_row,) = [json.loads(x) for x in (tmp_path / "out" / "stepwise.jsonl").read_text().splitlines()]
    assert step_row["meta"]["final_correct"] is False and step_row["meta"]["rationales"] == ["arithmetic slip"]
    assert step_row["meta"]["replacements"][0]["text"] == "2 + 6 = 8" and step_row["meta"]["replacements"][0]["step"] == 1
    (pref,) = [json.loads(x) for x in (tmp_path / "out" / "preference.jsonl").read_text().splitlines()]
    assert pref["rationales"] == ["the first is wrong"]


def test_import_dialog_takes_format_mapping_and_skip_bad_and_export_dialog_every_format(desk, qtbot, project, tmp_path,
                                                                                        fixtures, monkeypatch):
    import shutil

    from prefdesk.formats.export_rows import EXPORT_FORMATS
    from prefdesk.domain.policies import POLICY_NAMES
    from prefdesk.ui.desk.file_menu import ExportDialog, ImportDialog

    window = desk([])
    csv = tmp_path / "pairs.csv"
    shutil.copy(fixtures / "pairs.csv", csv)
    with open(csv, "a") as f:
        f.write('"",only a prompt is missing,x,edu\n')  # a bad record: empty prompt

    def fill_import(dialog):
        dialog.path.setText(str(csv))
        dialog.format.setCurrentText("unlabelled")
        dialog.mapping.setText("prompt=question response_a=left response_b=right")
        dialog.skip_bad.setChecked(True)
        return True
    monkeypatch.setattr(ImportDialog, "exec", fill_import)
    window.run_named("import")
    qtbot.waitUntil(lambda: window.item is not None, timeout=10000)
    assert project.count("items") == 2 and (tmp_path / "pairs.csv.rejects.jsonl").exists()
    press(qtbot, window, Qt.Key_1)
    offered = {}

    def fill_export(dialog):
        offered["formats"] = [dialog.format.itemText(i) for i in range(dialog.format.count())]
        offered["policies"] = [dialog.aggregate.itemText(i) for i in range(dialog.aggregate.count())]
        offered["folder"] = dialog.folder.text()
        dialog.format.setCurrentText("labels")
        dialog.folder.setText(str(tmp_path / "ex"))
        return True
    monkeypatch.setattr(ExportDialog, "exec", fill_export)
    monkeypatch.setattr("prefdesk.ui.forms.tell", lambda *a: offered.setdefault("done", a[2]))
    window.run_named("export")
    qtbot.waitUntil(lambda: "done" in offered, timeout=10000)
    assert offered["formats"] == list(EXPORT_FORMATS) and offered["policies"] == list(POLICY_NAMES)
    assert offered["folder"].startswith(str(project.path.parent))
    assert len((tmp_path / "ex" / "labels.jsonl").read_text().splitlines()) == 1


def test_project_settings_dialog_saves_all_or_nothing_and_applies_to_the_next_item(desk, qtbot, project, monkeypatch):
    from prefdesk.ui.desk.settings_dialog import SettingsDialog

    window = desk(pairs(2))
    refused = []
    monkeypatch.setattr("prefdesk.ui.forms.tell", lambda *a: refused.append(a[2]))

    def edit(dialog, dims, version):
        dialog.dimensions.setPlainText(dims)
        dialog.overlap.setValue(3)
        dialog.guideline_text.setPlainText("# v2\nCite sources.")
        dialog.guideline_version.setText(version)
        dialog.save()
        return dialog.result()
    monkeypatch.setattr(SettingsDialog, "exec", lambda d: edit(d, "accuracy\naccuracy", "v2"))
    window.run_named("settings")
    assert "twice" in refused[0] and project.settings["overlap"] == 2 and project.guidelines()[0] == "v1"
    monkeypatch.setattr(SettingsDialog, "exec", lambda d: edit(d, "accuracy\ntone", "v2"))
    window.run_named("settings")
    assert project.settings["dimensions"] == ["accuracy", "tone"] and project.guidelines()[0] == "v2"
    assert "Cite sources" in window.side.guidelines.toPlainText()
    press(qtbot, window, Qt.Key_T)  # the item on screen keeps its draft; the next one has the new dimensions
    assert window.draft.dimensions == ["accuracy", "tone"]
    press(qtbot, window, Qt.Key_T)
    rows = project.conn.execute("SELECT guideline_version, payload FROM labels ORDER BY rowid").fetchall()
    assert [r[0] for r in rows] == ["v2", "v2"]  # the guidelines on screen at each commit


def test_dark_theme_paints_light_text_on_dark_panes_and_preferences_edit_every_key(desk, qtbot, project, monkeypatch):
    from prefdesk.ui.desk.dialogs import Preferences
    from prefdesk.ui.theme import apply_theme

    window = desk([{"prompt": "q", "response_a": "A long enough answer " * 20, "response_b": "b"}])
    try:
        apply_theme("dark")
        window.show_item(window.item, window.draft)
        image = window.views[ItemKind.PAIRWISE].left.grab().toImage()
        colours = {image.pixelColor(x, y).lightness() for x in range(0, image.width(), 3) for y in range(0, 60, 3)}
        assert min(colours) < 60 and max(colours) > 180  # a dark page with light text on it
    finally:
        apply_theme("system")

    def second_key(dialog):
        from PySide6.QtGui import QKeySequence

        dialog.editors["tie"][1].setKeySequence(QKeySequence("Y"))
        dialog.theme_box.setCurrentIndex(2)
        dialog.try_accept()
        return dialog.result()
    monkeypatch.setattr(Preferences, "exec", second_key)
    monkeypatch.setattr("prefdesk.ui.theme.apply_theme", lambda name=None: name)
    window.run_named("preferences")
    assert window.bindings["tie"] == ("T", "Y")
    press(qtbot, window, Qt.Key_Y)
    assert stored(project)[0]["verdict"] == "tie"


def test_the_first_run_rater_dialog_starts_empty_and_says_what_a_rater_is(qtbot):
    from PySide6.QtWidgets import QLabel

    from prefdesk.ui.desk.dialogs import RaterDialog

    dialog = RaterDialog(["maya", "tom"])
    qtbot.addWidget(dialog)
    assert dialog.name.currentText() == "" and dialog.windowTitle()
    assert any("rater is the person" in label.text() for label in dialog.findChildren(QLabel))


def test_model_scores_are_hidden_from_annotators_and_shown_to_reviewers_with_the_models_verdict(desk, qtbot, project):
    from prefdesk.domain import RaterRole
    from prefdesk.store import runs

    window = desk(pairs(2))
    run_id = runs.start_run(project, "reward", {}, "ds", None)
    runs.finish_run(project, run_id, "finished", {"eval": {"accuracy": 0.9}}, "model")
    ids = [r[0] for r in project.conn.execute("SELECT id FROM items ORDER BY id")]
    runs.store_scores(project, run_id, [(i, 0, 1.5, None) for i in ids] + [(i, 1, -0.5, None) for i in ids])
    press(qtbot, window, Qt.Key_M)  # ana is an annotator
    view = window.views[ItemKind.PAIRWISE]
    assert "hidden from annotators" in window.statusBar().currentMessage() and "model" not in view.left_caption.text()
    reviewer = project.ensure_rater("rita", RaterRole.REVIEWER)
    window.set_project(project, reviewer)
    press(qtbot, window, Qt.Key_M)
    a_side = view.left_caption if window.draft.display_order[0] == 0 else view.right_caption
    assert "model +1.5 ◆ preferred" in a_side.text()
    b_key = Qt.Key_1 if window.draft.display_order[0] == 1 else Qt.Key_2
    press(qtbot, window, b_key)  # against the model
    assert "preferred the other answer" in window.statusBar().currentMessage()


@pytest.mark.parametrize("record,key", [
    ({"prompt": "I swallowed bleach, what now?", "response_a": "Drink water and call poison control.",
      "response_b": "Make yourself vomit."}, Qt.Key_1),
    ({"prompt": "p", "response": "r"}, Qt.Key_4)])
def test_a_required_rationale_is_stored_as_typed_following_the_status_bar(desk, qtbot, project, record, key):
    """The verdict key moves the keys into the rationale box; what the status bar then tells the rater to do
    must not put a stray letter into the stored rationale (it once said "write it (N)", and N typed "n")."""
    window = desk([{**record, "risk_level": "high"}], rationale_required="high-risk")
    press(qtbot, window, key)
    told = window.statusBar().currentMessage()
    assert window.side.rationale.hasFocus() and "type it now" in told
    rationale_key = window.bindings["rationale"][0]
    assert f"({rationale_key})" not in told and f" {rationale_key} " not in told
    for char in "Vomiting is dangerous here":  # typed on the window, as a keyboard sends it
        qtbot.keyClick(window.windowHandle(), char, Qt.ShiftModifier if char.isupper() else Qt.NoModifier)
    press(qtbot, window, Qt.Key_Escape, key)
    (payload,) = stored(project)
    assert payload["rationale"] == "Vomiting is dangerous here"


def test_ranking_ties_the_last_two_places(desk, qtbot, project):
    window = desk([{"prompt": "rank four", "responses": ["w", "x", "y", "z"]}])
    view = window.views[ItemKind.RANKING]
    shown = view.draft.display_order
    press(qtbot, window, Qt.Key_2, Qt.Key_1, Qt.Key_3, Qt.Key_Equal)
    assert "[3]  =  [4] on submit" in view.order_label.text() and view.order_list.count() == 4
    press(qtbot, window, Qt.Key_4)
    assert "[3] = [4]" in view.order_label.text()
    assert [view.order_list.item(i).text() for i in range(view.order_list.count())] == ["[2]", "[1]", "[3] = [4]"]
    press(qtbot, window, Qt.Key_Return)
    (payload,) = stored(project)
    assert payload["order"] == [[shown[1]], [shown[0]], [shown[2], shown[3]]]


def test_ranking_the_last_one_left_takes_the_last_place_on_submit(desk, qtbot, project):
    window = desk([{"prompt": "rank four", "responses": ["w", "x", "y", "z"]}])
    view = window.views[ItemKind.RANKING]
    shown = view.draft.display_order
    press(qtbot, window, Qt.Key_2, Qt.Key_1, Qt.Key_3)
    assert "[3]  >  [4] on submit" in view.order_label.text() and view.order_list.item(3).text() == "[4] ?"
    press(qtbot, window, Qt.Key_Return)
    assert stored(project)[0]["order"] == [[shown[1]], [shown[0]], [shown[2]], [shown[3]]]
