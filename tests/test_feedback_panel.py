"""Project › Feedback: opened with its keys, a tool's export imported from its button, the chart and the table the
trends of the file, rendered to PNG (light and dark); an annotator sees the trends without the lead's buttons."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog

from desktools import press
from prefdesk.domain import RaterRole
from prefdesk.feedback.trends import trends


@pytest.fixture
def lead_desk(desk, project):
    project.ensure_rater("lee", RaterRole.REVIEWER)
    return desk([], rater="lee")


def _panel(qtbot, window):
    press(qtbot, window, (Qt.Key_F, Qt.ControlModifier | Qt.ShiftModifier))
    qtbot.waitUntil(lambda: window.feedback_panel is not None and window.feedback_panel.isVisible())
    panel = window.feedback_panel
    qtbot.waitUntil(lambda: panel.result is not None, timeout=10000)
    return panel


def test_a_lead_imports_feedback_from_the_panel_and_reads_its_trends(lead_desk, qtbot, project, fixtures, monkeypatch,
                                                                     tmp_path):
    window = lead_desk
    panel = _panel(qtbot, window)
    assert panel.table.rowCount() == 0 and "<b>0</b> online events" in panel.summary.text()
    events = fixtures / "feedback" / "prefdesk-events.jsonl"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(events), ""))
    told = []
    monkeypatch.setattr("prefdesk.ui.forms.tell", lambda *a, **k: told.append(a))
    qtbot.mouseClick(panel.import_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.table.rowCount() > 0 or bool(told), timeout=10000)
    assert not told and "prefdesk, 14 records" in panel.outcome.text()
    expected = trends(project.conn, "day", "model_version")
    assert panel.table.rowCount() == len(expected)
    for row, point in enumerate(expected):
        assert panel.table.item(row, 0).text() == point["period"] and panel.table.item(row, 1).text() == point["group"]
        assert panel.table.item(row, 2).text() == str(point["events"])
        k, n = point["thumbs_down"]["k"], point["thumbs_down"]["n"]
        assert panel.table.item(row, 7).text() == f"{k} of {n}"
    assert "<b>14</b> online events" in panel.summary.text() and "<b>10</b> weak online labels" in panel.summary.text()
    panel.period.setCurrentIndex(1)  # per week
    panel.rate.setCurrentIndex(1)  # retry rate
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2 and panel.table.item(0, 7).text() == "1 of 4", timeout=10000)
    assert len(panel.chart.lines) == 4  # two versions: a line and its interval bars each
    panel.grab().save(str(tmp_path / "feedback-light.png"))
    assert (tmp_path / "feedback-light.png").stat().st_size > 10_000
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (2, True))
    qtbot.mouseClick(panel.backflow_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.outcome.text().startswith("backflow: 2 of 6"), timeout=10000)
    assert project.conn.execute("SELECT COUNT(*) FROM prompts WHERE source = 'feedback:prefdesk'").fetchone()[0] == 2


def test_an_annotator_sees_the_trends_but_not_the_leads_buttons(desk, qtbot, project, fixtures):
    from prefdesk.feedback.importer import import_feedback

    import_feedback(project, fixtures / "feedback" / "arena-judgments.jsonl")
    window = desk([], rater="ana")
    panel = _panel(qtbot, window)
    assert not panel.import_button.isVisible() and not panel.backflow_button.isVisible()
    assert "<b>6</b> online events (arena)" in panel.summary.text()
    assert panel.table.rowCount() == len(trends(project.conn, "day", "model_version"))
