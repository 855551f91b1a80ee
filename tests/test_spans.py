"""Span highlights: marked by keyboard at the desk (H), stored with the label as offsets into the exact stored
text, kept through back (undo), the labels exchange, split/merge and versions; exported Fine-Grained-RLHF style;
agreement on spans in the quality report; bad spans refused naming the line, field and offsets."""

import json

import pytest
from PySide6.QtCore import Qt, QTimer

from desktools import press, stored, write_jsonl
from prefdesk.domain import LabelKind
from prefdesk.formats.errors import ImportRefused
from prefdesk.formats.importer import import_file
from prefdesk.store import merge as merging, team, versions
from prefdesk.store.project import Project

WRONG = "Take 2000 mg of paracetamol every four hours; the limit does not matter for adults."
RIGHT = "Adults should not take more than 4000 mg of paracetamol in 24 hours; see a doctor if pain persists."


def mark_by_keyboard(qtbot, window, side: str, skip: int, length: int, label_key, comment: str):
    """H opens the dialog; the rater picks the answer, moves `skip` characters, selects `length` with
    Shift+Right, picks a label with Alt+N, types a comment, Alt+A marks, Esc closes."""
    failures = []

    def act():
        try:
            steps()
        except Exception as exc:  # noqa: BLE001 (reported after exec returns)
            failures.append(exc)
            window.span_dialog.reject()

    def steps():
        dialog = window.span_dialog
        if side == "Right":
            dialog.which.setCurrentIndex(1)
        target = dialog.text
        for _ in range(skip):
            qtbot.keyClick(target, Qt.Key_Right)
        for _ in range(length):
            qtbot.keyClick(target, Qt.Key_Right, Qt.ShiftModifier)
        handle = dialog.windowHandle()  # shortcuts and mnemonics, as a keyboard sends them
        qtbot.keyClick(handle, Qt.Key_3, Qt.AltModifier)
        assert dialog.label.currentIndex() == 2
        qtbot.keyClick(handle, label_key, Qt.AltModifier)
        dialog.comment.setFocus()
        qtbot.keyClicks(dialog.comment, comment)
        dialog.text.setFocus()
        qtbot.keyClick(handle, Qt.Key_A, Qt.AltModifier)
        assert "Marked" in dialog.status.text(), dialog.status.text()
        qtbot.keyClick(handle, Qt.Key_Escape)

    QTimer.singleShot(100, act)
    press(qtbot, window, Qt.Key_H)
    assert not failures, failures


def test_a_span_marked_by_keyboard_is_stored_with_the_label_and_survives_back(desk, qtbot, project):
    window = desk([{"prompt": "How much paracetamol can I take?", "response_a": WRONG, "response_b": RIGHT}])
    order = window.draft.display_order
    left_text = window.item.candidates[order[0]].text
    side = "Left" if left_text == WRONG else "Right"
    mark_by_keyboard(qtbot, window, side, 5, 7, Qt.Key_1, "four times the daily limit")  # "2000 mg"
    assert len(window.draft.spans) == 1
    press(qtbot, window, Qt.Key_2 if side == "Left" else Qt.Key_1)  # the other answer is better
    (payload,) = stored(project, "SELECT payload FROM labels WHERE source = 'human'")
    (span,) = payload["spans"]
    assert span == {"candidate": 0, "start": 5, "end": 12, "text": "2000 mg", "label": "factual error",
                    "comment": "four times the daily limit"}
    assert WRONG[span["start"]:span["end"]] == span["text"] and payload["verdict"] == "B"
    (shown,) = project.conn.execute("SELECT display_order FROM labels WHERE source = 'human'").fetchone()
    assert tuple(json.loads(shown)) == order
    press(qtbot, window, Qt.Key_Backspace)  # back: the earlier label, spans and all, editable
    assert window.draft.restored and window.draft.spans == payload["spans"]
    press(qtbot, window, Qt.Key_T)
    payloads = stored(project, "SELECT payload FROM labels WHERE source = 'human' ORDER BY rowid")
    assert payloads[-1]["verdict"] == "tie" and payloads[-1]["spans"] == payload["spans"]


def test_spans_go_out_fine_grained_and_in_the_labels_format_and_come_back(project, tmp_path, cli):
    import_file(project, write_jsonl(tmp_path, [{"prompt": "dose?", "response_a": WRONG, "response_b": RIGHT}]))
    item = project.conn.execute("SELECT id FROM items").fetchone()[0]
    spans = [{"candidate": 0, "start": 5, "end": 12, "text": "2000 mg", "label": "factual error", "comment": None},
             {"candidate": 0, "start": 45, "end": 81, "text": WRONG[45:81], "label": "unsafe", "comment": "no"}]
    for name, marked in (("ana", spans), ("ben", spans[:1])):
        project.commit_label(item, project.ensure_rater(name), LabelKind.PAIRWISE,
                             {"verdict": "B", "strength": None, "dims": {}, "reason_tags": [], "rationale": None,
                              "spans": marked})
    assert cli("export", "-p", project.path, "--format", "fine-grained", "--out", tmp_path / "fg")[0] == 0
    rows = [json.loads(x) for x in next((tmp_path / "fg").rglob("fine_grained.jsonl")).read_text().splitlines()]
    assert len(rows) == 2 and all(r["response"] == WRONG and r["prompt"] == "dose?" for r in rows)
    assert sorted(len(r["errors"]) for r in rows) == [1, 2]
    assert all(WRONG[e["start"]:e["end"]] == e["text"] for r in rows for e in r["errors"])
    code, out, _ = cli("quality", "-p", project.path, "--json")
    agreement = json.loads(out)["span_agreement"]
    assert agreement["by_label"] == {"factual error": 2, "unsafe": 1} and agreement["pairs"] == 1
    assert abs(agreement["overlap_f1"] - 2 * 7 / (43 + 7)) < 1e-9
    assert cli("export", "-p", project.path, "--format", "labels", "--out", tmp_path / "lab")[0] == 0
    fresh = tmp_path / "fresh.prefdesk"
    assert cli("new", fresh)[0] == 0
    assert cli("import", next((tmp_path / "lab").rglob("labels.jsonl")), "-p", fresh)[0] == 0
    with Project.open(fresh) as other:
        back = sorted((p["spans"] for p in stored(other, "SELECT payload FROM labels")), key=len)
    assert back == [spans[:1], spans]


@pytest.mark.parametrize("span, problem", [
    ({"candidate": 0, "start": 70, "end": 999, "text": "x", "label": "unsafe"}, "fall outside candidate 0's text"),
    ({"candidate": 0, "start": 5, "end": 12, "text": "200 mg.", "label": "unsafe"}, "the text changed since"),
    ({"candidate": 2, "start": 0, "end": 1, "text": "T", "label": "unsafe"}, "not one of the item's 2"),
])
def test_a_labels_file_with_a_bad_span_is_refused_naming_the_line_field_and_offsets(project, tmp_path, span, problem):
    record = {"item": {"prompt": "dose?", "candidates": [WRONG, RIGHT], "kind": "pairwise"},
              "label": {"kind": "pairwise", "payload": {"verdict": "B", "spans": [span]}, "rater": {"name": "ana"}}}
    source = write_jsonl(tmp_path, [record], name="labels.jsonl")
    with pytest.raises(ImportRefused) as refused:
        import_file(project, source, format_name="labels")
    assert f"{source}:1: label.payload.spans[0]" in str(refused.value) and problem in str(refused.value)
    assert project.conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 0


def test_spans_survive_split_merge_and_a_version(project, tmp_path):
    project.set_settings({"gold_rate": 0.0})
    import_file(project, write_jsonl(tmp_path, [{"prompt": "dose?", "response_a": WRONG, "response_b": RIGHT}]))
    project.ensure_rater("ana")
    team.split(project, ["ana"], tmp_path / "team", overlap=1)
    span = {"candidate": 0, "start": 5, "end": 12, "text": "2000 mg", "label": "factual error", "comment": None}
    with Project.open(tmp_path / "team" / "ana.prefdesk") as theirs:
        item = theirs.conn.execute("SELECT id FROM items").fetchone()[0]
        theirs.commit_label(item, theirs.rater("ana"), LabelKind.PAIRWISE, {"verdict": "B", "spans": [span]})
    merging.merge(project, [tmp_path / "team" / "ana.prefdesk"])
    version = versions.create(project, "v1")
    (payload,) = stored(project, "SELECT payload FROM labels WHERE source = 'human'")
    assert payload["spans"] == [span] and len(version.label_ids) == 1


def test_a_span_can_be_marked_with_the_mouse_too(desk, qtbot):
    from prefdesk.ui.desk.spans import SpanDialog

    window = desk([{"prompt": "dose?", "response_a": WRONG, "response_b": RIGHT}])
    dialog = SpanDialog(window, window.draft, [("Left", 0), ("Right", 1)])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)

    def at(position: int):
        cursor = dialog.text.textCursor()
        cursor.setPosition(position)
        return dialog.text.cursorRect(cursor).center()

    viewport = dialog.text.viewport()
    qtbot.mousePress(viewport, Qt.LeftButton, pos=at(5))
    qtbot.mouseMove(viewport, at(12))
    qtbot.mouseRelease(viewport, Qt.LeftButton, pos=at(12))
    dialog.add()
    assert [(s["start"], s["end"], s["text"]) for s in window.draft.spans] == [(5, 12, "2000 mg")]
