"""Device choice and device-aware defaults, and GPU memory through NVML when it is there."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DeviceChoice:
    kind: str  # cuda | mps | cpu
    name: str
    bf16: bool
    gradient_checkpointing: bool
    gpu_memory_mb: int | None


def gpu_memory_mb() -> int | None:
    """Total memory of GPU 0 via NVML (no CUDA context is made); None without NVML or a GPU."""
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        return int(pynvml.nvmlDeviceGetMemoryInfo(handle).total // (1 << 20))
    except Exception:
        return None


def choose(device: str, bf16: bool | None, gradient_checkpointing: bool | None) -> DeviceChoice:
    """Resolve `auto` and the defaults: bf16 and checkpointing on a GPU that supports them, fp32 on CPU.

    TRL's configs default to bf16 and gradient checkpointing, which on a CPU makes training ~20x slower.
    """
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' asked for, but no CUDA GPU is visible to torch")
    if device == "cuda":
        name = torch.cuda.get_device_name(0)
        supports_bf16 = torch.cuda.is_bf16_supported()
        return DeviceChoice("cuda", name, supports_bf16 if bf16 is None else bf16,
                            True if gradient_checkpointing is None else gradient_checkpointing, gpu_memory_mb())
    name = "Apple GPU (MPS)" if device == "mps" else f"CPU ({torch.get_num_threads()} threads)"
    return DeviceChoice(device, name, bool(bf16), bool(gradient_checkpointing), None)
