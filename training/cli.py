"""`python -m training run JOB | generate SPEC | judge SPEC | validate JOB | score MODEL_DIR IN.jsonl OUT.jsonl |
from-gguf FILE.gguf OUT`.

Multi-GPU: `accelerate launch -m training run JOB.json` runs the same entry; only rank 0 prints events.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

JOB_LOCK = "job.lock"  # beside the job spec; held while the job runs (the desk reads a run's liveness from it)
JOB_PID = "job.pid"  # written once the lock is held
LOCK_WAIT_S = 60
_lock_file = None


def _hold_job_lock(job: str) -> bool:
    """Hold an exclusive lock on JOB_LOCK for this process's life, then write JOB_PID: the kernel lets go of
    the lock however the process ends (kill -9 included), so a desk can tell a live job from a dead one."""
    global _lock_file
    try:
        import fcntl
    except ImportError:  # Windows: liveness is read from the process id instead
        Path(job).resolve().with_name(JOB_PID).write_text(str(os.getpid()))
        return True
    folder = Path(job).resolve().parent
    if folder.is_dir():
        _lock_file = open(folder / JOB_LOCK, "w")
        deadline = time.monotonic() + LOCK_WAIT_S  # a cancelled job of this run may still be exiting (resume)
        while True:
            try:
                fcntl.flock(_lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.2)
            except OSError:  # a network file system without locks (a cluster's NFS): liveness is the pid's alone
                break
        (folder / JOB_PID).write_text(str(os.getpid()))
    return True


def _lower_priority(nice: int) -> None:
    """Run at a lower CPU priority (the desk asks for it: its keys stay fast while a job trains). A job the
    desk starts detached is in a session of its own, and Linux's autogroup scheduler shares the CPU
    between sessions before it looks at nice values: so the session's group is niced too."""
    if nice <= 0:
        return
    os.nice(nice)
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(nice))
    except OSError:
        pass  # not Linux, or no autogroup: the process's own nice value is what counts


def _generate(job: str) -> int:
    """Run a generation job: 0 finished, 3 cancelled, 1 failed (after the matching event)."""
    import json
    import traceback

    from training.gen_spec import GenerateSpec
    from training.protocol import emit

    os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"})
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        spec, problems = GenerateSpec.from_dict(json.loads(Path(job).read_text()))
    except (OSError, ValueError) as exc:
        spec, problems = None, [f"{job}: cannot be read ({exc})"]
    if problems:
        emit("failed", error="; ".join(problems), hint="fix the generation spec")
        return 1
    from training.generate import run_generate

    try:
        return run_generate(spec)
    except Exception as exc:  # every failure reaches the desk as an event
        if type(exc).__name__ == "ServerError":  # training.openai_backend's: what the server did, said as it is
            emit("failed", error=str(exc), hint="the server did not answer as an OpenAI-compatible one should: check "
                                                "it (its log, its address, its model name) and run again")
            return 1
        traceback.print_exc()
        emit("failed", error=f"{type(exc).__name__}: {exc}", hint="see the log above")
        return 1


def _judge(job: str) -> int:
    import json
    import traceback

    from training.protocol import emit

    os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"})
    try:
        spec = json.loads(Path(job).read_text())
        from training.judge import run_judge

        return run_judge(spec)
    except Exception as exc:  # every failure reaches the desk as an event
        if type(exc).__name__ == "ServerError":  # what the judge's server did, said as it is
            emit("failed", error=str(exc), hint="check the judge's server (its log, its address, its model name)")
            return 1
        traceback.print_exc()
        emit("failed", error=f"{type(exc).__name__}: {exc}", hint="see the log above")
        return 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["from-gguf"]:  # a model folder from a GGUF file (training.from_gguf): its own arguments
        from training.from_gguf import main as from_gguf

        return from_gguf(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m training")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run a job; events on stdout")
    p.add_argument("job")
    p = sub.add_parser("generate", help="sample answers for prompts from a causal LM; events on stdout")
    p.add_argument("job")
    p = sub.add_parser("judge", help="an LLM judge over pairs, both orders, parsed strictly; events on stdout")
    p.add_argument("job")
    p = sub.add_parser("validate", help="check a job spec and its dataset without training")
    p.add_argument("job")
    sub.add_parser("from-gguf", help="a transformers model folder from a GGUF file (from-gguf --help)")
    p = sub.add_parser("score", help="score prompt/response rows with a trained reward model")
    p.add_argument("model_dir")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)

    from training.protocol import emit, is_main_process, load_spec, reserve_stdout_for_events

    if args.command in ("run", "score", "generate", "judge"):
        reserve_stdout_for_events()
    if args.command in ("run", "generate", "judge") and is_main_process():  # rank 0 holds it for all ranks
        if not _hold_job_lock(args.job):
            emit("failed", error=f"{args.job}: this run's job is still running after {LOCK_WAIT_S} s",
                 hint="cancel it first, or wait for it to end")
            return 1
        _lower_priority(int(os.environ.get("PREFDESK_JOB_NICE", "0")))

    if args.command == "score":
        from training.score import score_file

        n = score_file(args.model_dir, args.input, args.output, args.batch_size)
        print(f"scored {n} rows -> {args.output}", file=sys.stderr)
        return 0
    if args.command == "generate":
        return _generate(args.job)
    if args.command == "judge":
        return _judge(args.job)
    spec, problems = load_spec(args.job)
    if args.command == "validate":
        if spec is not None:
            from training.validate import dataset_problems

            problems = problems + dataset_problems(spec)
        for problem in problems:
            print(f"{args.job}: {problem}")
        if not problems:
            print(f"{args.job}: ok")
        return 1 if problems else 0
    if spec is None:
        emit("failed", error="; ".join(problems), hint="fix the job spec (python -m training validate JOB.json)")
        return 1
    from training.run import run_job

    return run_job(spec)
