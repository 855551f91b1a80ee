"""The Generate panel (Project › Generate, Ctrl+Shift+G) through the real window, on a tiny causal LM: the model
folder checked before start, a run from the pool with its progress and preview, its items made off the GUI
thread (with the project's rules) and read back from the project file; cancel and resume (issue 20)."""

import json
import os
import signal

import pytest
from PySide6.QtCore import Qt

from desktools import press, shown

pytest.importorskip("torch")


@pytest.fixture
def gen_desk(qtbot, qt_prefs, project, fixtures):
    from prefdesk.domain import RaterRole
    from prefdesk.formats.prompts import read_prompts
    from prefdesk.store import prompts as pool
    from prefdesk.ui.desk.window import MainWindow

    pool.add(project, read_prompts(fixtures / "prompts-sample.jsonl")[0])
    project.set_settings({"rules": [{"name": "short", "check": "max_chars", "value": 100000, "action": "flag"}]})

    def end_job(window) -> None:
        panel = window.generate_panel
        if panel is not None and panel.running():
            pid = panel.watch.folder / "job.pid"
            if pid.exists():
                os.kill(int(pid.read_text()), signal.SIGKILL)

    window = shown(qtbot, MainWindow(project, project.ensure_rater("lead", RaterRole.REVIEWER)), end_job)
    press(qtbot, window, (Qt.Key_G, Qt.ControlModifier | Qt.ShiftModifier))
    panel = window.generate_panel
    assert panel is not None and panel.isVisible()
    return window, panel


def test_the_model_folder_is_checked_before_start(gen_desk, qtbot, tiny_encoder):
    window, panel = gen_desk
    assert not panel.start_button.isEnabled() and "choose the model folder" in panel.problems.text()
    qtbot.keyClicks(panel.model, tiny_encoder)
    assert not panel.start_button.isEnabled() and "not a causal language model" in panel.problems.text()
    assert "40 prompts in the pool, 40 not sampled yet" in panel.pool_info.text()


def test_a_run_from_the_pool_makes_items_with_their_provenance(gen_desk, qtbot, tiny_lm, project):
    window, panel = gen_desk
    qtbot.keyClicks(panel.model, tiny_lm)
    panel.keep_cut.setChecked(True)  # a tiny random model never ends an answer
    assert "LlamaForCausalLM" in panel.model_info.text() and "no chat template" in panel.model_info.text()
    panel.sample.setValue(5)
    panel.by.setCurrentIndex(panel.by.findData("bucket"))
    panel.max_new.setValue(8)
    panel.seed.setValue(11)
    assert panel.start_button.isEnabled(), panel.problems.text()
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.status.text().startswith("Done:"), timeout=120_000)
    assert "5 items added" in panel.status.text() and "rules: 0 hits" in panel.status.text()
    assert panel.progress.value() == panel.progress.maximum() == 5 and panel.preview.toPlainText().strip()
    rows = project.conn.execute("SELECT candidates, meta FROM items").fetchall()
    assert len(rows) == 5
    for candidates, meta in rows:
        meta = json.loads(meta)
        assert meta["prefilter"]["rules"].startswith("rules-") and meta["generated_by"] == panel.watch.run_id
        for c in json.loads(candidates):
            assert c["meta"]["run_seed"] == 11 and c["meta"]["max_new_tokens"] == 8 and c["source"] == "generated"
    assert "35 not sampled yet" in panel.pool_info.text()  # the panel heard the change
    assert window.work.remaining is None or window.work.remaining >= 0


def test_cancel_then_resume_skips_the_prompts_done(gen_desk, qtbot, tiny_lm, project):
    window, panel = gen_desk
    qtbot.keyClicks(panel.model, tiny_lm)
    panel.keep_cut.setChecked(True)  # a tiny random model never ends an answer
    panel.sample.setValue(30)  # enough that the job is still going when Cancel arrives (12 finished first once)
    panel.batch.setValue(1)
    panel.max_new.setValue(64)
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.progress.value() >= 2, timeout=120_000)
    qtbot.mouseClick(panel.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.running(), timeout=60_000)
    assert panel.status.text().startswith("Cancelled") and panel.resume_button.isEnabled()
    done = panel.progress.value()
    assert project.conn.execute("SELECT COUNT(*) FROM items").fetchone() == (0,)  # nothing half-written
    qtbot.mouseClick(panel.resume_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.status.text().startswith("Done:"), timeout=120_000)
    assert "30 items added" in panel.status.text()
    events = [json.loads(e) for e in project.conn.execute("SELECT events FROM runs").fetchone()[0].splitlines()]
    started = [e for e in events if e["event"] == "started"]
    assert started[-1]["already_done"] >= done > 0


def test_the_train_panel_lists_training_runs_only(gen_desk, qtbot, project):
    """A generation, judge or evaluation run is not a training run: the Train panel neither lists nor follows it."""
    from prefdesk.store import runs as store_runs

    window, _ = gen_desk
    store_runs.start_run(project, "generate", {"model": "m"}, "prompts.jsonl", None)  # left running
    store_runs.start_run(project, "judge", {"model": "m"}, "pairs.jsonl", None)
    window.run_named("train")
    panel = window.train_panel
    assert panel.history.rowCount() == 0 and panel.watch is None


def test_the_panel_judges_the_pairs_with_an_llm_judge_off_the_gui_thread(gen_desk, qtbot, tiny_lm, project, tmp_path):
    """The judge from the panel, as `prefdesk judge`: a tiny random LM writes no readable verdict, so every reply
    is counted as unreadable and no label is written (the strict reading, through the window)."""
    from desktools import pairs, write_jsonl
    from prefdesk.formats.importer import import_file

    import_file(project, write_jsonl(tmp_path, pairs(2)))
    window, panel = gen_desk
    box = panel.judge
    assert not box.button.isEnabled() and "train a reward model first" in box.status.text()
    box.kind.setCurrentIndex(box.kind.findData("llm"))
    qtbot.keyClicks(box.model, tiny_lm)
    assert box.button.isEnabled(), box.status.text()
    qtbot.mouseClick(box.button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "pairs judged" in box.status.text() or "did not run" in box.status.text(), timeout=120_000)
    assert "2 pairs judged (0 gold, not labelled), 0 labels written" in box.status.text()
    assert "4 unreadable replies" in box.status.text()
    assert project.conn.execute("SELECT COUNT(*) FROM labels").fetchone() == (0,)
    assert project.conn.execute("SELECT kind, status FROM runs").fetchall() == [("judge", "finished")]
