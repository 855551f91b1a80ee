"""Training from the project, headless (`prefdesk train | runs | score | queue`), on a tiny model: the run
is recorded in the project, its scores come back, and the model-ordered queues use them (issue 11)."""

import json
import sqlite3

import pytest

HYPER = json.dumps({"max_steps": 30, "batch_size": 16, "learning_rate": 1e-3, "max_length": 64, "logging_steps": 5})


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_encoder):
    """A project of 400 labelled rule pairs with one finished reward run, scored."""
    from prefdesk.cli import main

    folder = tmp_path_factory.mktemp("jobs")
    project = folder / "p.prefdesk"
    fixtures = __import__("pathlib").Path(__file__).parent / "fixtures"
    assert main(["new", str(project)]) == 0
    assert main(["import", str(fixtures / "rule_pairs.jsonl"), "-p", str(project)]) == 0
    assert main(["train", "-p", str(project), "--kind", "reward", "--base-model", tiny_encoder, "--hyper", HYPER]) == 0
    return project


def test_a_reward_run_is_recorded_with_its_snapshot_and_report(trained, cli):
    code, out, _ = cli("runs", "-p", trained, "--json")
    (run,) = json.loads(out)
    assert code == 0 and run["kind"] == "reward" and run["status"] == "finished" and run["finished_at"]
    assert 0.0 <= run["report"]["accuracy"] <= 1.0 and run["report"]["eval"]["n_pairs"] > 0
    from pathlib import Path

    assert (Path(run["dataset"]) / "manifest.json").exists() and (Path(run["model_dir"]) / "config.json").exists()
    events = sqlite3.connect(trained).execute("SELECT events FROM runs").fetchone()[0].splitlines()
    assert [json.loads(e)["event"] for e in events[:2]] == ["launched", "started"]
    assert json.loads(events[-1])["event"] == "finished"


def test_scores_come_back_for_every_candidate_and_order_the_queue(trained, cli):
    run_id = json.loads(cli("runs", "-p", trained, "--json")[1])[0]["id"]
    code, out, err = cli("score", "-p", trained, "--run", run_id)
    assert code == 0, err
    conn = sqlite3.connect(trained)
    n_candidates = sum(len(json.loads(c)) for (c,) in conn.execute("SELECT candidates FROM items"))
    assert conn.execute("SELECT COUNT(*) FROM scores WHERE run_id = ?", (run_id,)).fetchone()[0] == n_candidates
    code, out, _ = cli("queue", "-p", trained, "--rater", "newcomer", "--order", "uncertain", "--limit", "50", "--json")
    entries = json.loads(out)
    gaps = [abs(e["scores"][0] - e["scores"][1]) for e in entries]
    assert code == 0 and len(entries) == 50 and gaps == sorted(gaps)
    code, out, _ = cli("queue", "-p", trained, "--rater", "newcomer", "--order", "disagreement", "--json")
    disputed = json.loads(out)
    keys = [e["order_key"] for e in disputed]
    assert keys == sorted(keys, reverse=True) and all(k > 0 for k in keys)
    code, out, _ = cli("queue", "-p", trained, "--rater", "newcomer", "--json")
    assert len(json.loads(out)) == conn.execute("SELECT COUNT(*) FROM items WHERE open = 1").fetchone()[0]


def test_a_bad_base_model_is_refused_naming_it_before_a_run_is_recorded(trained, cli, tmp_path):
    _, before, _ = cli("runs", "-p", trained, "--json")
    code, out, err = cli("train", "-p", trained, "--kind", "reward", "--base-model", tmp_path / "nowhere")
    assert code == 2 and f"base model: {tmp_path / 'nowhere'} is not a folder" in err and out == ""
    _, after, _ = cli("runs", "-p", trained, "--json")
    assert json.loads(after) == json.loads(before)  # nothing frozen, nothing recorded


def test_a_killed_runtime_shows_as_failed_and_the_project_is_intact(trained, cli, tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nkill -9 $$\n")
    fake.chmod(0o755)
    code, out, err = cli("train", "-p", trained, "--kind", "reward", "--python", fake)
    run = json.loads(out)
    assert code == 1 and run["status"] == "failed" and "ended without a result" in run["report"]["error"]
    assert sqlite3.connect(trained).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_no_training_runtime_is_said_with_the_command_to_install_one_and_records_nothing(trained, cli, tmp_path):
    before = sqlite3.connect(trained).execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    code, _, err = cli("train", "-p", trained, "--kind", "reward", "--python", tmp_path / "no-such-python")
    assert code == 2 and "no such Python" in err and 'pip install "prefdesk[train]"' in err
    assert sqlite3.connect(trained).execute("SELECT COUNT(*) FROM runs").fetchone()[0] == before


def test_train_score_and_queue_work_with_the_network_cut_off(tmp_path, fixtures, tiny_encoder):
    """`unshare -n`: a network namespace with no interface up; anything that reached for the network fails."""
    import shutil
    import subprocess
    import sys

    if not shutil.which("unshare") or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare -n is not permitted here (CI runs as root, where it is)")
    project = tmp_path / "p.prefdesk"

    def offline(*args):
        code = f"from prefdesk.cli import main; raise SystemExit(main({[str(a) for a in args]!r}))"
        return subprocess.run(["unshare", "-n", sys.executable, "-c", code], capture_output=True, text=True, timeout=300)

    assert offline("new", project).returncode == 0
    assert offline("import", fixtures / "rule_pairs.jsonl", "-p", project).returncode == 0
    done = offline("train", "-p", project, "--kind", "reward", "--base-model", tiny_encoder, "--hyper", HYPER)
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["id"]
    assert offline("score", "-p", project, "--run", run_id).returncode == 0
    queued = offline("queue", "-p", project, "--rater", "x", "--order", "uncertain", "--limit", "5", "--json")
    assert queued.returncode == 0 and len(json.loads(queued.stdout)) == 5


def test_long_hh_transcripts_are_cut_to_fit_in_training_and_scoring_and_every_candidate_is_scored(
        tmp_path, fixtures, tiny_encoder, cli):
    """HH-RLHF dialogues run past 512 tokens: nothing is dropped or crashes; the cuts are counted."""
    project = tmp_path / "hh.prefdesk"
    assert cli("new", project)[0] == 0
    assert cli("import", fixtures / "hh_rlhf_harmless_200.jsonl", "-p", project)[0] == 0
    hyper = json.dumps({"max_steps": 2, "batch_size": 8, "max_length": 512})
    code, out, err = cli("train", "-p", project, "--kind", "reward", "--base-model", tiny_encoder, "--hyper", hyper)
    assert code == 0, err
    report = json.loads(out)["report"]
    exported = sum(1 for _ in open(f"{json.loads(out)['dataset']}/preference.jsonl"))
    assert report["train_pairs"] + report["eval_pairs"] == exported == 200
    cut = report["truncated"]
    assert cut["max_length"] == 512 and cut["train"].get("prompt", 0) + cut["eval"].get("prompt", 0) > 0
    code, out, err = cli("score", "-p", project, "--run", json.loads(cli("runs", "-p", project, "--json")[1])[0]["id"])
    assert code == 0, err
    conn = sqlite3.connect(project)
    n_candidates = sum(len(json.loads(c)) for (c,) in conn.execute("SELECT candidates FROM items"))
    assert out.startswith(f"scored {n_candidates} candidates;") and "prompts shortened" in out
    assert conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == n_candidates


def _running_run(project_path):
    """A run recorded as running whose job is gone (its lock not held, its pid written)."""
    from prefdesk.jobs.watch import PID_FILE
    from prefdesk.store.runs import run_folder
    from prefdesk.store import runs as store_runs
    from prefdesk.store.project import Project

    with Project.open(project_path) as p:
        run_id = store_runs.start_run(p, "reward", {"kind": "reward"}, "-", {}, None)
        folder = run_folder(p, run_id)
    folder.mkdir(parents=True)
    (folder / PID_FILE).write_text("999999")
    return run_id, folder


def test_a_run_folder_whose_event_stream_is_a_directory_settles_failed_and_nothing_stops(tmp_path, cli):
    project = tmp_path / "p.prefdesk"
    cli("new", project)
    run_id, folder = _running_run(project)
    (folder / "events.jsonl").mkdir()
    code, out, err = cli("runs", "-p", project, "--json")
    assert code == 0 and "Traceback" not in err, err
    (run,) = json.loads(out)
    assert run["status"] == "failed" and "events.jsonl cannot be read" in run["report"]["error"]


def test_a_finished_run_whose_event_stream_was_deleted_is_read_from_its_model_folder(tmp_path, cli):
    project = tmp_path / "p.prefdesk"
    cli("new", project)
    run_id, folder = _running_run(project)
    (folder / "model").mkdir()
    (folder / "model" / "report.json").write_text(json.dumps({"accuracy": 0.75, "steps": 3}))
    code, out, err = cli("runs", "-p", project, "--json")
    (run,) = json.loads(out)
    assert run["status"] == "finished" and run["report"]["accuracy"] == 0.75
    assert run["model_dir"] == str(folder / "model")
