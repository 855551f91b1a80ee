"""Where a bundled job runs, said in the files the field's engines read: an accelerate config (`accelerate launch
--config_file`), a DeepSpeed ZeRO-3 config, a SLURM batch script (`srun accelerate launch ...`) and a launcher for
one machine. No scheduler of our own: accelerate starts the processes, torchrun's c10d rendezvous ranks them,
SLURM places them.

`num_processes` is accelerate's: all processes on all machines together (one a GPU).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass

TOPOLOGIES = ("single", "multi-gpu", "multi-node", "deepspeed-zero3", "fsdp")
ACCELERATE_CONFIG = "accelerate.yaml"
DEEPSPEED_CONFIG = "ds_config.json"
SLURM_SCRIPT = "slurm.sbatch"
LAUNCHER = "run.sh"
RUN = "run"  # the bundle's run folder: events.jsonl, job.log and the model (`model/`)

_DISTRIBUTED = {"single": "NO", "multi-gpu": "MULTI_GPU", "multi-node": "MULTI_GPU", "deepspeed-zero3": "DEEPSPEED",
                "fsdp": "FSDP"}

# ZeRO-3 with the Trainer's own optimizer and schedule: "auto" is filled from the job's TrainingArguments by
# transformers' DeepSpeed integration (batch sizes, accumulation, clipping, precision). The 16-bit weights are
# gathered on save, so the run's folder holds a whole model that `prefdesk runs import` can bring back.
ZERO3 = {
    "zero_optimization": {"stage": 3, "overlap_comm": True, "contiguous_gradients": True, "sub_group_size": 1_000_000_000,
                          "reduce_bucket_size": "auto", "stage3_prefetch_bucket_size": "auto",
                          "stage3_param_persistence_threshold": "auto", "stage3_max_live_parameters": 1_000_000_000,
                          "stage3_max_reuse_distance": 1_000_000_000, "stage3_gather_16bit_weights_on_model_save": True},
    "bf16": {"enabled": "auto"},
    "fp16": {"enabled": "auto"},
    "gradient_accumulation_steps": "auto",
    "gradient_clipping": "auto",
    "train_batch_size": "auto",
    "train_micro_batch_size_per_gpu": "auto",
    "steps_per_print": 1_000_000_000,
    "wall_clock_breakdown": False,
}

# FSDP2, each transformer block its own unit (from the model's `_no_split_modules`), the whole state dict on save
FSDP = {"fsdp_version": 2, "fsdp_auto_wrap_policy": "TRANSFORMER_BASED_WRAP", "fsdp_cpu_ram_efficient_loading": True,
        "fsdp_offload_params": False, "fsdp_reshard_after_forward": True, "fsdp_state_dict_type": "FULL_STATE_DICT"}


@dataclass(frozen=True)
class Topology:
    name: str = "single"
    num_machines: int = 1
    num_processes: int = 1  # on all machines together
    main_process_ip: str | None = None  # multi-node without SLURM (SLURM's script names the first node itself)
    main_process_port: int = 29500

    def problems(self) -> list[str]:
        out = []
        if self.name not in TOPOLOGIES:
            return [f"topology: {self.name!r} is not one of {', '.join(TOPOLOGIES)}"]
        if self.num_machines < 1 or self.num_processes < 1:
            out.append("num_machines and num_processes: at least 1 each")
        elif self.num_processes % self.num_machines:
            out.append(f"num_processes: {self.num_processes} processes do not share evenly over "
                       f"{self.num_machines} machines (num_processes counts all machines together)")
        if self.name == "single" and (self.num_machines, self.num_processes) != (1, 1):
            out.append("topology single: one machine, one process (choose multi-gpu or multi-node for more)")
        if self.name == "multi-gpu" and self.num_machines != 1:
            out.append("topology multi-gpu: one machine (choose multi-node for several)")
        if self.name == "multi-node" and self.num_machines < 2:
            out.append("topology multi-node: num_machines must be 2 or more")
        if not 0 < self.main_process_port < 65536:
            out.append(f"main_process_port: {self.main_process_port} is not a port")
        return out

    @property
    def per_machine(self) -> int:
        return max(1, self.num_processes // max(1, self.num_machines))

    def as_json(self) -> dict:
        return asdict(self)


def _yaml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)  # a quoted YAML string


def accelerate_config(topology: Topology) -> str:
    """The accelerate config file (YAML, as `accelerate config` writes it) for the topology."""
    fields = {"compute_environment": "LOCAL_MACHINE", "distributed_type": _DISTRIBUTED[topology.name],
              "mixed_precision": "no",  # the job sets bf16 itself (hyper.bf16), as on the workstation
              "num_machines": topology.num_machines, "num_processes": topology.num_processes, "machine_rank": 0,
              "main_training_function": "main", "same_network": True, "rdzv_backend": "static",
              "use_cpu": False, "debug": False}
    if topology.name != "single":
        fields["gpu_ids"] = "all"
    if topology.num_machines > 1:
        fields["main_process_port"] = topology.main_process_port
        if topology.main_process_ip:
            fields["main_process_ip"] = topology.main_process_ip
    nested = {}
    if topology.name == "deepspeed-zero3":
        nested["deepspeed_config"] = {"deepspeed_config_file": DEEPSPEED_CONFIG, "zero3_init_flag": True,
                                      **({"deepspeed_multinode_launcher": "standard"}
                                         if topology.num_machines > 1 else {})}
    if topology.name == "fsdp":
        nested["fsdp_config"] = FSDP
    lines = [f"# accelerate launch --config_file {ACCELERATE_CONFIG} (topology {topology.name}); written by PrefDesk"]
    lines += [f"{k}: {_yaml_value(v)}" for k, v in fields.items()]
    for key, block in nested.items():
        lines.append(f"{key}:")
        lines += [f"  {k}: {_yaml_value(v)}" for k, v in block.items()]
    return "\n".join(lines) + "\n"


def deepspeed_config() -> str:
    return json.dumps(ZERO3, indent=2) + "\n"


_ENV = 'export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 ' \
       'TOKENIZERS_PARALLELISM=false'
JOB = ["-m", "training", "run", "job.json"]
OUTPUT = f">> {RUN}/events.jsonl 2>> {RUN}/job.log"  # rank 0 alone writes events; each launch appends to the stream


def launcher_script(topology: Topology) -> str:
    """`bash run.sh` on one machine (each machine of a multi-node run without SLURM, MACHINE_RANK=0, 1, ...)."""
    launch = ['"${PYTHON:-python3}"', "-m", "accelerate.commands.launch", "--config_file", ACCELERATE_CONFIG,
              "--machine_rank", '"${MACHINE_RANK:-0}"']
    if topology.num_machines > 1:
        launch += ["--main_process_ip", '"${MAIN_PROCESS_IP:?name the first machine: MAIN_PROCESS_IP=host bash run.sh}"']
    return "\n".join([
        "#!/usr/bin/env bash",
        "# Train this bundle on this machine: bash run.sh. PYTHON names the training runtime's Python (python3 by",
        "# default); on a SLURM cluster use sbatch slurm.sbatch instead. The run lands in run/.",
        "set -euo pipefail",
        'cd "$(dirname "$0")"',
        _ENV,
        f"mkdir -p {RUN}",
        "echo '{\"event\": \"launched\", \"time\": '\"$(date +%s)\"', \"resumed\": false}' >> " f"{RUN}/events.jsonl",
        " ".join([*launch, *JOB, OUTPUT]),
        "",
    ])


def slurm_script(topology: Topology, job_name: str) -> str:
    """`sbatch slurm.sbatch` from inside the bundle: one task a node, each `accelerate launch` starting that node's
    processes, ranked by torchrun's c10d rendezvous on the first node (accelerate's own SLURM recipe)."""
    per_node = topology.per_machine
    launch = ["srun", "--kill-on-bad-exit=1", "accelerate", "launch", "--config_file", ACCELERATE_CONFIG,
              "--num_machines", '"$SLURM_NNODES"', "--num_processes", f'"$((SLURM_NNODES * {per_node}))"',
              "--main_process_ip", '"$MAIN_PROCESS_IP"', "--main_process_port", str(topology.main_process_port),
              "--rdzv_backend", "c10d", *JOB, OUTPUT]
    return "\n".join([
        "#!/bin/bash",
        f"#SBATCH --job-name={shlex.quote(job_name)}",
        f"#SBATCH --nodes={topology.num_machines}",
        "#SBATCH --ntasks-per-node=1",
        f"#SBATCH --gpus-per-node={per_node}",
        f"#SBATCH --output={RUN}/slurm-%j.out",
        "# Submit from inside the bundle: cd BUNDLE && sbatch slurm.sbatch. Activate the training runtime first",
        "# (pip install -r requirements.txt into a venv, or your site's module), here or in your ~/.bashrc.",
        "set -euo pipefail",
        'cd "${SLURM_SUBMIT_DIR:-.}"',
        _ENV,
        'MAIN_PROCESS_IP=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
        f"mkdir -p {RUN}",
        "echo '{\"event\": \"launched\", \"time\": '\"$(date +%s)\"', \"resumed\": false}' >> " f"{RUN}/events.jsonl",
        " ".join(launch),
        "",
    ])
