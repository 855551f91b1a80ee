"""A job bundled for another machine (issue 36): `prefdesk train --bundle DIR` writes a folder that trains as it is
(the snapshot, the spec, the training code, accelerate and SLURM files), on 2 CPU processes (gloo) through the SLURM
script as on 1 through `run.sh`, the same loss curve; `prefdesk runs import DIR` brings the run back, checked against
the snapshot's digest, and refuses, changing nothing, a folder that is not this project's, a changed snapshot, an
unfinished job. The accelerate configs are read by accelerate's own parser, the DeepSpeed config by DeepSpeed's
(where it installs) and by a schema, the scripts by `bash -n`, the SLURM launch line by accelerate's argument parser."""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from prefdesk.cli import main
from prefdesk.jobs import topology as topo
from prefdesk.store import runs as store_runs
from prefdesk.store.project import Project
from training.protocol import RunStatus

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
HYPER = {"max_steps": 4, "batch_size": 8, "max_length": 64, "learning_rate": 1e-3, "logging_steps": 1,
         "warmup_ratio": 0.0}


def _project(tmp_path: Path) -> Path:
    path = tmp_path / "p.prefdesk"
    assert main(["new", str(path)]) == 0
    assert main(["import", str(FIXTURES / "rule_pairs.jsonl"), "-p", str(path)]) == 0
    return path


def _bundle(path: Path, folder: Path, *extra: str, base: str | None = None, capsys=None) -> dict:
    args = ["train", "-p", str(path), "--kind", "reward", "--device", "cpu", "--hyper", json.dumps(HYPER),
            "--bundle", str(folder), *extra, *(["--base-model", base] if base else [])]
    assert main(args) == 0
    out = capsys.readouterr().out if capsys else ""
    return json.loads(out[out.index('{\n  "run"'):]) if capsys else {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stubs(folder: Path) -> dict:
    """`srun`, `scontrol` and `accelerate` as a one-node SLURM allocation has them: srun runs its command here."""
    folder.mkdir()
    (folder / "scontrol").write_text("#!/bin/sh\necho 127.0.0.1\n")
    (folder / "srun").write_text('#!/bin/sh\necho "$@" > "$SRUN_LOG"\nshift\nexec "$@"\n')  # drops --kill-on-bad-exit
    (folder / "accelerate").write_text(f'#!/bin/sh\nshift\nexec {sys.executable} -m accelerate.commands.launch "$@"\n')
    for name in ("scontrol", "srun", "accelerate"):
        (folder / name).chmod(0o755)
    return {**os.environ, "PATH": f"{folder}:{os.environ['PATH']}", "SLURM_NNODES": "1",
            "SLURM_JOB_NODELIST": "node1", "SRUN_LOG": str(folder / "srun.args"), "OMP_NUM_THREADS": "1"}


def _losses(project: Project, run_id: str) -> list[float]:
    return [e["loss"] for e in map(json.loads, store_runs.events(project, run_id)) if e["event"] == "metrics"]


def test_a_bundle_trains_on_two_processes_through_slurm_as_on_one_and_its_run_comes_back(tmp_path, tiny_encoder, capsys):
    pytest.importorskip("accelerate")
    torch = pytest.importorskip("torch")
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    path = _project(tmp_path)
    one = _bundle(path, tmp_path / "one", base=tiny_encoder, capsys=capsys)
    two = _bundle(path, tmp_path / "two", "--topology", "multi-gpu", "--num-processes", "2",
                  "--main-process-port", str(_free_port()), base=tiny_encoder, capsys=capsys)
    with Project.open(path) as project:
        for b in (one, two):
            run = store_runs.run(project, b["run"])
            assert run.status == RunStatus.BUNDLED and run.spec["bundle"]["snapshot_sha256"] == b["snapshot_sha256"]
    assert (tmp_path / "one" / "base_model" / "config.json").is_file()  # the base travels with the job
    assert json.loads((tmp_path / "one" / "job.json").read_text())["base_model"] == "base_model"

    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    subprocess.run(["bash", str(tmp_path / "one" / "run.sh")], env=env, cwd=tmp_path, check=True, timeout=300)
    stubs = _stubs(tmp_path / "bin")  # sbatch runs the script from the submit dir; srun launches on the one node
    subprocess.run(["bash", "slurm.sbatch"], env={**stubs, "SLURM_SUBMIT_DIR": str(tmp_path / "two")},
                   cwd=tmp_path / "two", check=True, timeout=300)
    assert "accelerate launch --config_file accelerate.yaml --num_machines 1 --num_processes 2" in \
        (tmp_path / "bin" / "srun.args").read_text()
    log = (tmp_path / "two" / "run" / "job.log").read_text()
    assert "gloo" in log.lower() or "world_size" in log.lower() or "rank" in log.lower(), log[-2000:]

    for b in (one, two):
        assert main(["runs", "import", b["bundle"], "-p", str(path)]) == 0
    capsys.readouterr()
    with Project.open(path) as project:
        runs = {b["run"]: store_runs.run(project, b["run"]) for b in (one, two)}
        for run in runs.values():
            assert run.status == RunStatus.FINISHED
            model = Path(run.model_dir)
            assert model.parent.name == run.id and (model / "config.json").is_file()  # copied in beside the project
            assert Path(run.dataset) == model.parent / "dataset"
            frozen = run.dataset_manifest["files"]["preference.jsonl"]["sha256"]
            assert run.report["dataset_sha256"] == frozen and run.report["training_code_changed"] is False
        losses = [_losses(project, b["run"]) for b in (one, two)]
        assert runs[two["run"]].report["trained_on"]["num_processes"] == 2
    assert len(losses[0]) == len(losses[1]) == 4
    assert losses[1] == pytest.approx(losses[0], rel=1e-4), losses  # what test_multiprocess holds one process to
    assert main(["runs", "import", one["bundle"], "-p", str(path)]) == 2  # a second import: refused, said
    assert "it was imported already" in capsys.readouterr().err


def _fake_finished(folder: Path, sha: str, model: bool = True) -> None:
    """What a finished job leaves in the bundle's run folder (the real job is tested above)."""
    run = folder / "run"
    run.mkdir(exist_ok=True)
    if model:
        (run / "model").mkdir(parents=True)
        (run / "model" / "config.json").write_text("{}")
    (run / "events.jsonl").write_text(json.dumps({"event": "finished", "time": 1.0, "output_dir": "x",
                                                  "report": {"dataset_sha256": sha}}) + "\n")


def test_runs_import_refuses_what_is_not_this_projects_finished_snapshot_and_changes_nothing(tmp_path, capsys):
    path = _project(tmp_path)
    b = _bundle(path, tmp_path / "b", capsys=capsys)
    folder = Path(b["bundle"])
    frozen = json.loads((folder / "dataset" / "manifest.json").read_text())["files"]["preference.jsonl"]["sha256"]

    def refused(target: Path, said: str) -> None:
        assert main(["runs", "import", str(target), "-p", str(path)]) == 2
        err = capsys.readouterr().err
        assert said in err, err
        with Project.open(path) as project:
            run = store_runs.run(project, b["run"])
            assert run.status == RunStatus.BUNDLED and store_runs.events(project, run.id) == []
        assert not (tmp_path / "p.runs" / b["run"] / "model").exists()

    refused(folder, "run/events.jsonl: no such file: the bundle has not been run")
    (folder / "run" / "events.jsonl").write_text(json.dumps({"event": "failed", "time": 1, "error": "CUDA out of memory"}) + "\n")
    refused(folder, "the job did not finish (failed: CUDA out of memory)")
    _fake_finished(folder, "0" * 64, model=False)
    refused(folder, "the finished job read a data file whose sha256 is " + "0" * 64)
    shutil.rmtree(folder / "run")
    _fake_finished(folder, frozen, model=False)
    refused(folder, "holds no saved model")
    shutil.rmtree(folder / "run")
    _fake_finished(folder, frozen)
    data = folder / "dataset" / "preference.jsonl"
    kept = data.read_bytes()
    data.write_bytes(kept.replace(b'"chosen"', b'"chosen" ', 1))  # one row edited on the cluster
    refused(folder, "preference.jsonl: its sha256 is not the one frozen")
    data.write_bytes(kept)
    (tmp_path / "other").mkdir()
    other = _project(tmp_path / "other")
    assert main(["runs", "import", str(folder), "-p", str(other)]) == 2
    assert f"run {b['run']} was not bundled from p.prefdesk" in capsys.readouterr().err
    (folder / "bundle.json").write_text("{not json")
    refused(folder, "bundle.json: not readable JSON")
    refused(tmp_path, "the bundle holds the project file p.prefdesk")  # read file by file: never the project's folder
    (tmp_path / "empty").mkdir()
    refused(tmp_path / "empty", "bundle.json: no such file")


@pytest.mark.parametrize("bad, said", [
    (["--topology", "multi-node", "--num-machines", "1"], "num_machines must be 2 or more"),
    (["--topology", "multi-gpu", "--num-machines", "2", "--num-processes", "4"], "one machine (choose multi-node"),
    (["--topology", "multi-node", "--num-machines", "2", "--num-processes", "3"], "do not share evenly"),
    (["--topology", "single", "--num-processes", "2"], "one machine, one process"),
])
def test_a_topology_that_cannot_run_is_refused_before_anything_is_written(tmp_path, capsys, bad, said):
    path = _project(tmp_path)
    args = ["train", "-p", str(path), "--kind", "reward", "--bundle", str(tmp_path / "b"), *bad]
    assert main(args) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "b").exists() and not list(tmp_path.glob(".b.partial-*"))
    with Project.open(path) as project:
        assert store_runs.runs(project) == []


def test_a_bundle_is_written_only_into_a_new_or_empty_folder(tmp_path, capsys):
    path = _project(tmp_path)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    assert main(["train", "-p", str(path), "--kind", "reward", "--bundle", str(tmp_path / "b")]) == 2
    assert "already holds files" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["notes.txt"]


TOPOLOGY_CASES = {
    "single": topo.Topology("single"),
    "multi-gpu": topo.Topology("multi-gpu", 1, 8),
    "multi-node": topo.Topology("multi-node", 4, 32, "10.0.0.1", 29411),
    "deepspeed-zero3": topo.Topology("deepspeed-zero3", 2, 16),
    "fsdp": topo.Topology("fsdp", 1, 4),
}


@pytest.mark.parametrize("name", list(TOPOLOGY_CASES))
def test_each_topology_is_read_by_accelerate_and_its_scripts_by_bash(tmp_path, name):
    pytest.importorskip("accelerate")
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.commands.launch import launch_command_parser

    t = TOPOLOGY_CASES[name]
    (tmp_path / topo.ACCELERATE_CONFIG).write_text(topo.accelerate_config(t))
    config = load_config_from_file(str(tmp_path / topo.ACCELERATE_CONFIG))  # accelerate's own reader and checks
    assert (config.distributed_type.value, config.num_machines, config.num_processes) == (
        topo._DISTRIBUTED[name], t.num_machines, t.num_processes)
    if t.num_machines > 1:
        assert config.main_process_port == t.main_process_port
    if name == "deepspeed-zero3":
        assert config.deepspeed_config["deepspeed_config_file"] == topo.DEEPSPEED_CONFIG
        assert config.deepspeed_config["deepspeed_multinode_launcher"] == "standard"  # one torchrun a SLURM task
    if name == "fsdp":
        assert config.fsdp_config["fsdp_version"] == 2 and config.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT"
    for script, text in ((topo.LAUNCHER, topo.launcher_script(t)), (topo.SLURM_SCRIPT, topo.slurm_script(t, "job"))):
        (tmp_path / script).write_text(text)
        check = subprocess.run(["bash", "-n", str(tmp_path / script)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
    slurm = (tmp_path / topo.SLURM_SCRIPT).read_text()
    assert f"#SBATCH --nodes={t.num_machines}" in slurm and f"#SBATCH --gpus-per-node={t.per_machine}" in slurm
    line = next(li for li in slurm.splitlines() if li.startswith("srun "))
    env = {"SLURM_NNODES": str(t.num_machines), "MAIN_PROCESS_IP": "node1"}
    words = subprocess.run(["bash", "-c", f'for w in {line.split(" >> ")[0].removeprefix("srun ")}; do echo "$w"; done'],
                           env={**os.environ, **env}, capture_output=True, text=True, check=True).stdout.split("\n")
    words = [w for w in words if w]
    assert words[:3] == ["--kill-on-bad-exit=1", "accelerate", "launch"]
    args = launch_command_parser().parse_args(words[3:])  # the line as accelerate launch reads it
    assert (args.config_file, args.num_machines, args.num_processes, args.main_process_ip, args.rdzv_backend) == (
        topo.ACCELERATE_CONFIG, t.num_machines, t.num_processes, "node1", "c10d")
    assert args.module and args.training_script == "training" and args.training_script_args == ["run", "job.json"]


ZERO3_SCHEMA = {  # DeepSpeed's documented config keys and types, for machines where DeepSpeed does not install
    "type": "object", "additionalProperties": False,
    "required": ["zero_optimization", "train_batch_size", "train_micro_batch_size_per_gpu"],
    "properties": {
        "zero_optimization": {"type": "object", "additionalProperties": False, "required": ["stage"], "properties": {
            "stage": {"enum": [0, 1, 2, 3]}, "overlap_comm": {"type": "boolean"},
            "contiguous_gradients": {"type": "boolean"}, "sub_group_size": {"type": "integer", "minimum": 1},
            "reduce_bucket_size": {"anyOf": [{"const": "auto"}, {"type": "integer"}]},
            "stage3_prefetch_bucket_size": {"anyOf": [{"const": "auto"}, {"type": "integer"}]},
            "stage3_param_persistence_threshold": {"anyOf": [{"const": "auto"}, {"type": "integer"}]},
            "stage3_max_live_parameters": {"type": "integer"}, "stage3_max_reuse_distance": {"type": "integer"},
            "stage3_gather_16bit_weights_on_model_save": {"type": "boolean"}}},
        "bf16": {"type": "object", "properties": {"enabled": {"anyOf": [{"const": "auto"}, {"type": "boolean"}]}}},
        "fp16": {"type": "object", "properties": {"enabled": {"anyOf": [{"const": "auto"}, {"type": "boolean"}]}}},
        **{k: {"anyOf": [{"const": "auto"}, {"type": "number"}]} for k in (
            "gradient_accumulation_steps", "gradient_clipping", "train_batch_size", "train_micro_batch_size_per_gpu")},
        "steps_per_print": {"type": "integer"}, "wall_clock_breakdown": {"type": "boolean"},
    },
}


def test_the_deepspeed_config_keeps_to_deepspeeds_schema():
    import jsonschema

    config = json.loads(topo.deepspeed_config())
    jsonschema.validate(config, ZERO3_SCHEMA)
    assert config["zero_optimization"]["stage"] == 3
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**config, "zero_optimization": {"stage": 4}}, ZERO3_SCHEMA)


def test_the_deepspeed_config_is_read_by_deepspeeds_own_parser_once_the_trainer_fills_its_autos(tmp_path):
    pytest.importorskip("deepspeed", reason="DeepSpeed does not install here: the schema test above stands in")
    from deepspeed.runtime.config import DeepSpeedConfig
    from transformers import AutoConfig, TrainingArguments
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=4, gradient_accumulation_steps=2,
                             use_cpu=True, report_to=[])
    filled = HfTrainerDeepSpeedConfig(json.loads(topo.deepspeed_config()))  # what the Trainer does at launch
    filled.trainer_config_process(args)

    class Model:
        config = AutoConfig.for_model("bert", hidden_size=64)

    filled.trainer_config_finalize(args, Model(), 10)
    parsed = DeepSpeedConfig(filled.config)
    assert (parsed.zero_optimization_stage, parsed.train_batch_size, parsed.gradient_accumulation_steps) == (3, 8, 2)
    assert parsed.zero_config.gather_16bit_weights_on_model_save  # a whole model in the run folder to import
