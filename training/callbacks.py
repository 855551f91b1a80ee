"""Turn the trainer's life into events, and stop cleanly on a stop file or SIGTERM."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from transformers import TrainerCallback

from training.protocol import STOP_FILE, emit


class StopRequest:
    """Set by SIGTERM or by a STOP file in the output folder (checked every step: works on every OS)."""

    def __init__(self, output_dir: Path) -> None:
        self.stop_file = output_dir / STOP_FILE
        self.signalled = False
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum, frame) -> None:  # noqa: ARG002
        self.signalled = True

    @property
    def asked(self) -> bool:
        return self.signalled or self.stop_file.exists()


def _everyone(asked: bool) -> bool:
    """Whether any process was asked to stop, agreed by all (`accelerate launch`: a process that stopped alone
    would leave the others waiting for it in the next gradient all-reduce)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return asked
    import torch

    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
    flag = torch.tensor([int(asked)], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


class EventCallback(TrainerCallback):
    """progress / metrics / eval / checkpoint events; a stop request ends training at the next step."""

    def __init__(self, stop: StopRequest, examples_per_step: int) -> None:
        self.stop = stop
        self.examples_per_step = examples_per_step
        self.started = time.monotonic()
        self.last_progress = 0.0
        self.stopped = False

    def on_step_end(self, args, state, control, **kwargs):
        now = time.monotonic()
        elapsed = now - self.started
        if now - self.last_progress >= 1.0 or state.global_step == state.max_steps:
            self.last_progress = now
            rate = state.global_step / elapsed if elapsed else 0.0
            emit("progress", step=state.global_step, total_steps=state.max_steps, epoch=round(state.epoch or 0, 4),
                 eta_s=round((state.max_steps - state.global_step) / rate, 1) if rate else None,
                 samples_per_s=round(rate * self.examples_per_step, 2))
        if _everyone(self.stop.asked):
            self.stopped = True
            control.should_save = True
            control.should_training_stop = True
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and not any(k.startswith("eval_") for k in logs) and "train_runtime" not in logs:
            emit("metrics", step=state.global_step, **logs)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        emit("eval", step=state.global_step, **(metrics or {}))

    def on_save(self, args, state, control, **kwargs):
        emit("checkpoint", step=state.global_step, path=str(Path(args.output_dir) / f"checkpoint-{state.global_step}"))
