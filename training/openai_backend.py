"""Sampling from an OpenAI-compatible server (llama.cpp's server, Ollama, vLLM's server), by URL, with the
stdlib's HTTP client: one request an answer, with its own seed (servers that honour `seed` then give the same
text again). Chat prompts go to /chat/completions (the server applies the model's template), plain ones to
/completions. The address was checked before the job started (`gen_spec.url_problems`).

A server is not trusted: no redirect is followed (http.client follows none: a 3xx is a failure, whatever its
target), an answer is read to `max_response_bytes` and refused past it, a request has `timeout_s` in all, and a
cancel (the STOP file) shuts every open connection within `POLL_S`. Every fault of the server is reported as what
the server did: the status, the field, the first bytes of what it sent.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from urllib.parse import urlparse

from training.sampling import Cancelled, Sampled

TIMEOUT_S = 600  # a whole request, answer included
POLL_S = 0.2  # how often a waiting job looks for a cancel and for requests past their time
PARALLEL = 4  # requests in flight: a local server batches them
MAX_RESPONSE_BYTES = 16 * 2 ** 20
RETRY_STATUSES = (429, 500, 502, 503, 504)  # a busy, failing or restarting server: asked again, RETRIES times at most
RETRIES = 3  # with backoff: 0.5, 1, 2 s (jittered; a Retry-After the server sends instead, to 5 s)


class _Unreachable(Exception):
    """The connection was refused or dropped before an answer (a server restarting): tried again."""


class ServerError(RuntimeError):
    """What the server did wrong, in words a user can take to its operator."""


def _first(raw: bytes, n: int = 120) -> str:
    return repr(raw[:n]) + (" …" if len(raw) > n else "")


class OpenAIBackend:
    name = "openai"

    template = True  # prompts go as chat messages; the server applies the model's template

    def __init__(self, url: str, model: str, max_response_bytes: int = MAX_RESPONSE_BYTES,
                 timeout_s: float = TIMEOUT_S, stop=lambda: False, token_env: str | None = None) -> None:
        import os

        self.url = url.rstrip("/")
        self.model = model
        self.version = "openai-compatible"
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token_env:  # read here, in the job's process; the spec names only the variable
            self._headers["Authorization"] = f"Bearer {os.environ.get(token_env, '')}"
        self._described: dict | None = None
        self.max_bytes, self.timeout_s, self.stop = max_response_bytes, timeout_s, stop
        self._open: dict[http.client.HTTPConnection, float] = {}  # connection -> its deadline
        self._lock = threading.Lock()
        self._closing = False  # set when a batch is cancelled or failed: its other requests end at once

    def identity(self) -> dict:
        """The fields the local backend records, in a server's terms: the model the server names, a hash of its
        /models entry (its weights' path, its context), the server's version (vLLM's /version) and the server."""
        if self._described is None:
            self._described = self._describe()
        return {"model": self.model, **self._described, "backend": self.name, "server": self.url}

    def _describe(self) -> dict:
        """Asked once: /models (the model must be one the server serves, when it lists them) and /version."""
        import hashlib

        out = {"model_hash": None, "backend_version": self.version, "dtype": "the server's"}
        status, _, raw, _ = self._request("GET", "/models")
        if status == 200:
            try:
                listed = [m for m in json.loads(raw).get("data", []) if isinstance(m, dict)]
            except (ValueError, AttributeError, UnicodeDecodeError):
                raise ServerError(f"{self.url}/models: the answer is not a JSON model list: {_first(raw)}") from None
            entry = next((m for m in listed if m.get("id") == self.model), None)
            if listed and entry is None:
                raise ServerError(f"{self.url}/models: the server serves {', '.join(str(m.get('id')) for m in listed)}"
                                  f", not {self.model!r}: give --model one of them")
            if entry is not None:
                out["model_hash"] = hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()[:16]
                out["model_root"] = entry.get("root")
                out["max_model_len"] = entry.get("max_model_len")
        root = self.url[:-3] if self.url.endswith("/v1") else self.url
        status, _, raw, _ = self._request("GET", "/version", root)
        if status == 200:
            try:
                version = json.loads(raw).get("version")
            except (ValueError, AttributeError, UnicodeDecodeError):
                version = None
            if isinstance(version, str):
                out["backend_version"] = f"vllm {version}" if version[:1].isdigit() else version
        return out

    def _request(self, method: str, path: str, base: str | None = None) -> tuple[int, str, bytes, float | None]:
        """A GET that may fail without failing the job (a server that lists no models, has no /version)."""
        try:
            return self._exchange(path, None, method, base)
        except (ServerError, _Unreachable):
            return 0, "", b"", None

    def render(self, prompt):
        if isinstance(prompt, str):
            return prompt, True, "none (plain prompt)"
        return prompt, False, "the server's chat template"

    # -- one request -------------------------------------------------------------------------------------------
    def _post(self, path: str, body: dict) -> dict:
        tries = ""
        for attempt in range(RETRIES + 1):
            try:
                status, reason, raw, retry_after = self._exchange(path, json.dumps(body).encode())
            except _Unreachable as exc:
                if attempt < RETRIES:
                    self._sleep(jittered(0.5 * 2 ** attempt))
                    continue
                raise ServerError(f"{exc} ({RETRIES + 1} tries)") from None
            if status in RETRY_STATUSES and attempt < RETRIES:
                self._sleep(min(retry_after if retry_after is not None else jittered(0.5 * 2 ** attempt), 5.0))
                continue
            tries = f" ({attempt + 1} tries)" if attempt else ""
            break
        where = f"{self.url}{path}"
        if 300 <= status < 400:
            raise ServerError(f"{where}: the server answered {status} {reason} (to {raw.decode('latin-1')!r}); "
                              "redirects are not followed: give the address it serves at")
        if status != 200:
            raise ServerError(f"{where}: the server answered {status} {reason}{tries}: {_first(raw)}")
        try:
            reply = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ServerError(f"{where}: the answer is not JSON ({len(raw)} bytes: {_first(raw)})") from None
        if not isinstance(reply, dict):
            raise ServerError(f"{where}: the answer is JSON but not an object: {_first(raw)}")
        return reply

    def _exchange(self, path: str, data: bytes | None, method: str = "POST",
                  base: str | None = None) -> tuple[int, str, bytes, float | None]:
        """(status, reason, body, Retry-After seconds) of one request; the body read to `max_bytes`, the whole within
        `timeout_s`; a 3xx body is replaced by its Location."""
        parsed = urlparse(base or self.url)
        kind = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
        conn = kind(parsed.hostname, parsed.port, timeout=self.timeout_s)
        with self._lock:
            if self._closing:
                raise Cancelled()
            self._open[conn] = time.monotonic() + self.timeout_s
        try:
            conn.request(method, parsed.path.rstrip("/") + path, body=data, headers=self._headers)
            response = conn.getresponse()
            if 300 <= response.status < 400:
                return response.status, response.reason, (response.getheader("Location") or "").encode(), None
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise ServerError(f"{self.url}{path}: the server announced an answer of {int(declared)} bytes, over "
                                  f"the limit of {self.max_bytes} (max_response_bytes); refused unread")
            raw = bytearray()
            while chunk := response.read(min(65536, self.max_bytes + 1 - len(raw))):
                raw += chunk
                if len(raw) > self.max_bytes:
                    raise ServerError(f"{self.url}{path}: the server sent more than {self.max_bytes} bytes "
                                      f"(max_response_bytes) and was cut off; it began {_first(bytes(raw))}")
            after = response.getheader("Retry-After")
            return response.status, response.reason, bytes(raw), float(after) if after and after.isdigit() else None
        except (OSError, http.client.HTTPException) as exc:
            if self._closing:
                raise Cancelled() from None
            late = isinstance(exc, (socket.timeout, TimeoutError)) or self._open.get(conn, 0) < time.monotonic()
            if late:
                raise ServerError(f"{self.url}{path}: no whole answer within {self.timeout_s:g} s") from None
            if isinstance(exc, (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected)):
                raise _Unreachable(f"{self.url}{path}: {type(exc).__name__}: {exc}") from None
            raise ServerError(f"{self.url}{path}: {type(exc).__name__}: {exc}") from None
        finally:
            with self._lock:
                self._open.pop(conn, None)
            conn.close()

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self._closing or self.stop():
                raise Cancelled()
            time.sleep(min(POLL_S, max(0.0, end - time.monotonic())))

    def _one(self, row, temperature: float, top_p: float, max_new_tokens: int) -> Sampled:
        prompt, _, seed = row
        body = {"model": self.model, "temperature": temperature, "top_p": top_p, "max_tokens": max_new_tokens,
                "seed": seed % (2 ** 31), "n": 1}
        chat = not isinstance(prompt, str)
        path = "/chat/completions" if chat else "/completions"
        reply = self._post(path, {**body, "messages": prompt} if chat else {**body, "prompt": prompt})
        where = f"{self.url}{path}"
        choices = reply.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ServerError(f"{where}: the answer has no choices[0] object (choices: {_first(repr(choices).encode())})")
        field = "choices[0].message.content" if chat else "choices[0].text"
        text = (choices[0].get("message") or {}).get("content") if chat else choices[0].get("text")
        if chat and not isinstance(choices[0].get("message"), dict):
            raise ServerError(f"{where}: choices[0].message is missing or not an object")
        if not isinstance(text, str):
            raise ServerError(f"{where}: {field} is {type(text).__name__}, not text: {_first(repr(text).encode())}")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ServerError(f"{where}: {field} is not valid Unicode (a lone surrogate at character {exc.start})") from None
        usage = reply.get("usage") if isinstance(reply.get("usage"), dict) else {}
        counts = [usage.get(k, 0) for k in ("prompt_tokens", "completion_tokens")]
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            raise ServerError(f"{where}: usage holds counts that are not whole numbers: {_first(repr(usage).encode())}")
        finish = "length" if choices[0].get("finish_reason") == "length" else "eos"
        return Sampled(text, counts[0], counts[1], finish)

    # -- a batch ----------------------------------------------------------------------------------------------------
    def sample(self, rows, temperature: float, top_p: float, max_new_tokens: int) -> list[Sampled]:
        """One answer a row, PARALLEL requests at a time; `Cancelled` within POLL_S of a cancel, every connection
        shut; the first server fault fails the batch (the others are shut too)."""
        self._closing = False  # the previous batch's requests have all ended (its pool was shut down)
        pool = ThreadPoolExecutor(PARALLEL)
        futures = [pool.submit(self._one, r, temperature, top_p, max_new_tokens) for r in rows]
        try:
            while True:
                done, waiting = wait(futures, timeout=POLL_S, return_when=FIRST_EXCEPTION)
                if any(f.exception() for f in done) or not waiting:
                    break
                if self.stop():
                    self._shut(everything=True)
                    raise Cancelled()
                self._shut(everything=False)
            for f in futures:
                if f.done() and f.exception() is not None:
                    raise f.exception()
            return [f.result() for f in futures]
        finally:
            if any(not f.done() for f in futures):
                self._shut(everything=True)
            pool.shutdown(wait=True, cancel_futures=True)

    def _shut(self, everything: bool) -> None:
        """Shut the open connections past their deadline (or all of them): the thread reading one wakes at once."""
        now = time.monotonic()
        with self._lock:
            if everything:
                self._closing = True
            late = [c for c, deadline in self._open.items() if everything or deadline < now]
        for conn in late:
            if conn.sock is not None:
                try:
                    conn.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def jittered(seconds: float) -> float:
    """A retry's wait, spread so that many clients do not come back at once."""
    return seconds * (0.5 + random.random())
