"""The OpenAI-compatible backend against hostile servers on 127.0.0.1 (issue 38): no redirect is followed, an answer
is read to a bounded size, a cancel ends the job within 5 s with the run cancelled, and every fault is reported as
what the server did, the run failed and no item written."""

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from prefdesk.cli import main
from prefdesk.store import runs as store_runs
from prefdesk.store.project import Project

pytest.importorskip("torch")
ENV = {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}

# what the job's process connected to, read by an audit hook (as test_generate's socket audit)
AUDITED_JOB = r"""
import json, os, sys
seen = []
sys.addaudithook(lambda e, a: seen.append(repr(a[1])) if e == "socket.connect" else None)
def peak_mb():  # VmHWM, this process's own peak (ru_maxrss keeps the forking parent's across exec)
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    return int(line.split()[1]) // 1024
import atexit
atexit.register(lambda: open(os.environ["SOCKET_LOG"], "w").write(json.dumps({"connected": seen, "peak_mb": peak_mb()})))
from training.cli import main
sys.exit(main(["generate", sys.argv[1]]))
"""


class HostileServer:
    """Answers every POST as `reply(handler, body)` says."""

    def __init__(self, reply):
        import http.server

        self.requests = []
        seen = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.close_connection = True  # one request a connection, as the backend makes them
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                seen.append(body)
                try:
                    reply(self, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up on it: what the tests want

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def send(handler, status: int, raw: bytes, headers=()) -> None:
    handler.send_response(status)
    for k, v in headers:
        handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.write(raw)


def completion(text) -> bytes:
    return json.dumps({"choices": [{"text": text, "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 3, "completion_tokens": 2}}).encode()


@pytest.fixture
def job(project, tmp_path):
    """A generation run on two plain prompts for a server: (run id, spec path, project path)."""
    from prefdesk.jobs import generate

    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": f"question {i}"}) + "\n" for i in range(2)))

    def make(url: str):
        run_id, spec = generate.prepare(project, "served-model", prompts_file=str(prompts), backend="openai", url=url,
                                        max_new_tokens=8, n=2)
        return run_id, spec
    yield make


def run_job(spec, tmp_path) -> tuple[subprocess.CompletedProcess, list[str], float, int]:
    """The job in its own process: what it printed, where it connected, its seconds and peak memory (MB)."""
    log = tmp_path / "sockets.json"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", AUDITED_JOB, str(spec)], capture_output=True, text=True,
                          env={**os.environ, **ENV, "SOCKET_LOG": str(log)}, timeout=120)
    seconds = time.monotonic() - started
    audit = json.loads(log.read_text())
    return done, audit["connected"], seconds, audit["peak_mb"]


def served(job, tmp_path, reply) -> tuple[subprocess.CompletedProcess, list[str], float, int]:
    """A generation run against a server answering as `reply` does, the server closed after (see `run_job`)."""
    server = HostileServer(reply)
    try:
        _, spec = job(server.url)
        return run_job(spec, tmp_path)
    finally:
        server.close()


def failure(done) -> str:
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert events[-1]["event"] == "failed" and done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr and not events[-1]["error"].startswith("ServerError")
    return events[-1]["error"]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_address_is_never_followed(job, tmp_path, status):
    done, connected, _, _ = served(
        job, tmp_path, lambda h, body: send(h, status, b"", [("Location", "http://192.0.2.1/v1/completions")]))
    error = failure(done)
    assert f"answered {status}" in error and "192.0.2.1" in error and "redirects are not followed" in error
    assert connected and all("127.0.0.1" in c for c in connected), connected  # never 192.0.2.1


def test_an_endless_answer_is_cut_at_the_limit_with_bounded_memory(job, tmp_path):
    def endless(handler, body):  # 400 MB of one string, chunked, to max_tokens 8
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        opening = b'{"choices": [{"text": "'
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(opening), opening))
        block = b"x" * 65536
        for _ in range(400 * 16):
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
    done, _, seconds, peak_mb = served(job, tmp_path, endless)
    error = failure(done)
    assert "sent more than 16777216 bytes (max_response_bytes)" in error and "b'" in error  # its first bytes
    print(f"\n[endless answer] failed after {seconds:.1f} s, job peak {peak_mb} MB")
    assert seconds < 30 and peak_mb < 1500, (seconds, peak_mb)


@pytest.mark.parametrize("raw, said", [
    (b"<html>busy</html>", "the answer is not JSON (17 bytes: b'<html>busy</html>')"),
    (b'{"choices": []}', "no choices[0] object"),
    (b'{"choices": [{"text": {"nested": 1}}]}', "choices[0].text is dict, not text"),
    (b'{"choices": [{"text": "bad \\ud800 half"}]}', "choices[0].text is not valid Unicode (a lone surrogate at"),
    (b'[1, 2]', "JSON but not an object"),
    (b'{"choices": [{"text": "ok"}], "usage": {"prompt_tokens": "many"}}', "usage holds counts that are not whole"),
])
def test_a_garbled_answer_fails_the_run_naming_what_the_server_sent(job, tmp_path, project, raw, said):
    done, _, _, _ = served(job, tmp_path, lambda h, body: send(h, 200, raw))
    assert said in failure(done)


def test_a_server_error_fails_the_run_with_its_status_and_no_item_is_written(project, tmp_path):
    server = HostileServer(lambda h, body: send(h, 500, b'{"error": "model crashed"}'))
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"prompt": "question"}) + "\n")
    path = project.path
    project.close()
    try:
        code = main(["generate", "-p", str(path), "--model", "m", "--prompts", str(prompts), "--backend", "openai",
                     server.url])
    finally:
        server.close()
    assert code != 0
    with Project.open(path) as p:
        (run,) = store_runs.runs(p)
        assert run.status.value == "failed" and p.item_count() == 0
        (failed,) = [json.loads(e) for e in store_runs.events(p, run.id) if '"failed"' in e]
        # asked again with backoff (a 500 can be a worker restarting), then said with how often it was asked
        assert "answered 500 Internal Server Error (4 tries): b'{\"error\": \"model crashed\"}'" in failed["error"]
        assert failed["hint"].startswith("the server did not answer as an OpenAI-compatible one")


def test_a_busy_server_is_asked_again_and_its_answer_kept(job, tmp_path):
    calls = []

    def busy_twice(handler, body):
        calls.append(1)
        if len(calls) <= 2:
            send(handler, 429, b"slow down", [("Retry-After", "0")])
        else:
            send(handler, 200, completion(f"seed {body['seed']}"))
    done, _, _, _ = served(job, tmp_path, busy_twice)
    assert done.returncode == 0 and '"finished"' in done.stdout, done.stdout[-2000:]
    assert len(calls) == 4 + 2  # four answers, two of them asked again


def test_cancel_ends_a_job_waiting_on_a_slow_server_within_5_s_and_the_run_is_cancelled(project, tmp_path):
    answered = threading.Event()

    def slow(handler, body):
        answered.wait(60)  # answers only after the test is over
    server = HostileServer(slow)
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"prompt": "question"}) + "\n")
    path = project.path
    project.close()
    runs_dir = path.with_name(path.stem + ".runs")  # the runs folder beside the project
    stopped = {}

    def cancel_once_asked():  # as the desk's Cancel does: the STOP file in the run's output folder
        deadline = time.monotonic() + 60
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        (stop,) = [d / "model" / "STOP" for d in runs_dir.iterdir()]
        stop.write_text("")
        stopped["at"] = time.monotonic()
    canceller = threading.Thread(target=cancel_once_asked)
    canceller.start()
    try:
        code = main(["generate", "-p", str(path), "--model", "m", "--prompts", str(prompts), "--backend", "openai",
                     server.url])
        ended = time.monotonic()
    finally:
        answered.set()
        canceller.join()
        server.close()
    assert ended - stopped["at"] < 5, ended - stopped["at"]
    with Project.open(path) as p:
        (run,) = store_runs.runs(p)
        assert run.status.value == "cancelled" and p.item_count() == 0, (code, run.status)


def test_cancel_ends_a_batch_of_the_local_model_at_the_next_token(tiny_lm):
    """The transformers backend asks for a cancel once a token, so a long batch on a CPU ends at once too."""
    from training.sampling import Cancelled, TransformersBackend

    asked = []
    backend = TransformersBackend(tiny_lm, None, "cpu", stop=lambda: asked.append(1) or len(asked) > 3)
    with pytest.raises(Cancelled):
        backend.sample([("a prompt", True, 1), ("another", True, 2)], 1.0, 1.0, 500)
    assert 4 <= len(asked) <= 6  # a few tokens, not 500
