"""Generation and judging on a cluster's server (issue 36): `--backend openai URL` against a local stand-in for
vLLM's OpenAI-compatible server that batches, lists its model, says its version, wants a bearer token, fails with
429/500, drops connections, stalls past the timeout and cuts its JSON short. Retried with backoff where a server
can recover, a clear failure where it cannot, nothing half-written, the token read from the environment and
stored nowhere, and the same provenance fields as the local backend."""

import json
import threading
import time

import pytest

from prefdesk.cli import main
from prefdesk.store import runs as store_runs
from prefdesk.store.project import Project

pytest.importorskip("torch")
TOKEN = "tok-3f9a1c-never-stored"


class FakeVLLM:
    """`vllm serve m` as a client sees it: /v1/models, /version, /v1/completions and /v1/chat/completions.
    `fail(n, body)` -> None to answer, or (status, raw) to send instead; `delay` seconds before each answer."""

    def __init__(self, fail=lambda n, body: None, delay: float = 0.0, token: str | None = None, reply=None):
        import http.server

        self.requests, self.in_flight, self.most_in_flight = [], 0, 0
        lock, server = threading.Lock(), self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, raw: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):  # noqa: N802 (http.server's name)
                self.close_connection = True
                if self.path == "/v1/models":
                    self._send(200, json.dumps({"object": "list", "data": [
                        {"id": "m", "object": "model", "owned_by": "vllm", "root": "/models/m-7b",
                         "max_model_len": 4096}]}).encode())
                elif self.path == "/version":
                    self._send(200, b'{"version": "0.33.0"}')
                else:
                    self._send(404, b'{"error": "not found"}')

            def do_POST(self):  # noqa: N802
                self.close_connection = True
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if token and self.headers.get("Authorization") != f"Bearer {token}":
                    self._send(401, b'{"error": "invalid api key"}')
                    return
                with lock:
                    server.requests.append(body)
                    n = len(server.requests)
                    server.in_flight += 1
                    server.most_in_flight = max(server.most_in_flight, server.in_flight)
                try:
                    time.sleep(delay)
                    failed = fail(n, body)
                    if failed is not None:
                        self._send(*failed)
                        return
                    text = reply(body) if reply else f"answer with seed {body['seed']}"
                    choice = {"message": {"role": "assistant", "content": text}} if "messages" in body else {"text": text}
                    self._send(200, json.dumps({"choices": [{**choice, "finish_reason": "stop"}],
                                                "usage": {"prompt_tokens": 7, "completion_tokens": 4}}).encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with lock:
                        server.in_flight -= 1

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def prompts(tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps({"prompt": [{"role": "user", "content": f"question {i}"}]}) + "\n"
                            for i in range(4)))
    return path


def generate(project, prompts, server_url, *extra) -> int:
    path = project.path
    project.close()
    return main(["generate", "-p", str(path), "--model", "m", "--prompts", str(prompts), "--max-new-tokens", "8",
                 "--backend", "openai", server_url, *extra])


def outcome(path) -> tuple[str, dict, int]:
    with Project.open(path) as p:
        (run,) = [r for r in store_runs.runs(p) if r.kind == "generate"]
        return run.status.value, run.report or {}, p.item_count()


def test_a_batching_server_with_a_token_gives_answers_with_the_local_backends_provenance(project, prompts, tmp_path,
                                                                                         monkeypatch, tiny_lm):
    server = FakeVLLM(delay=0.3, token=TOKEN)
    monkeypatch.setenv("CLUSTER_TOKEN", TOKEN)
    path = project.path
    try:
        assert generate(project, prompts, server.url, "--token-env", "CLUSTER_TOKEN", "--seed", "3") == 0
    finally:
        server.close()
    assert len(server.requests) == 8 and server.most_in_flight >= 2  # requests in flight together: vLLM batches them
    status, _, items = outcome(path)
    assert status == "finished" and items == 4
    with Project.open(path) as p:
        served = [c.meta for i in p.conn.execute("SELECT id FROM items") for c in p.item(i[0]).candidates]
        # the token is nowhere in the project: not in a table, not in the run's spec; only the variable's name
        for table, in p.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            for row in p.conn.execute(f'SELECT * FROM "{table}"'):
                assert not any(TOKEN in str(v) for v in row), table
        (run,) = store_runs.runs(p)
        assert run.spec["token_env"] == "CLUSTER_TOKEN"
    runs_dir = path.with_name(path.stem + ".runs")
    assert not [f for f in runs_dir.rglob("*") if f.is_file() and TOKEN.encode() in f.read_bytes()]
    meta = served[0]
    assert (meta["backend"], meta["model"], meta["backend_version"], meta["server"]) == ("openai", "m", "vllm 0.33.0",
                                                                                           server.url)
    assert meta["model_root"] == "/models/m-7b" and len(meta["model_hash"]) == 16

    local = tmp_path / "local"
    local.mkdir()
    with Project.create(local / "p.prefdesk") as lp:
        lpath = lp.path
    assert main(["generate", "-p", str(lpath), "--model", tiny_lm, "--prompts", str(prompts), "--max-new-tokens", "8",
                 "--keep-cut-answers", "--seed", "3"]) == 0
    with Project.open(lpath) as lp:
        (first,) = [r for (r,) in lp.conn.execute("SELECT id FROM items LIMIT 1")]
        local_meta = lp.item(first).candidates[0].meta
    missing = set(local_meta) - set(meta) - {"pad_token"}  # (a local tokenizer without a pad token says so)
    assert not missing, missing  # every field a local answer records, a served one records too
    for key in ("temperature", "top_p", "max_new_tokens", "run_seed"):
        assert meta[key] == local_meta[key]


def test_a_token_variable_that_is_not_set_is_refused_before_anything_is_recorded(project, prompts, capsys):
    path = project.path
    assert generate(project, prompts, "http://127.0.0.1:9/v1", "--token-env", "NO_SUCH_TOKEN_VAR") == 2
    assert "token_env: the environment variable NO_SUCH_TOKEN_VAR is not set" in capsys.readouterr().err
    with Project.open(path) as p:
        assert store_runs.runs(p) == [] and p.item_count() == 0


def test_a_wrong_token_fails_the_run_with_the_servers_401_and_writes_nothing(project, prompts, monkeypatch):
    server = FakeVLLM(token=TOKEN)
    monkeypatch.setenv("CLUSTER_TOKEN", "wrong")
    path = project.path
    try:
        assert generate(project, prompts, server.url, "--token-env", "CLUSTER_TOKEN") == 1
    finally:
        server.close()
    status, report, items = outcome(path)
    assert status == "failed" and "answered 401 Unauthorized" in report["error"] and items == 0


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_server_that_fails_and_recovers_is_asked_again_with_backoff_and_its_answers_kept(project, prompts, status):
    server = FakeVLLM(fail=lambda n, body: (status, b'{"error": "busy"}') if n <= 3 else None)
    path = project.path
    started = time.monotonic()
    try:
        assert generate(project, prompts, server.url) == 0
    finally:
        server.close()
    assert outcome(path)[::2] == ("finished", 4) and len(server.requests) == 8 + 3
    assert time.monotonic() - started > 0.25  # it waited before asking again (0.5 s, jittered down to half)


@pytest.mark.parametrize("raw, said", [
    (b'{"choices": [{"message": {"role": "assistant", "content": "cut', "the answer is not JSON"),
    (b'{"choices": []}', "the answer has no choices[0] object"),
])
def test_a_truncated_or_empty_answer_fails_the_run_saying_what_came_and_writes_nothing(project, prompts, raw, said):
    server = FakeVLLM(fail=lambda n, body: (200, raw))
    path = project.path
    try:
        assert generate(project, prompts, server.url) == 1
    finally:
        server.close()
    status, report, items = outcome(path)
    assert status == "failed" and said in report["error"] and items == 0


def test_a_server_that_stalls_past_the_timeout_fails_the_run_in_time_and_writes_nothing(project, prompts):
    server = FakeVLLM(delay=5.0)
    path = project.path
    started = time.monotonic()
    try:
        assert generate(project, prompts, server.url, "--timeout", "1") == 1
    finally:
        server.close()
    assert time.monotonic() - started < 20
    status, report, items = outcome(path)
    assert status == "failed" and "no whole answer within 1 s" in report["error"] and items == 0


def test_a_server_that_is_not_there_is_tried_again_then_said_clearly(project, prompts):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = project.path
    assert generate(project, prompts, f"http://127.0.0.1:{port}/v1") == 1
    status, report, items = outcome(path)
    assert status == "failed" and "ConnectionRefusedError" in report["error"] and "(4 tries)" in report["error"]
    assert items == 0


def test_a_model_the_server_does_not_serve_is_named_with_those_it_does(project, prompts):
    server = FakeVLLM()
    path = project.path
    project.close()
    try:
        assert main(["generate", "-p", str(path), "--model", "gpt-9", "--prompts", str(prompts), "--backend", "openai",
                     server.url]) == 1
    finally:
        server.close()
    status, report, items = outcome(path)
    assert status == "failed" and "serves m, not 'gpt-9'" in report["error"] and items == 0 and not server.requests


def test_the_llm_judge_runs_on_the_server_and_its_labels_name_it(project, fixtures, tmp_path, monkeypatch):
    from prefdesk.formats.importer import import_file

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join((fixtures / "rule_pairs.jsonl").read_text().splitlines(keepends=True)[:6]))
    import_file(project, pairs)
    server = FakeVLLM(token=TOKEN, reply=lambda body: "Both are fine.\nVerdict: tie")
    monkeypatch.setenv("JUDGE_TOKEN", TOKEN)
    path = project.path
    project.close()
    try:
        assert main(["judge", "-p", str(path), "--model", "m", "--backend", "openai", server.url,
                     "--token-env", "JUDGE_TOKEN"]) == 0
    finally:
        server.close()
    assert len(server.requests) == 12 and all("messages" in r for r in server.requests)  # 6 pairs, both orders
    with Project.open(path) as p:
        rows = p.conn.execute("SELECT r.name, l.payload FROM labels l JOIN raters r ON r.id = l.rater_id "
                              "WHERE r.name LIKE 'judge:%'").fetchall()
        (run,) = [r for r in store_runs.runs(p) if r.kind == "judge"]
        started = next(json.loads(e) for e in store_runs.events(p, run.id) if '"started"' in e)
    assert len(rows) == 6 and {name for name, _ in rows} == {"judge:server:m:default@v1"}
    assert {json.loads(payload)["verdict"] for _, payload in rows} == {"tie"}
    assert (started["backend"], started["server"], started["backend_version"]) == ("openai", server.url, "vllm 0.33.0")
