"""Text too long to lay out (issue 38): an import refuses a record over the size limit, naming it; the desk shows
the first `SHOWN_MOST` characters of a text with a marker and never lays out more, and W shows the whole text."""

import json
import resource

from PySide6.QtCore import Qt

from desktools import press
from prefdesk.ui.desk.content import SHOWN_MOST


def test_a_record_over_the_size_limit_is_refused_by_line_and_skipped_to_the_rejects_file(project, tmp_path, cli):
    src = tmp_path / "huge.jsonl"
    src.write_text(json.dumps({"prompt": "0" * (17 * 2 ** 20), "response": "r"}) + "\n"
                   + json.dumps({"prompt": "fine", "response": "r"}) + "\n")
    code, _, err = cli("import", src, "-p", project.path)
    assert code != 0 and "huge.jsonl:1:" in err and "longer than 16 MB" in err and project.item_count() == 0
    code, out, err = cli("import", src, "-p", project.path, "--skip-bad")
    assert code == 0 and project.item_count() == 1, err
    (reject,) = [json.loads(line) for line in (tmp_path / "huge.jsonl.rejects.jsonl").read_text().splitlines()]
    assert reject["line"] == 1 and len(reject["raw"]) <= 10_000


def test_the_desk_shows_a_huge_prompt_cut_with_a_marker_and_w_shows_it_whole(desk, qtbot, project):
    huge = "0" * 15_000_000  # one endless line, just under the import's limit
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    window = desk([{"prompt": huge, "response_a": "short", "response_b": "x" * (SHOWN_MOST + 5)}])
    view = window.current_view()
    shown = view.prompt.browser.toPlainText()
    assert shown.startswith("0" * 1000) and len(shown) < SHOWN_MOST + 300
    assert "the text has 15,000,000 characters" in shown and "Press W" in shown
    assert len(view.left.toPlainText()) < SHOWN_MOST + 300 and len(view.right.toPlainText()) < SHOWN_MOST + 300
    press(qtbot, window, Qt.Key_D)  # the word diff compares what is shown, not the whole texts
    press(qtbot, window, Qt.Key_W)
    tabs = window.whole_texts.tabs
    assert tabs.tabText(0) == "Prompt (15,000,000 characters)" and tabs.tabText(1).startswith("Left (")
    assert tabs.widget(0).toPlainText().replace("\n", "") == huge  # the whole text, its line broken for display
    window.whole_texts.close()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024 - before_mb < 1200  # was 2.2 GB and an abort
