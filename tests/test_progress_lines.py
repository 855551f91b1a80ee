"""Progress on every long command wherever its output goes (issue 32, part 5): a live line on a terminal, plain
timestamped lines at a steady interval in a log or pipe, nothing with --quiet; the result stays on stdout."""

import io
import json
import os
import re
import subprocess
import sys

import pytest

from prefdesk.jobs.progress import ProgressPrinter, duration_text, progress_text
from training.protocol import JobEvent, parse_event

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d "


def _event(**fields) -> JobEvent:
    return parse_event(json.dumps(fields))


def test_a_log_gets_a_line_every_interval_and_at_start_and_end_and_a_terminal_one_live_line(monkeypatch):
    clock = iter(range(0, 1000, 4))  # each event 4 s after the one before
    monkeypatch.setattr("prefdesk.jobs.progress.time.monotonic", lambda: next(clock))
    log = io.StringIO()
    printer = ProgressPrinter("prompts", stream=log, every_s=10)
    printer(_event(event="started", prompts=10, backend="transformers"))
    for step in range(1, 11):
        printer(_event(event="progress", step=step, total_steps=10, tokens_per_s=31.5, eta_s=(10 - step) * 4.0))
    printer(_event(event="finished", output_dir="x", report={"big": "x" * 10_000}))
    lines = log.getvalue().splitlines()
    assert all(re.match(STAMP, line) for line in lines), lines
    progress = [line for line in lines if "prompts" in line and "/10" in line]
    assert 3 <= len(progress) <= 5 and progress[-1].endswith("10/10 prompts (100%) · 31.5 tokens/s · ETA 0 s")
    assert lines[0][20:].startswith("started: ") and lines[-1][20:].startswith("finished: ") and len(lines[-1]) < 500

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    screen = Terminal()
    live = ProgressPrinter("prompts", stream=screen)
    for step in (1, 2):
        live(_event(event="progress", step=step, total_steps=2, eta_s=3))
    live(_event(event="finished"))
    assert screen.getvalue().count("\r") == 2 and screen.getvalue().endswith("finished: {}\n")
    quiet = io.StringIO()
    ProgressPrinter(quiet=True, stream=quiet)(_event(event="started"))
    assert quiet.getvalue() == ""
    assert progress_text(_event(event="progress", step=3, total_steps=0)) == "3/0 steps · ETA —"
    assert [duration_text(s) for s in (5, 185, 7800)] == ["5 s", "3 min 05 s", "2 h 10 min"]


def test_generate_with_its_stderr_in_a_file_logs_progress_and_keeps_the_result_on_stdout(project, tiny_lm, tmp_path):
    pytest.importorskip("torch")
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": f"question {i}"}) + "\n" for i in range(4)))
    path = project.path
    project.close()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "prefdesk", "generate", "-p", str(path), "--model", tiny_lm, "--prompts", str(prompts),
           "--max-new-tokens", "4", "--keep-cut-answers", "--batch-size", "1"]
    with open(tmp_path / "err.log", "w") as err:
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env, check=False)
    assert done.returncode == 0
    assert json.loads(done.stdout)["status"] == "finished"  # the result, alone on stdout
    log = (tmp_path / "err.log").read_text()
    assert re.search(STAMP + r"started: ", log) and re.search(STAMP + r"4/4 prompts \(100%\)", log), log
    assert re.search(STAMP + r"finished: ", log)
    quiet = subprocess.run([*cmd[:-2], "--batch-size", "2", "--quiet", "--seed", "1"], capture_output=True, text=True,
                           env=env, check=False)
    assert quiet.returncode == 0 and "prompts (" not in quiet.stderr and "started:" not in quiet.stderr
