"""The loop closed from the desk, on this machine's CPU with the default MiniLM base (issue 11):
- demo project: from opening the Train panel to a finished reward model with its scores shown in the desk
  <= 120 s; scoring throughput (candidates/s) reported;
- key -> committed -> next item painted p99 <= 16 ms while a job trains on the same machine."""

import os
import time

from PySide6.QtCore import Qt

from conftest import report


def desk_as(qtbot, path, name, role):
    from prefdesk.store.project import Project
    from prefdesk.ui.desk.window import MainWindow

    from desktools import shown

    project = Project.open(path)
    return shown(qtbot, MainWindow(project, project.ensure_rater(name, role)))


def keys_p99(qtbot, window, n: int) -> float:
    """n verdict keys, each timed from the key to the next item painted; the 99th percentile in ms."""
    samples = []
    for i in range(n):
        t = time.perf_counter()
        qtbot.keyClick(window.windowHandle(), Qt.Key_1 if i % 2 else Qt.Key_2)
        window.repaint()
        samples.append(time.perf_counter() - t)
        if i % 25 == 0:
            qtbot.wait(100)  # the panel's timer reads the job's events now and then, as in real use
    ordered = sorted(samples)
    print(f"\n[bench] keys: median {ordered[n // 2] * 1000:.1f} ms, worst five {[round(s * 1000, 1) for s in ordered[-5:]]}")
    return ordered[int(n * 0.99)] * 1000


def test_demo_from_the_train_panel_to_scores_in_the_desk(tmp_path, qtbot, qt_prefs):
    from prefdesk.demo import build_demo
    from prefdesk.domain import RaterRole

    window = desk_as(qtbot, build_demo(tmp_path / "demo.prefdesk"), "maya", RaterRole.EXPERT)
    started = time.perf_counter()
    qtbot.keyClick(window.windowHandle(), Qt.Key_T, Qt.ControlModifier)
    panel = window.train_panel
    qtbot.waitUntil(lambda: panel.start_button.isEnabled(), timeout=30_000)  # counted and checked
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.watch.status != "running", timeout=300_000)
    assert panel.watch.status == "finished", panel.status.text()
    trained = time.perf_counter()
    panel.tabs.setCurrentIndex(1)
    scoring_started = time.perf_counter()
    qtbot.mouseClick(panel.score_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.scoring is None, timeout=300_000)
    done = time.perf_counter()
    view = window.current_view()
    assert window.work.scores_run and "· model" in view.left_caption.text() + view.right_caption.text()
    n = window.project.conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
    accuracy = window.project.conn.execute("SELECT json_extract(report, '$.eval.accuracy') FROM runs").fetchone()[0]
    print(f"\n[bench] demo: trained in {trained - started:.1f} s (held-out accuracy {accuracy:.3f}), "
          f"scored {n} candidates in {done - scoring_started:.1f} s")
    report("scoring throughput, CPU, MiniLM (model loaded)", panel.score_rate, 0, "candidates/s", at_least=True)
    report("demo: Train panel opened -> reward model -> scores shown in the desk", done - started, 120.0, "s")
    assert done - started <= 120.0


def test_key_to_next_item_p99_while_a_job_trains(tmp_path, qtbot, qt_prefs):
    from desktools import pairs, write_jsonl
    from prefdesk.domain import RaterRole
    from prefdesk.formats.importer import import_file
    from prefdesk.store.project import Project

    path = tmp_path / "p.prefdesk"
    with Project.create(path) as project:
        import_file(project, __import__("pathlib").Path(__file__).parents[1] / "fixtures" / "rule_pairs.jsonl")
        import_file(project, write_jsonl(tmp_path, pairs(3000)))
    window = desk_as(qtbot, path, "lead", RaterRole.REVIEWER)
    idle = keys_p99(qtbot, window, 150)
    window.run_named("train")
    panel = window.train_panel
    qtbot.waitUntil(lambda: panel.start_button.isEnabled(), timeout=30_000)
    panel.epochs.setValue(50)
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=120_000)  # training, not loading
    pid = (panel.watch.folder / "job.pid").read_text()
    print(f"\n[bench] the job's scheduling: nice {os.getpriority(os.PRIO_PROCESS, int(pid))}, "
          f"{open(f'/proc/{pid}/autogroup').read().strip()}")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    p99 = keys_p99(qtbot, window, 300)
    assert panel.running(), "the job must still be training while the keys are measured"
    step = panel.progress.value()
    panel.cancel()
    qtbot.waitUntil(lambda: not panel.running(), timeout=120_000)
    labelled = window.project.conn.execute("SELECT COUNT(*) FROM labels WHERE rater_id = ?", (window.rater.id,)).fetchone()[0]
    assert labelled == 450
    print(f"\n[bench] the job reached step {step} while the keys were measured; without a job: p99 {idle:.1f} ms")
    report("key -> committed -> next painted p99 while a job trains", p99, 16.0, "ms")
    assert p99 <= 16.0
