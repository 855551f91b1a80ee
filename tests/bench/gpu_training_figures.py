"""GPU figures for issue 11, run on a lent GPU machine (not part of any test run):

    python tests/bench/gpu_training_figures.py TOKENIZER_DIR DATASET_DIR OUT.json

- the reward job's steps/s against TRL's RewardTrainer configured by hand for that GPU (same data, a
  MiniLM-shaped encoder built from its config, same batch and length, bf16 on both);
- scoring throughput (candidates/s) with that reward model;
- the DPO job (LoRA, the job's GPU defaults) on a Qwen2-0.5B-shaped causal LM built from a config:
  tokens/s and peak GPU memory (NVML, sampled while it runs).
Models are built from configs with random weights: speed and memory do not depend on the weights.
"""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}


def build_models(tok_dir: str, root: Path) -> tuple[Path, Path]:
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification, Qwen2Config, Qwen2ForCausalLM

    tok = AutoTokenizer.from_pretrained(tok_dir)
    encoder = root / "minilm-shaped"
    BertForSequenceClassification(BertConfig(vocab_size=len(tok), hidden_size=384, num_hidden_layers=6,
                                             num_attention_heads=12, intermediate_size=1536, num_labels=1)
                                  ).save_pretrained(encoder)
    tok.save_pretrained(encoder)
    decoder = root / "qwen2-0.5b-shaped"
    config = Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=4096,
                         tie_word_embeddings=True, pad_token_id=tok.pad_token_id, eos_token_id=tok.sep_token_id,
                         bos_token_id=tok.cls_token_id)
    model = Qwen2ForCausalLM(config)
    print(f"decoder parameters: {sum(p.numel() for p in model.parameters()) / 1e6:.0f} M", flush=True)
    model.save_pretrained(decoder)
    tok.save_pretrained(decoder)
    return encoder, decoder


def run_job(root: Path, name: str, **spec) -> tuple[list[dict], float]:
    job = root / f"{name}.json"
    job.write_text(json.dumps({"output_dir": str(root / name), **spec}))
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "training", "run", str(job)], env=ENV, capture_output=True, text=True)
    wall = time.perf_counter() - t
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0:
        print(proc.stderr[-4000:], flush=True)
        raise SystemExit(f"{name}: job failed: {events[-1] if events else proc.returncode}")
    return events, wall


def peak_gpu_memory_mb(stop: threading.Event, out: list) -> None:
    import pynvml

    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(0)
    base = pynvml.nvmlDeviceGetMemoryInfo(handle).used
    peak = base
    while not stop.is_set():
        peak = max(peak, pynvml.nvmlDeviceGetMemoryInfo(handle).used)
        time.sleep(0.05)
    out.append((peak - base) / 2**20)


def trl_reward_steps_per_second(encoder: Path, dataset: Path, steps: int, batch: int, max_length: int) -> float:
    from datasets import load_dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    ds = load_dataset("json", data_files=str(dataset / "preference.jsonl"), split="train").select_columns(
        ["prompt", "chosen", "rejected"])
    tok = AutoTokenizer.from_pretrained(encoder)
    model = AutoModelForSequenceClassification.from_pretrained(encoder, num_labels=1)
    args = RewardConfig(output_dir="/tmp/trl-gpu", max_steps=steps, per_device_train_batch_size=batch, bf16=True,
                        gradient_checkpointing=False, max_length=max_length, report_to=[], save_strategy="no",
                        eos_token="[SEP]", disable_tqdm=True, dataloader_num_workers=0)
    result = RewardTrainer(model=model, args=args, train_dataset=ds, processing_class=tok).train()
    return steps / result.metrics["train_runtime"]


def main() -> None:
    tok_dir, dataset, out_path = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    root = Path("/tmp/gpu-figures")
    root.mkdir(exist_ok=True)
    encoder, decoder = build_models(tok_dir, root)
    figures: dict = {}
    import torch

    figures["gpu"] = torch.cuda.get_device_name(0)
    steps, batch, length = 100, 32, 512
    events, _ = run_job(root, "reward", kind="reward", dataset=str(dataset), base_model=str(encoder), device="cuda",
                        eval_fraction=0.0, hyper={"max_steps": steps, "batch_size": batch, "max_length": length})
    started, report = events[0], events[-1]["report"]
    figures["reward_job_steps_per_s"] = report["steps"] / report["train_runtime_s"]
    figures["reward_job_settings"] = {k: started.get(k) for k in ("bf16", "gradient_checkpointing", "max_length")}
    figures["trl_hand_configured_steps_per_s"] = trl_reward_steps_per_second(encoder, dataset, steps, batch, length)
    print(json.dumps(figures, indent=2), flush=True)
    rows = [json.loads(line) for line in (dataset / "preference.jsonl").read_text().splitlines()]
    candidates = [{"prompt": r["prompt"], "response": r[side]} for r in rows for side in ("chosen", "rejected")] * 10
    src, dst = root / "score-in.jsonl", root / "score-out.jsonl"
    src.write_text("".join(json.dumps(c) + "\n" for c in candidates))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "training", "score", str(root / "reward"), str(src), str(dst),
                    "--batch-size", "256"], env=ENV, check=True, capture_output=True)
    figures["scoring_candidates_per_s"] = len(candidates) / (time.perf_counter() - t)
    figures["scoring_note"] = f"{len(candidates)} candidates, whole command (model load included)"
    print(json.dumps(figures, indent=2), flush=True)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(decoder)
    tokens_per_example = sum(len(tok(r["prompt"] + r["chosen"])["input_ids"]) + len(tok(r["prompt"] + r["rejected"])["input_ids"])
                             for r in rows) / len(rows)
    stop, peak = threading.Event(), []
    sampler = threading.Thread(target=peak_gpu_memory_mb, args=(stop, peak))
    sampler.start()
    dpo_steps, dpo_batch = 40, 8
    events, wall = run_job(root, "dpo", kind="dpo", dataset=str(dataset), base_model=str(decoder), device="cuda",
                           eval_fraction=0.0, hyper={"max_steps": dpo_steps, "batch_size": dpo_batch, "max_length": 512})
    stop.set()
    sampler.join()
    report = events[-1]["report"]
    figures["dpo"] = {"parameters": events[0].get("parameters_total"), "trainable": events[0].get("parameters_trainable"),
                      "steps_per_s": report["steps"] / report["train_runtime_s"],
                      "tokens_per_s": report["steps"] * dpo_batch * tokens_per_example / report["train_runtime_s"],
                      "tokens_per_example": tokens_per_example, "peak_gpu_memory_mb": peak[0] if peak else None,
                      "bf16": events[0].get("bf16"), "gradient_checkpointing": events[0].get("gradient_checkpointing"),
                      "wall_s": wall}
    out_path.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2), flush=True)


if __name__ == "__main__":
    main()
