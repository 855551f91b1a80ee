"""Roles are managed: `prefdesk raters list|set-role|rename|history`, every change recorded, an annotator never
promotes itself, a label keeps the role its rater had when it was given, and a merge keeps the lead's roles."""

import json

from desktools import write_jsonl
from prefdesk.domain import LabelKind, RaterRole
from prefdesk.formats.importer import import_file
from prefdesk.store import merge as merging, team, versions
from prefdesk.store.project import Project


def new_project(tmp_path, cli):
    path = tmp_path / "roles.prefdesk"
    assert cli("new", path)[0] == 0
    with Project.open(path) as project:
        project.set_settings({"gold_rate": 0.0})
        import_file(project, write_jsonl(tmp_path, [{"prompt": f"q{i}", "response_a": "a", "response_b": "b"}
                                                    for i in range(4)]))
        project.ensure_rater("ana")
        project.ensure_rater("lead")  # `--rater lead` on a new project: an annotator, as the issue found
    return path


def test_the_owner_names_the_first_lead_then_only_leads_change_roles_all_recorded(tmp_path, cli):
    path = new_project(tmp_path, cli)
    code, _, err = cli("raters", "set-role", "ana", "expert", "-p", path, "--by", "ana")
    assert code == 2 and "an annotator cannot change their own role" in err
    code, out, _ = cli("raters", "set-role", "lead", "reviewer", "-p", path, "--by", "owner")
    assert code == 0 and "lead is now reviewer" in out
    code, _, err = cli("raters", "set-role", "ana", "reviewer", "-p", path, "--by", "owner")
    assert code == 2 and "only a reviewer or expert" in err, "once there is a lead, an outsider cannot"
    code, _, err = cli("raters", "set-role", "lead", "annotator", "-p", path, "--by", "lead")
    assert code == 2 and "last reviewer or expert" in err
    assert cli("raters", "set-role", "ana", "expert", "-p", path, "--by", "lead")[0] == 0
    code, _, err = cli("raters", "set-role", "nobody", "expert", "-p", path, "--by", "lead")
    assert code == 2 and "no rater 'nobody'" in err
    code, _, err = cli("raters", "set-role", "ana", "model-judge", "-p", path, "--by", "lead")
    assert code == 2 and "invalid choice" in err
    code, out, _ = cli("raters", "list", "-p", path, "--json")
    assert {r["name"]: r["role"] for r in json.loads(out)} == {"ana": "expert", "lead": "reviewer"}
    code, out, _ = cli("raters", "history", "-p", path, "--json")
    history = json.loads(out)
    assert [(c["rater"], c["field"], c["from"], c["to"], c["by"]) for c in history] == [
        ("lead", "role", "annotator", "reviewer", "owner"), ("ana", "role", "annotator", "expert", "lead")]
    assert all(c["at"] for c in history)


def test_a_rename_keeps_the_raters_labels_and_is_recorded(tmp_path, cli):
    path = new_project(tmp_path, cli)
    with Project.open(path) as project:
        item = project.conn.execute("SELECT id FROM items LIMIT 1").fetchone()[0]
        project.commit_label(item, project.rater("ana"), LabelKind.PAIRWISE, {"verdict": "A"})
    assert cli("raters", "set-role", "lead", "expert", "-p", path, "--by", "owner")[0] == 0
    code, _, err = cli("raters", "rename", "ana", "lead", "-p", path, "--by", "lead")
    assert code == 2 and "already a rater 'lead'" in err
    code, _, err = cli("raters", "rename", "ana", "anna", "-p", path, "--by", "ana")
    assert code == 2 and "annotator" in err
    assert cli("raters", "rename", "ana", "anna", "-p", path, "--by", "lead")[0] == 0
    with Project.open(path) as project:
        (name,) = project.conn.execute("SELECT r.name FROM labels l JOIN raters r ON r.id = l.rater_id "
                                       "WHERE l.source = 'human'").fetchone()
        assert name == "anna" and project.rater("ana") is None
        assert project.rater_changes()[-1] | {"at": None} == {"rater": "anna", "field": "name", "from": "ana",
                                                              "to": "anna", "by": "lead", "at": None}


def test_a_label_keeps_the_role_its_rater_had_when_it_was_given(tmp_path, cli):
    """An annotator's labels stay in the main layer after the annotator is made an expert; labels given in a
    session after the promotion are expert labels."""
    path = new_project(tmp_path, cli)
    with Project.open(path) as project:
        items = [r[0] for r in project.conn.execute("SELECT id FROM items ORDER BY id")]
        ana = project.rater("ana")
        before = project.start_session(ana)
        project.commit_label(items[0], ana, LabelKind.PAIRWISE, {"verdict": "A"}, session=before)
        project.set_role("lead", "expert", "owner")
        project.set_role("ana", "expert", "lead")
        after = project.start_session(project.rater("ana"))
        project.commit_label(items[1], project.rater("ana"), LabelKind.PAIRWISE, {"verdict": "B"}, session=after)
    with Project.open(path) as project:
        got = dict(project.conn.execute(f"SELECT l.item_id, {versions._LAYER_SQL} FROM labels l JOIN items i ON "
                                        "i.id = l.item_id JOIN raters r ON r.id = l.rater_id WHERE l.source = 'human'"))
    assert got == {items[0]: "main", items[1]: "expert"}
    assert cli("export", "-p", path, "--format", "labels", "--out", tmp_path / "labels")[0] == 0
    rows = [json.loads(line) for f in sorted((tmp_path / "labels").rglob("*.jsonl")) for line in f.read_text().splitlines()]
    roles = {r["item"]["prompt"]: r["label"]["rater"]["role"] for r in rows if r["label"]["source"] == "human"}
    assert sorted(roles.values()) == ["annotator", "expert"], roles


def test_a_merge_keeps_the_leads_roles_whatever_the_raters_file_says(tmp_path, cli):
    path = new_project(tmp_path, cli)
    with Project.open(path) as project:
        project.set_role("lead", "expert", "owner")
        team.split(project, ["ana"], tmp_path / "team", overlap=1)
    rater_file = tmp_path / "team" / "ana.prefdesk"
    with Project.open(rater_file) as theirs:  # the annotator makes themselves an expert in their own file
        theirs.conn.execute("UPDATE raters SET role = 'expert' WHERE name = 'ana'")
        ana = theirs.rater("ana")
        session = theirs.start_session(ana)
        item = theirs.conn.execute("SELECT id FROM items LIMIT 1").fetchone()[0]
        theirs.commit_label(item, ana, LabelKind.PAIRWISE, {"verdict": "A"}, session=session)
    with Project.open(path) as project:
        merging.merge(project, [rater_file])
        assert project.rater("ana").role is RaterRole.ANNOTATOR
        (role,) = project.conn.execute("SELECT s.rater_role FROM labels l JOIN sessions s ON s.id = l.session_id "
                                       "WHERE l.source = 'human'").fetchone()
        (layer,) = project.conn.execute(f"SELECT {versions._LAYER_SQL} FROM labels l JOIN items i ON i.id = l.item_id "
                                        "JOIN raters r ON r.id = l.rater_id WHERE l.source = 'human'").fetchone()
    assert role == "annotator" and layer == "main"


def test_a_lead_changes_a_role_in_the_raters_view_and_an_annotator_cannot(qtbot, qt_prefs, tmp_path, cli, monkeypatch):
    from desktools import shown
    from prefdesk.ui import forms
    from prefdesk.ui.app import _window

    path = new_project(tmp_path, cli)
    with Project.open(path) as project:
        project.set_role("lead", "reviewer", "owner")
    told = []
    monkeypatch.setattr(forms, "tell", lambda parent, title, text, *a: told.append(text))
    project = Project.open(path)
    window = shown(qtbot, _window(project, str(path), "lead"), before_close=lambda w: project.close())
    window.run_named("items")
    view = window.items_panel.raters
    window.items_panel.show_raters()
    qtbot.waitUntil(lambda: view.table.rowCount() == 2)
    view.table.selectRow([r.name for r in view.rows].index("ana"))
    view.role.setCurrentText("expert")
    view.set_role_button.click()
    qtbot.waitUntil(lambda: view.history.rowCount() == 2)  # the newest first
    assert [view.history.item(0, c).text() for c in range(1, 6)] == ["ana", "role", "annotator", "expert", "lead"]
    assert project.rater("ana").role is RaterRole.EXPERT
    view.table.selectRow([r.name for r in view.rows].index("lead"))
    view.role.setCurrentText("annotator")
    project.set_role("ana", "annotator", "lead")  # now lead is the last lead again
    view.set_role_button.click()
    assert told and "last reviewer or expert" in told[-1] and project.rater("lead").role is RaterRole.REVIEWER


def test_a_new_rater_at_the_desk_is_told_their_role_and_cannot_pick_a_lead_role_once_there_is_a_lead(
        qtbot, qt_prefs, tmp_path, cli):
    from desktools import shown
    from prefdesk.ui.app import _window
    from prefdesk.ui.desk.dialogs import RaterDialog

    path = new_project(tmp_path, cli)
    project = Project.open(path)
    window = shown(qtbot, _window(project, str(path), "newcomer"), before_close=lambda w: project.close())
    qtbot.wait(50)
    assert "newcomer joined this project as annotator" in window.statusBar().currentMessage()
    assert RaterDialog(["ana"], choose_role=True).role.isEnabled()
    assert not RaterDialog(["ana"], choose_role=False).role.isEnabled()
