"""What the Train panel offers before a job starts, Qt-free: the devices (GPUs through NVML, which makes no
CUDA context, then the CPU), device-aware defaults, and every problem with a job's choices, found without
torch (the job checks again when it starts)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from training.protocol import JobSpec

WEIGHT_FILES = ("*.safetensors",)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "tokenizer.model")


@dataclass(frozen=True)
class Device:
    id: str  # the job spec's device: "cuda" or "cpu" (one GPU a job; the panel names which)
    name: str
    free_mb: int | None = None
    total_mb: int | None = None
    bf16: bool = False

    def label(self) -> str:
        if self.total_mb:
            return f"{self.name} — {self.free_mb / 1024:.1f} of {self.total_mb / 1024:.1f} GB free"
        return self.name


def devices() -> list[Device]:
    """The GPUs NVML sees (name, free/total memory, bf16 from compute capability ≥ 8), then the CPU."""
    found = []
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            for index in range(pynvml.nvmlDeviceGetCount()):
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
                name = pynvml.nvmlDeviceGetName(handle)
                name = name.decode() if isinstance(name, bytes) else name
                major, _ = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
                found.append(Device("cuda", f"GPU {index}: {name}", memory.free >> 20, memory.total >> 20, major >= 8))
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # no NVML library, no driver, no GPU: the CPU only
        found = []
    return [*found, Device("cpu", f"CPU ({os.cpu_count()} cores)")]


def defaults(kind: str, device: Device) -> dict:
    """The job's own defaults for this device (training.common / training.device), shown and editable."""
    gpu = device.id == "cuda"
    return {"batch_size": 16 if gpu else 8, "precision": "bf16" if gpu and device.bf16 else "fp32",
            "lora": kind in ("dpo", "kto"), "epochs": 1.0}


def base_model_problems(kind: str, folder: str | None) -> list[str]:
    """What is wrong with a base-model folder for this job: config, tokenizer, safetensors weights, and a
    causal language model for DPO (an encoder for the others is fine: they add a score head)."""
    if not folder:
        return [f"base model: {kind.upper()} needs a causal language model folder"] if kind in ("dpo", "kto") else []
    path = Path(folder)
    if not path.is_dir():
        return [f"base model: {folder} is not a folder"]
    problems = []
    config_path = path / "config.json"
    if not config_path.is_file():
        return [f"base model: {folder} holds no config.json (not a saved transformers model)"]
    try:
        config = json.loads(config_path.read_text())
    except ValueError as exc:
        return [f"base model: {config_path}: not JSON ({exc})"]
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        problems.append(f"base model: {folder} holds no tokenizer ({', '.join(TOKENIZER_FILES)})")
    if not any(path.glob("*.safetensors")):
        problems.append(f"base model: {folder} holds no safetensors weights")
    architectures = config.get("architectures") or []
    if kind in ("dpo", "kto") and not any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures):
        problems.append(f"base model: {kind.upper()} needs a causal language model; {folder} is "
                        f"{', '.join(architectures) or 'of no stated architecture'}")
    return problems


def spec_problems(spec: dict) -> list[str]:
    """The job spec's own checks (`training.protocol`), without the dataset, which is frozen at start."""
    parsed, problems = JobSpec.from_dict({**spec, "dataset": spec.get("dataset") or "-"})
    if parsed is not None:
        problems = [p for p in parsed.problems() if not p.startswith(("dataset:", "base_model:"))]
    return problems


def gpu_memory_used() -> int | None:
    """MB in use on GPU 0 (the job's), through NVML; None without it."""
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return int(pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(0)).used >> 20)
        finally:
            pynvml.nvmlShutdown()
    except Exception:
        return None
