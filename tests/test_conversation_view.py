"""A conversation reads as a conversation: turns with roles, the latest nearest the answers, a key that gives the
scrolling keys to the prompt, one that enlarges it, and a divider that stays where the rater left it.
(The same on a real X11 screen with real key events: `test_desk_x11.py`.)"""

import json

from PySide6.QtCore import Qt

from desktools import press, shown, stored
from prefdesk.ui.desk.window import MainWindow

DIALOGUE = [{"role": "user", "content": f"Question {n}: " + "tell me more about tides. " * 30} if n % 2 == 0
            else {"role": "assistant", "content": f"Answer {n}: " + "the moon pulls the sea. " * 30} for n in range(7)]


def test_a_conversation_shows_its_turns_and_opens_at_the_latest(desk, qtbot):
    window = desk([{"prompt": DIALOGUE, "response_a": "Spring tides.", "response_b": "Neap tides."}])
    view = window.current_view()
    text = view.prompt.browser.toPlainText()
    assert [text.index(f"Question {n}") for n in (0, 2, 4, 6)] == sorted(text.index(f"Question {n}") for n in (0, 2, 4, 6))
    assert "User · turn 7 of 7" in text and "Assistant · turn 6 of 7" in text
    assert "7 turns, the latest at the bottom" in view.prompt.caption.text()
    qtbot.waitUntil(lambda: view.prompt.browser.verticalScrollBar().maximum() > 0)
    bar = view.prompt.browser.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() == bar.maximum())


def test_p_gives_the_scrolling_keys_to_the_prompt_and_back_and_verdict_keys_still_work(desk, qtbot, project):
    window = desk([{"prompt": DIALOGUE, "response_a": "Spring tides. " * 400, "response_b": "Neap tides. " * 400}])
    view = window.current_view()
    prompt, left = view.prompt.browser.verticalScrollBar(), view.left.verticalScrollBar()
    qtbot.waitUntil(lambda: prompt.maximum() > 0 and prompt.value() == prompt.maximum())
    press(qtbot, window, Qt.Key_P, Qt.Key_Home)
    assert prompt.value() == 0 and left.value() == 0
    assert "scroll here" in view.prompt.caption.text()
    press(qtbot, window, Qt.Key_PageDown)
    assert prompt.value() > 0
    press(qtbot, window, Qt.Key_P, Qt.Key_PageDown)
    assert left.value() > 0 and "scroll here" not in view.prompt.caption.text()
    press(qtbot, window, Qt.Key_2)
    (label,) = stored(project, "SELECT payload FROM labels WHERE source = 'human'")
    (order,) = project.conn.execute("SELECT display_order FROM labels WHERE source = 'human'").fetchone()
    assert label["verdict"] == "AB"[json.loads(order)[1]]


def test_e_enlarges_the_prompt_and_gives_its_room_back(desk, qtbot):
    window = desk([{"prompt": DIALOGUE, "response_a": "a", "response_b": "b"}])
    view = window.current_view()
    before = view.split.sizes()
    press(qtbot, window, Qt.Key_E)
    enlarged = view.split.sizes()
    assert enlarged[0] >= 0.7 * sum(enlarged) and view.scrolling_prompt
    press(qtbot, window, Qt.Key_E)
    assert view.split.sizes() == before and not view.scrolling_prompt


def test_the_divider_stays_where_the_rater_left_it_in_every_view(desk, qtbot, project):
    window = desk([{"prompt": DIALOGUE, "response_a": "a", "response_b": "b"},
                   {"prompt": "rank", "responses": ["x", "y", "z"]},
                   {"prompt": "score", "response": "r"},
                   {"prompt": "steps", "steps": ["s1", "s2"]}])
    placed = {}
    for kind, view in window.views.items():
        total = sum(view.split.sizes()) or 400
        view.split.setSizes([total // 3, total - total // 3])
        view.split.splitterMoved.emit(total // 3, 1)  # what a drag of the handle sends
        placed[kind] = view.split.sizes()
    window.close()
    again = shown(qtbot, MainWindow(project, project.ensure_rater("ana")))
    for kind, view in again.views.items():
        got, want = view.split.sizes(), placed[kind]
        assert abs(got[0] / sum(got) - want[0] / sum(want)) < 0.02, kind


def test_a_plain_prompt_and_a_conversation_get_their_share_until_the_rater_places_the_divider(desk, qtbot):
    window = desk([{"prompt": DIALOGUE, "response_a": "a", "response_b": "b", "priority": 2},
                   {"prompt": "plain question", "response_a": "a", "response_b": "b", "priority": 1}])
    view = window.current_view()
    share = lambda: view.split.sizes()[0] / sum(view.split.sizes())  # noqa: E731
    assert abs(share() - 0.4) < 0.03
    press(qtbot, window, Qt.Key_1)
    assert window.item.prompt == "plain question" and abs(share() - 0.2) < 0.03
