"""Sampling from an OpenAI-compatible server on this machine (llama.cpp's server, Ollama, vLLM's server), by URL,
with the stdlib's HTTP client: one request an answer, with its own seed (servers that honour `seed` then give
the same text again). Chat prompts go to /chat/completions (the server applies the model's template), plain
ones to /completions. The address was checked before the job started (`gen_spec.url_problems`)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from training.sampling import Sampled

TIMEOUT_S = 600
PARALLEL = 4  # requests in flight: a local server batches them


class OpenAIBackend:
    name = "openai"

    def __init__(self, url: str, model: str) -> None:
        self.url = url.rstrip("/")
        self.model = model
        self.version = "openai-compatible"

    def identity(self) -> dict:
        return {"model": self.model, "server": self.url, "backend": self.name, "backend_version": self.version}

    def render(self, prompt):
        if isinstance(prompt, str):
            return prompt, True, "none (plain prompt)"
        return prompt, False, "the server's chat template"

    def _post(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                return json.loads(response.read())
        except urllib.error.URLError as exc:
            raise RuntimeError(f"url: {self.url}{path}: {exc.reason if hasattr(exc, 'reason') else exc}") from None

    def _one(self, row, temperature: float, top_p: float, max_new_tokens: int) -> Sampled:
        prompt, _, seed = row
        body = {"model": self.model, "temperature": temperature, "top_p": top_p, "max_tokens": max_new_tokens,
                "seed": seed % (2 ** 31), "n": 1}
        if isinstance(prompt, str):
            reply = self._post("/completions", {**body, "prompt": prompt})
            text = reply["choices"][0]["text"]
        else:
            reply = self._post("/chat/completions", {**body, "messages": prompt})
            text = reply["choices"][0]["message"]["content"]
        usage = reply.get("usage") or {}
        finish = "length" if reply["choices"][0].get("finish_reason") == "length" else "eos"
        return Sampled(text, int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)), finish)

    def sample(self, rows, temperature: float, top_p: float, max_new_tokens: int) -> list[Sampled]:
        with ThreadPoolExecutor(PARALLEL) as pool:
            return list(pool.map(lambda r: self._one(r, temperature, top_p, max_new_tokens), rows))
