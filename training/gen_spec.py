"""The generation job's spec (`python -m training generate SPEC`), shared by the desk and the job like
`training.protocol`, and like it stdlib only: the desk writes and checks it without torch.

The job reads `prompts` (JSON lines: `key`, `prompt` as text or chat turns), samples `n` answers a prompt from
`model` and appends one line a prompt to `output_dir/samples.jsonl`; it speaks the training event protocol and
honours the same lock and STOP file."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

BACKENDS = ("transformers", "vllm", "openai")
PAIRINGS = ("random", "spread", "closest")


@dataclass
class GenerateSpec:
    model: str  # a local causal LM folder (or, for `openai`, the model name the server knows)
    prompts: str  # JSON lines: {key, prompt, ...}
    output_dir: str
    adapter: str | None = None  # a PEFT adapter folder, applied on the model
    n: int = 2
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 256
    seed: int = 0
    device: str = "auto"
    backend: str = "transformers"
    url: str | None = None  # the OpenAI-compatible server, for `openai`
    allow_remote: bool = False  # a server on another machine (otherwise loopback only)
    max_response_bytes: int = 16 * 2 ** 20  # a server's answer is read to this size and refused past it
    token_env: str | None = None  # the environment variable holding the server's bearer token (never the token)
    timeout_s: float = 600.0  # a server request, answer included
    raw_prompts: bool = False  # a plain prompt goes to a chat model as it is (default: wrapped as one user turn)
    cut_answers: str = "resample"  # an answer cut at max_new_tokens: resample (then hold the prompt back) | keep
    batch_size: int = 16  # prompts a batch (each with its n samples)
    max_resample: int = 2  # rounds of re-sampling a prompt's duplicate answers before it is given up
    near_duplicate: float = 0.9  # word 3-shingle Jaccard at or above this: the same answer
    pair: str | None = None  # one pair out of the n samples: random | spread | closest
    reward_model: str | None = None  # the reward run's model folder that `spread` and `closest` score with
    kind: str = "generate"

    @classmethod
    def from_dict(cls, data: Any) -> tuple[GenerateSpec | None, list[str]]:
        if not isinstance(data, dict):
            return None, ["the spec must be a JSON object"]
        known = {f.name for f in fields(cls)}
        problems = [f"{k}: unknown field (known: {', '.join(sorted(known))})" for k in data if k not in known]
        problems += [f"{k}: required text" for k in ("model", "prompts", "output_dir")
                     if not isinstance(data.get(k), str) or not data.get(k)]
        if problems:
            return None, problems
        spec = cls(**data)
        return spec, spec.problems()

    def problems(self) -> list[str]:
        out = []
        for name, lo, hi in (("n", 1, 64), ("max_new_tokens", 1, 1 << 16), ("batch_size", 1, 4096),
                             ("max_resample", 0, 100), ("max_response_bytes", 1024, 1 << 32)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                out.append(f"{name}: expected a whole number from {lo} to {hi}, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2 ** 63:
            out.append(f"seed: expected a whole number from 0 to 2^63-1, got {self.seed!r}")
        for name, lo, hi in (("temperature", 0.0, 10.0), ("top_p", 1e-6, 1.0), ("near_duplicate", 0.0, 1.0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not lo <= value <= hi:
                out.append(f"{name}: expected a number from {lo} to {hi}, got {value!r}")
        if self.backend not in BACKENDS:
            out.append(f"backend: {self.backend!r} is not one of {', '.join(BACKENDS)}")
        elif self.backend == "vllm":  # (kept in the list so a spec naming it gets this answer, not "unknown")
            out.append("backend: vllm in-process is not built yet; run vLLM's OpenAI-compatible server and use "
                       "--backend openai URL")
        if self.device not in ("auto", "cuda", "mps", "cpu"):
            out.append(f"device: {self.device!r} is not one of auto, cuda, mps, cpu")
        if self.cut_answers not in ("resample", "keep"):
            out.append(f"cut_answers: {self.cut_answers!r} is not one of resample, keep")
        if self.pair is not None and self.pair not in PAIRINGS:
            out.append(f"pair: {self.pair!r} is not one of {', '.join(PAIRINGS)}")
        if self.pair is not None and self.n < 3:
            out.append(f"pair: one pair out of n samples needs n >= 3 (n is {self.n}; n = 2 is a pair already)")
        if self.pair in ("spread", "closest") and not self.reward_model:
            out.append(f"pair: {self.pair} ranks the samples by a reward model: give the reward run")
        if self.reward_model and not (Path(self.reward_model) / "config.json").is_file():
            out.append(f"reward_model: {self.reward_model} holds no config.json (a finished reward run's model folder)")
        if not Path(self.prompts).is_file():
            out.append(f"prompts: {self.prompts} is not a file")
        if self.backend == "openai":
            out += url_problems(self.url, self.allow_remote) + server_problems(self.token_env, self.timeout_s)
        else:
            out += model_folder_problems(self.model)
            if self.adapter and not (Path(self.adapter) / "adapter_config.json").is_file():
                out.append(f"adapter: {self.adapter} holds no adapter_config.json (a PEFT adapter folder)")
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def model_folder_problems(folder: str) -> list[str]:
    """What stops `folder` from being sampled: not a folder, no config, not a causal LM, no tokenizer, only pickle
    weights. Read from the files alone (the desk checks a folder before start without importing torch)."""
    path = Path(folder)
    if not path.is_dir():
        return [f"model: {folder} is not a local folder"]
    try:
        config = json.loads((path / "config.json").read_text())
    except FileNotFoundError:
        return [f"model: {folder} holds no config.json (not a saved transformers model)"]
    except (OSError, ValueError) as exc:
        return [f"model: {path / 'config.json'} cannot be read ({exc})"]
    out = []
    architectures = config.get("architectures") or []
    if not any(a.endswith(("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")) for a in architectures):
        out.append(f"model: {folder} is a {', '.join(architectures) or 'model of unknown architecture'}, "
                   "not a causal language model")
    if not any((path / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")):
        out.append(f"model: {folder} holds no tokenizer (tokenizer.json or tokenizer_config.json)")
    if not any(path.glob("*.safetensors")):
        out.append(f"model: {folder} holds no safetensors weights (pickle weights can run code when loaded)")
    return out


def chat_template_of(folder: str) -> str | None:
    """The model's chat template, from its files (None when it has none)."""
    path = Path(folder)
    jinja = path / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text()
    try:
        template = json.loads((path / "tokenizer_config.json").read_text()).get("chat_template")
    except (OSError, ValueError):
        return None
    return template if isinstance(template, str) else None


LOOPBACK_NAMES = ("localhost",)


def server_problems(token_env: str | None, timeout_s: float) -> list[str]:
    """A server's token variable (named in the spec; the token itself is read when the job runs, and stored
    nowhere) and its request time limit."""
    import os

    out = []
    if token_env is not None and (not isinstance(token_env, str) or not token_env.isidentifier()):
        out.append(f"token_env: {token_env!r} is not the name of an environment variable")
    elif token_env and not os.environ.get(token_env):
        out.append(f"token_env: the environment variable {token_env} is not set (export it where the job runs: the "
                   "token is read from it, never written to the project)")
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not 0.1 <= timeout_s <= 86400:
        out.append(f"timeout_s: expected seconds from 0.1 to 86400, got {timeout_s!r}")
    return out


def url_problems(url: str | None, allow_remote: bool) -> list[str]:
    """An OpenAI-compatible server's address: http(s), and on this machine unless `allow_remote`."""
    if not url:
        return ["url: the openai backend needs the server's address (e.g. http://127.0.0.1:8080/v1)"]
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return [f"url: {url!r} is not an http(s) address"]
    if allow_remote or is_loopback(parsed.hostname):
        return []
    return [f"url: {parsed.hostname} is not this machine; pass --allow-remote to send prompts to another one"]


def is_loopback(host: str) -> bool:
    """localhost or a loopback address; any other name is not looked up (a lookup could leave the machine)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def folder_hash(folder: str | Path, names: tuple[str, ...]) -> str:
    """A content hash of a model folder's config and weights index: the named files, and each safetensors
    file's size and header (its tensors' names, shapes, dtypes and offsets). Not every weight byte: a 7B model
    would take a minute to hash at every start."""
    path = Path(folder)
    h = hashlib.sha256()
    for name in names:
        if (path / name).is_file():
            h.update(name.encode() + b"\0" + (path / name).read_bytes())
    for weights in sorted(path.glob("*.safetensors")):
        with open(weights, "rb") as f:
            size = int.from_bytes(f.read(8), "little")
            h.update(weights.name.encode() + b"\0" + str(weights.stat().st_size).encode() + f.read(min(size, 1 << 26)))
    return h.hexdigest()
