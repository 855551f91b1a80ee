"""Run one job from its spec: offline, with events, failures turned into a `failed` event with a hint."""

from __future__ import annotations

import traceback
from pathlib import Path

from training.protocol import JobSpec, emit, file_sha256

HINTS = [
    ("out of memory", "CUDA out of memory: lower hyper.batch_size or hyper.max_length, or enable hyper.lora"),
    ("does not appear to have a file named", "base_model: the folder is not a saved transformers model"),
    ("is not a local folder", "base_model: give a local model folder, or set allow_download"),
    ("holds no config.json", "base_model: point at the folder that holds config.json and the weights"),
    ("Can't load", "base_model: could not load it; check the folder holds config.json and weights"),
    ("no usable rows", "export the dataset again from the desk; check filters and max_length"),
    ("holds only pickle weights", "convert once: python -c \"import transformers as t; "
     "t.AutoModel.from_pretrained('DIR', use_safetensors=False).save_pretrained('DIR')\" (it writes model.safetensors), "
     "or set allow_pickle_weights in the job if you trust the file"),
    ("no complete checkpoint", "start the job again without resume (the checkpoints were cut off while saving)"),
]


def hint_for(message: str) -> str:
    low = message.lower()
    return next((hint for needle, hint in HINTS if needle.lower() in low), "see the log above")


def weights_bytes(spec: JobSpec) -> int | None:
    """The size on disk of the base model's weights (None when it is not a local folder)."""
    from training.common import default_base

    folder = Path(spec.base_model) if spec.base_model else Path(default_base())
    if not folder.is_dir():
        return None
    return sum(p.stat().st_size for pattern in ("*.safetensors", "*.bin") for p in folder.glob(pattern))


def run_job(spec: JobSpec) -> int:
    """0 when finished, 3 when cancelled, 1 when failed (after the matching event)."""
    from training.common import offline_env

    offline_env(spec)
    problems = spec.problems()
    if problems:
        emit("failed", error="; ".join(problems), hint=hint_for(problems[0]))
        return 1
    Path(spec.output_dir).mkdir(parents=True, exist_ok=True)
    try:
        from training.callbacks import StopRequest
        from training.device import choose

        stop = StopRequest(Path(spec.output_dir))
        device = choose(spec.device, spec.hyper.bf16, spec.hyper.gradient_checkpointing, weights_bytes(spec))
        if spec.kind == "reward":
            from training import reward as job
        elif spec.kind == "dpo":
            from training import dpo as job
        elif spec.kind == "kto":
            from training import kto as job
        else:
            from training import prm as job
        from transformers import set_seed

        set_seed(spec.seed)  # a new head's weights too: the same spec trains the same model, in 1 process or N
        result = job.run(spec, device, stop)
    except Exception as exc:  # every failure reaches the desk as an event
        traceback.print_exc()
        message = f"{type(exc).__name__}: {exc}"
        emit("failed", error=message, hint=hint_for(message))
        return 1
    if result.get("cancelled"):
        emit("cancelled", step=result.get("step"), checkpoint=result.get("checkpoint"))
        return 3
    report = {**result["report"], "dataset_sha256": file_sha256(spec.data_file)}  # what `runs import` checks
    from training.common import write_report

    write_report(spec, report)  # the report file says it too
    emit("finished", output_dir=result["output_dir"], report=report, report_path=result["report_path"])
    return 0
