"""Generation (issue 20): `prefdesk generate` samples answers from a tiny causal LM built from a config, records
where each answer came from, re-samples near-duplicates, makes pairs or rankings, and survives kill -9 with a
resume that skips what was done. Everything is read back from the project file."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import make_tiny_lm
from prefdesk.cli import main
from prefdesk.domain import ItemKind
from prefdesk.store import prompts as pool
from prefdesk.store import runs as store_runs
from prefdesk.store.project import Project
from training.generate import duplicates, same_answer

pytest.importorskip("torch")
ENV = {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}
TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} {% endfor %}"
            "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def _items(path):
    with Project.open(path) as project:
        ids = [i for (i,) in project.conn.execute("SELECT id FROM items ORDER BY rowid")]
        return [project.item(i) for i in ids]


def _generate(path, model, *extra):
    # a tiny random model never ends an answer: its cut answers are kept (by default they are resampled, then held)
    return main(["generate", "-p", str(path), "--model", model, "--max-new-tokens", "8", "--keep-cut-answers", *extra])


@pytest.fixture
def pooled(project, fixtures):
    path = project.path
    project.close()
    assert main(["prompts", "import", str(fixtures / "prompts-sample.jsonl"), "-p", str(path)]) == 0
    return path


def test_generate_records_every_answers_provenance_and_repeats_itself(pooled, tiny_lm, capsys):
    assert _generate(pooled, tiny_lm, "--from-pool", "--sample", "6", "--by", "bucket", "--seed", "7",
                     "--temperature", "1.0", "--top-p", "0.9") == 0
    items = _items(pooled)
    assert len(items) == 6 and {i.kind for i in items} == {ItemKind.PAIRWISE}
    with Project.open(pooled) as project:
        run = store_runs.runs(project)[-1]
        drawn = {p.id: p for p in pool.pool(project) if p.id in {i.meta["prompt_id"] for i in items}}
        assert pool.counts(project)["not_generated"] == 34
    assert run.kind == "generate" and run.report["items_added"] == 6 and run.report["duplicate_prompts"] == 0
    seeds = set()
    for item in items:
        prompt = drawn[item.meta["prompt_id"]]
        assert item.prompt == prompt.prompt and item.meta["bucket"] == prompt.bucket
        assert item.meta["scenario"] == prompt.scenario and item.meta["generated_by"] == run.id
        for c in item.candidates:
            m = c.meta
            assert m["model"] == os.path.realpath(tiny_lm) and len(m["model_hash"]) == 64
            assert (m["temperature"], m["top_p"], m["max_new_tokens"], m["run_seed"]) == (1.0, 0.9, 8, 7)
            assert m["backend"] == "transformers" and m["backend_version"] and m["device"] == "cpu"
            assert m["template"] == "none (plain prompt)" and m["finish"] in ("eos", "length")
            assert m["prompt_tokens"] > 3 and 1 <= m["answer_tokens"] <= 8 and m["time"].endswith("Z")
            assert c.source == "generated" and c.gen_params["seed"] == m["seed"]
            seeds.add(m["seed"])
    assert len(seeds) == 12  # every sample its own seed
    # the same model, parameters, seed, device and backend: the same texts
    assert _generate(pooled, tiny_lm, "--from-pool", "--reuse", "--sample", "6", "--by", "bucket", "--seed", "7",
                     "--temperature", "1.0", "--top-p", "0.9") == 0
    with Project.open(pooled) as project:
        again = store_runs.runs(project)[-1]
    assert again.report["items_added"] == 0 and again.report["already_items"] == 6  # the very same items
    assert _generate(pooled, tiny_lm, "--from-pool", "--reuse", "--sample", "6", "--by", "bucket", "--seed", "8") == 0
    assert len(_items(pooled)) == 12


def test_chat_prompts_go_through_the_models_template(project, tmp_path):
    model = make_tiny_lm(tmp_path / "chat-lm", chat_template=TEMPLATE)
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"prompt": [{"role": "user", "content": "hello there"}]}) + "\n"
                       + json.dumps({"prompt": "plain words"}) + "\n")
    path = project.path
    project.close()
    assert _generate(path, model, "--prompts", str(prompts), "--n", "3") == 0
    chat, plain = sorted(_items(path), key=lambda i: i.prompt)
    assert chat.kind == ItemKind.RANKING and len(chat.candidates) == 3  # n > 2: a ranking
    assert chat.prompt_messages == [{"role": "user", "content": "hello there"}]
    assert chat.candidates[0].meta["template"].startswith("chat_template:")
    # a plain prompt reaches a chat model the way it was trained: as one user turn of its template
    assert plain.candidates[0].meta["template"] == chat.candidates[0].meta["template"] + " (plain prompt as one user turn)"
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model)
    templated = tok.apply_chat_template(chat.prompt_messages, tokenize=False, add_generation_prompt=True)
    assert chat.candidates[0].meta["prompt_tokens"] == len(tok(templated, add_special_tokens=False)["input_ids"])
    wrapped = tok.apply_chat_template([{"role": "user", "content": "plain words"}], tokenize=False,
                                      add_generation_prompt=True)
    assert plain.candidates[0].meta["prompt_tokens"] == len(tok(wrapped, add_special_tokens=False)["input_ids"])
    raw = tmp_path / "raw.jsonl"
    raw.write_text(json.dumps({"prompt": "other plain words"}) + "\n")
    assert _generate(path, model, "--prompts", str(raw), "--raw-prompts") == 0  # asked for: sent as it is
    (sent_raw,) = [i for i in _items(path) if i.prompt == "other plain words"]
    assert sent_raw.candidates[0].meta["template"] == "none (plain prompt)"


def test_near_duplicates_are_sampled_again_and_a_prompt_that_keeps_them_makes_no_item(pooled, tiny_lm):
    assert same_answer("The  Answer is 4.", "the answer is 4.", 0.9)
    words = " ".join(f"w{i}" for i in range(40))
    assert same_answer(words, words + " w40", 0.9) and not same_answer(words, "something else entirely", 0.9)
    assert duplicates(["a b c", "x y z", "A  b c"], 0.9) == [2]
    # temperature 0 is greedy: every sample of a prompt is the same text, however often it is drawn again
    assert _generate(pooled, tiny_lm, "--from-pool", "--sample", "3", "--temperature", "0", "--max-resample", "2") == 0
    with Project.open(pooled) as project:
        run = store_runs.runs(project)[-1]
        assert project.item_count() == 0
    assert run.report["duplicate_prompts"] == 3 and run.report["resampled"] == 3 * 2
    assert run.report["items_added"] == 0


def test_one_random_pair_out_of_n_samples(pooled, tiny_lm):
    assert _generate(pooled, tiny_lm, "--from-pool", "--sample", "4", "--n", "4", "--pair", "random") == 0
    items = _items(pooled)
    assert len(items) == 4 and {i.kind for i in items} == {ItemKind.PAIRWISE}
    for item in items:
        a, b = item.meta["pair"]["chosen_from"]
        assert 0 <= a < b < 4 and item.meta["samples"] == 4
        assert [c.meta["seed"] for c in item.candidates] != [None, None]


def test_an_on_policy_pair_is_one_answer_of_the_policy_and_one_of_the_reference(pooled, tiny_lm, tmp_path, capsys):
    """`--pair reference`: the next round's pairs, one answer from the new policy and one from the reference, the
    same seeds for both, sides drawn at random and recorded; each answer says which model it came from."""
    policy = make_tiny_lm(tmp_path / "policy")
    import torch
    from transformers import AutoModelForCausalLM

    moved = AutoModelForCausalLM.from_pretrained(policy)
    torch.manual_seed(0)
    with torch.no_grad():
        for weights in moved.parameters():
            weights.add_(torch.randn_like(weights) * 0.5)
    moved.save_pretrained(policy)
    assert _generate(pooled, policy, "--from-pool", "--sample", "4", "--pair", "reference") == 2
    assert "--pair reference needs --reference DIR" in capsys.readouterr().err
    assert _generate(pooled, policy, "--from-pool", "--sample", "6", "--pair", "reference", "--reference", tiny_lm,
                     "--temperature", "1.0", "--seed", "4") == 0
    items = _items(pooled)
    with Project.open(pooled) as project:
        runs = {r.kind: r for r in store_runs.runs(project)}
    assert set(runs) == {"generate", "generate-reference"}
    assert runs["generate"].dataset_manifest["reference_run"] == runs["generate-reference"].id
    assert len(items) + runs["generate"].report["duplicate_prompts"] == 6 and items
    sides = []
    for item in items:
        side = item.meta["pair"]["policy_position"]
        assert item.kind == ItemKind.PAIRWISE and item.meta["pair"]["on_policy"]
        mine, theirs = item.candidates[side], item.candidates[1 - side]
        assert mine.meta["model"] == str(Path(policy).resolve()) and theirs.meta["model"] == str(Path(tiny_lm).resolve())
        assert mine.meta["seed"] == theirs.meta["seed"] and mine.text != theirs.text  # same seed, other model
        sides.append(side)
    assert len(set(sides)) == 2  # both sides drawn (from --seed and each prompt: the same draw every run)


def test_bad_spec_is_refused_before_anything_is_recorded(pooled, tmp_path, capsys):
    encoder = tmp_path / "enc"
    encoder.mkdir()
    (encoder / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    assert _generate(pooled, str(encoder), "--from-pool") == 2
    assert "not a causal language model" in capsys.readouterr().err
    assert _generate(pooled, str(encoder), "--from-pool", "--backend", "openai", "http://10.1.2.3:8080/v1") == 2
    assert "10.1.2.3 is not this machine; pass --allow-remote" in capsys.readouterr().err
    with Project.open(pooled) as project:
        assert store_runs.runs(project) == [] and project.item_count() == 0


def test_kill_9_leaves_the_project_intact_and_resume_skips_what_was_done(pooled, tiny_lm):
    from prefdesk.jobs import generate

    with Project.open(pooled) as project:
        run_id, spec = generate.prepare(project, tiny_lm, sample=12, batch_size=1, max_new_tokens=64, seed=3,
                                        cut_answers="keep")
    samples = spec.parent / "model" / "samples.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "training", "generate", str(spec)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, **ENV})
    deadline = time.monotonic() + 120
    while (not samples.exists() or samples.read_text().count("\n") < 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = [json.loads(line)["key"] for line in samples.read_text().splitlines() if line.strip()]
    assert 2 <= len(done_before) < 12
    with Project.open(pooled) as project:
        assert project.item_count() == 0  # the job never writes the project
        assert project.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        from prefdesk.jobs.watch import settle_running_runs

        settle_running_runs(project)
        assert store_runs.run(project, run_id).status.value == "failed"
    assert main(["generate", "-p", str(pooled), "--resume", run_id]) == 0
    with Project.open(pooled) as project:
        run = store_runs.run(project, run_id)
        started = [json.loads(e) for e in store_runs.events(project, run_id) if '"started"' in e]
    assert started[-1]["already_done"] == len(done_before)  # not done again
    assert run.report["items_added"] == 12 and run.report["generated_now"] == 12 - len(done_before)
    keys = [json.loads(line)["key"] for line in samples.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 12


class _FakeServer:
    """An OpenAI-compatible server on 127.0.0.1 answering from the request (its seed), as llama.cpp's does."""

    def __init__(self):
        import http.server
        import threading

        seen = self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                seen.append((self.path, body))
                text = f"answer with seed {body['seed']}"
                choice = {"text": text} if self.path.endswith("/completions") and "messages" not in body else \
                    {"message": {"role": "assistant", "content": text}}
                reply = json.dumps({"choices": [{**choice, "finish_reason": "stop"}],
                                    "usage": {"prompt_tokens": 7, "completion_tokens": 4}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"


def test_an_openai_compatible_server_on_this_machine(project, tmp_path):
    server = _FakeServer()
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"prompt": [{"role": "user", "content": "hi"}]}) + "\n" + json.dumps({"prompt": "plain"}) + "\n")
    path = project.path
    project.close()
    try:
        assert main(["generate", "-p", str(path), "--model", "local-model", "--prompts", str(prompts),
                     "--backend", "openai", server.url]) == 0
    finally:
        server.httpd.shutdown()
    paths = sorted({p for p, _ in server.requests})
    assert paths == ["/v1/chat/completions", "/v1/completions"] and len(server.requests) == 4
    items = _items(path)
    for item in items:
        for c in item.candidates:
            assert c.text == f"answer with seed {c.meta['seed'] % 2 ** 31}" and c.meta["backend"] == "openai"
            assert c.meta["server"] == server.url and (c.meta["prompt_tokens"], c.meta["finish"]) == (7, "eos")


SOCKET_AUDIT = r"""
import json, os, socket, sys
seen = []
def hook(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.bind"):
        seen.append([event, repr(args[1] if event != "socket.getaddrinfo" else args[0])])
sys.addaudithook(hook)
import atexit
atexit.register(lambda: open(os.environ["SOCKET_LOG"], "w").write(json.dumps(seen)))
sys.argv = ["training", "generate", sys.argv[1]]
from training.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_the_job_opens_no_socket(project, tiny_lm, tmp_path):
    """Every socket a Python process opens goes through an audit event: a generation job makes none (and the
    OpenAI backend only to the loopback address it is given: the test above)."""
    from prefdesk.jobs import generate

    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": f"q{i}"}) + "\n" for i in range(3)))
    _, spec = generate.prepare(project, tiny_lm, prompts_file=str(prompts), max_new_tokens=4, cut_answers="keep")
    log = tmp_path / "sockets.json"
    done = subprocess.run([sys.executable, "-c", SOCKET_AUDIT, str(spec)], capture_output=True, text=True,
                          env={**os.environ, **ENV, "SOCKET_LOG": str(log)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"finished"' in done.stdout and json.loads(log.read_text()) == []


def test_provenance_travels_in_the_labels_and_trl_exports(pooled, tiny_lm, tmp_path):
    assert _generate(pooled, tiny_lm, "--from-pool", "--sample", "2", "--seed", "4") == 0
    with Project.open(pooled) as project:
        ana = project.ensure_rater("ana")
        items = [project.item(i) for (i,) in project.conn.execute("SELECT id FROM items ORDER BY rowid")]
        for item in items:
            project.commit_label(item.id, ana, "pairwise", {"verdict": "B"})
    assert main(["export", "-p", str(pooled), "--format", "labels", "--out", str(tmp_path / "labels")]) == 0
    assert main(["export", "-p", str(pooled), "--format", "trl-preference", "--out", str(tmp_path / "trl")]) == 0
    by_id = {i.id: i for i in items}
    for line in (tmp_path / "labels" / "labels.jsonl").read_text().splitlines():
        row = json.loads(line)["item"]
        assert row["candidate_meta"] == [c.meta for c in by_id[row["id"]].candidates]
    by_prompt = {i.prompt: i for i in items}
    rows = [json.loads(line) for line in (tmp_path / "trl" / "preference.jsonl").read_text().splitlines()]
    assert len(rows) == 2
    for row in rows:
        item = by_prompt[row["prompt"]]
        assert row["chosen"] == item.candidates[1].text and row["chosen_meta"] == item.candidates[1].meta
        assert row["rejected_meta"] == item.candidates[0].meta and row["chosen_meta"]["seed"] != row["rejected_meta"]["seed"]
    from datasets import load_dataset

    loaded = load_dataset("json", data_files=str(tmp_path / "trl" / "preference.jsonl"), split="train")
    assert loaded[0]["chosen_meta"]["model_hash"] == rows[0]["chosen_meta"]["model_hash"]


def test_the_vllm_backend_is_refused_with_the_way_round_before_anything_is_recorded(pooled, tiny_lm, capsys):
    assert _generate(pooled, tiny_lm, "--from-pool", "--backend", "vllm") == 2
    assert "vLLM's OpenAI-compatible server" in capsys.readouterr().err
    with Project.open(pooled) as project:
        assert store_runs.runs(project) == []
    runs = pooled.with_name(pooled.stem + ".runs")
    assert not runs.exists() or not any(runs.iterdir())
