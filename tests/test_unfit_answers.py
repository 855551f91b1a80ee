"""Answers a rater should not see are caught before they are shown (issue 32, part 3): empty, whitespace-only and
cut answers are sampled again (bounded, recorded), and a prompt whose answers stay so is held back with its reason,
counted in the run's report and in `prefdesk stats`; never an item pairing a cut answer with a finished one."""

import json

import pytest

from prefdesk.cli import main
from prefdesk.store import runs as store_runs
from prefdesk.store.project import Project
from test_hostile_server import HostileServer, send

pytest.importorskip("torch")


def _reply(handler, body):
    """Per prompt: `fine` answers well; `empty` gives whitespace on a first try, then text; `cut` always stops at the
    limit; `blank` is only whitespace, every time."""
    prompt = body["prompt"]
    first_try = body["seed"] % 2  # each attempt draws another seed: some first tries are odd, some even
    text, finish = f"an answer to {prompt} ({body['seed']})", "stop"
    if prompt == "cut":
        finish = "length"
    elif prompt == "blank" or (prompt == "empty" and first_try):
        text = " \n "
    send(handler, 200, json.dumps({"choices": [{"text": text, "finish_reason": finish}],
                                   "usage": {"prompt_tokens": 2, "completion_tokens": 3}}).encode())


def test_empty_and_cut_answers_are_resampled_and_a_prompt_that_keeps_them_is_held_back_with_its_reason(
        project, tmp_path, cli):
    server = HostileServer(_reply)
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in ("fine", "empty", "cut", "blank")))
    path = project.path
    project.close()
    try:
        assert main(["generate", "-p", str(path), "--model", "m", "--prompts", str(prompts), "--backend", "openai",
                     server.url, "--quiet"]) == 0
        with Project.open(path) as p:
            kept = sorted(i.prompt for i in (p.item(i) for (i,) in p.conn.execute("SELECT id FROM items")))
            (run,) = store_runs.runs(p)
        assert kept == ["empty", "fine"]  # resampled until whole; cut and blank held back
        assert run.report["unfit"] == {"cut at the token limit": 1, "empty": 1} and run.report["unfit_prompts"] == 2
        assert run.report["resampled"] >= 2 * 2 * 2  # cut and blank: both answers, two more tries each
        with Project.open(path) as p:
            for (candidates,) in p.conn.execute("SELECT candidates FROM items"):
                for c in json.loads(candidates):
                    assert c["text"].strip() and c["meta"]["finish"] == "eos"
        code, out, _ = cli("stats", "-p", path)
        assert "prompts held back: 0 near-duplicate, 1 cut at the token limit, 1 empty" in out

        # the lead may keep cut answers on purpose: then the cut prompt makes an item, its cut recorded per answer
        assert main(["generate", "-p", str(path), "--model", "m", "--prompts", str(prompts), "--backend", "openai",
                     server.url, "--keep-cut-answers", "--seed", "1", "--quiet"]) == 0
    finally:
        server.close()
    with Project.open(path) as p:
        cut = [json.loads(c) for (c,) in p.conn.execute("SELECT candidates FROM items WHERE prompt = 'cut'")]
    assert cut and all(c["meta"]["finish"] == "length" for c in cut[0])
