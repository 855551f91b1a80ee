"""The desk session model without Qt (issue 19): commit, back, skip, flag, rewrite, held labels and the
events the window renders from, read back from the project file."""

import json
import subprocess
import sys

from desktools import pairs, write_jsonl
from prefdesk.domain import LabelKind, RaterRole
from prefdesk.formats.importer import import_file
from prefdesk.labeling import Side
from prefdesk.labeling.session import HELD, ITEM_SHOWN, LABELLED, MESSAGE, PROGRESS, DeskSession
from prefdesk.store.project import Project


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def started(project, tmp_path, n=3, role=RaterRole.ANNOTATOR):
    project.set_settings({"gold_rate": 0.0})
    import_file(project, write_jsonl(tmp_path, pairs(n)))
    clock = Clock()
    work = DeskSession(project, project.ensure_rater("ana", role), clock=clock)
    seen = {name: [] for name in (ITEM_SHOWN, PROGRESS, MESSAGE, LABELLED, HELD)}
    for name in seen:
        work.connect(name, lambda *args, name=name: seen[name].append(args))
    work.show_next()
    return work, clock, seen


def choose(work, side):
    """What the 1 (left) or 2 (right) key gives: the verdict for that screen side, ready to commit."""
    return work.draft.decide(work.draft.verdict_for(side))


def test_the_session_imports_no_qt():
    code = "import sys, prefdesk.labeling.session; print([m for m in sys.modules if m.startswith('PySide6')])"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_commit_stores_what_was_shown_and_shows_the_next_item(project, tmp_path):
    work, clock, seen = started(project, tmp_path)
    first = work.item
    order = work.draft.display_order
    left = "A" if order[0] == 0 else "B"
    clock.now += 2.5
    label = work.commit(choose(work, Side.LEFT))  # the left answer is better
    row = project.conn.execute("SELECT item_id, payload, display_order, duration_ms, session_id FROM labels").fetchone()
    assert row[0] == first.id and json.loads(row[1])["verdict"] == left
    assert tuple(json.loads(row[2])) == order and row[3] == 2500 and row[4] == work.session.id
    assert work.item.id != first.id and seen[ITEM_SHOWN][-1][0].id == work.item.id
    assert seen[LABELLED] == [(label,)] and seen[PROGRESS][-1][0] == 1  # one label today


def test_back_shows_the_earlier_label_and_what_is_given_supersedes_it_then_returns(project, tmp_path):
    work, clock, seen = started(project, tmp_path)
    first = work.item
    old = work.commit(choose(work, Side.LEFT))
    second = work.item
    work.back()
    assert work.item.id == first.id and work.editing.id == old.id
    assert work.draft.display_order == old.display_order  # shown as it was given
    new = work.commit(choose(work, Side.RIGHT))
    assert new.supersedes == old.id and work.item.id == second.id  # back where the rater was
    assert seen[PROGRESS][-1][0] == 1  # an edit is not one more label today
    assert project.conn.execute("SELECT COUNT(*) FROM current_labels").fetchone()[0] == 1


def test_skip_and_flag(project, tmp_path):
    work, clock, seen = started(project, tmp_path, n=2)
    first = work.item
    work.skip()
    assert work.item.id != first.id
    assert work.toggle_flag("looks off")
    assert project.flag_note(work.item.id, work.rater) == "looks off"
    assert work.toggle_flag("")
    assert project.flag_note(work.item.id, work.rater) is None
    assert [m[0] for m in seen[MESSAGE]][-2:] == ["Flagged for review; your rationale so far is kept.", "Flag taken back."]


def test_rewrite_adds_a_candidate_and_the_preference_label(project, tmp_path):
    work, clock, seen = started(project, tmp_path, n=1)
    name, text, position = work.rewrite_choices()[0]
    assert name == "Left" and text == work.item.candidates[position].text
    work.rewrite(position, "A better answer, written by ana.")
    assert work.item.candidates[-1].text == "A better answer, written by ana." and work.item.candidates[-1].source == "human-rewrite"
    payload = json.loads(project.conn.execute("SELECT payload FROM labels WHERE kind = 'rewrite'").fetchone()[0])
    assert payload == {"original": position, "rewrite": 2}


def test_a_busy_file_holds_the_label_on_disk_and_writes_it_once_free(project, tmp_path):
    work, clock, seen = started(project, tmp_path, n=2)
    project.wait_for_lock(50)
    other = Project.open(project.path)
    other.conn.execute("BEGIN IMMEDIATE")  # an import holds the write lock
    label = work.commit(choose(work, Side.LEFT))
    assert work.held == 1 and seen[HELD] == [()] and work.last_label.id == label.id
    assert not work.write_held()
    other.conn.execute("COMMIT")
    other.close()
    assert work.write_held() and work.held == 0
    assert project.conn.execute("SELECT id FROM labels").fetchone()[0] == label.id


def test_model_scores_stay_hidden_from_annotators(project, tmp_path):
    work, clock, seen = started(project, tmp_path, n=1)
    work.toggle_scores()
    assert work.scores_run is None and "hidden from annotators" in seen[MESSAGE][-1][0]
    project.commit_label(work.item.id, project.ensure_rater("bo"), LabelKind.PAIRWISE, {"verdict": "A"})
    work.scores_stored("run-1")
    assert work.scores_run is None

