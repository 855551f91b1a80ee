"""`prefdesk train | runs | score | queue | quality`: the commands that run a job on the project's labels or read
what the labels say of the raters and the model (the other groups: `prefdesk.cli`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from prefdesk.jobs.progress import ProgressPrinter
from training.protocol import RunStatus  # stdlib only: the job contract


def cmd_train(args: argparse.Namespace) -> int:
    """Run a training job on the project's labels (frozen into a snapshot), record it, print its report."""
    from prefdesk.jobs import train
    from prefdesk.store.project import Project

    if args.bundle:
        return _bundle(args)
    progress = ProgressPrinter("steps", quiet=args.quiet)

    from prefdesk.jobs.runtime import training_command

    training_command(args.python)  # no runtime: say how to get one before anything is recorded
    with Project.open(args.project) as project:
        run_id, spec = train.prepare(project, args.kind, base_model=args.base_model, epochs=args.epochs,
                                     device=args.device, aggregate=args.aggregate, version=args.version,
                                     hyper=json.loads(args.hyper) if args.hyper else None,
                                     test_fraction=args.test_fraction)
        print(f"run {run_id}: {args.kind}, spec {spec}", file=sys.stderr)
        done = train.run(project, run_id, spec, progress, python=args.python)
    print(json.dumps(done.as_json(), indent=2))
    if done.status != RunStatus.FINISHED:
        print(f"prefdesk: run {run_id} {done.status.value}: {done.report.get('error') if done.report else ''}\n"
              f"hint: {done.report.get('hint') if done.report else ''}", file=sys.stderr)
        return 1
    return 0


def add_bundle_arguments(p: argparse.ArgumentParser) -> None:
    """`prefdesk train --bundle DIR`: the job as a folder to train on another machine (`jobs.bundle`)."""
    from prefdesk.jobs.topology import TOPOLOGIES

    p.add_argument("--bundle", metavar="DIR", help="write the job as a self-contained folder for another machine or a "
                                                  "cluster (no training here); bring the run back: prefdesk runs import DIR")
    p.add_argument("--topology", default="single", choices=TOPOLOGIES, help="where the bundle trains (default: single)")
    p.add_argument("--num-machines", type=int, default=1, metavar="N", help="machines (nodes) of the bundle's run")
    p.add_argument("--num-processes", type=int, metavar="N",
                   help="processes on all machines together, one a GPU (default: 1 for single, else 8 a machine)")
    p.add_argument("--main-process-ip", metavar="HOST", help="the first machine (multi-node without SLURM)")
    p.add_argument("--main-process-port", type=int, default=29500, metavar="PORT")
    p.add_argument("--base-model-at", metavar="PATH", help="the base model's folder on the other machine (else "
                                                          "--base-model is copied into the bundle)")


def _bundle(args: argparse.Namespace) -> int:
    from prefdesk.jobs.bundle import write_bundle
    from prefdesk.jobs.topology import Topology
    from prefdesk.store.project import Project

    processes = args.num_processes or (1 if args.topology == "single" else 8 * args.num_machines)
    topology = Topology(args.topology, args.num_machines, processes, args.main_process_ip, args.main_process_port)
    with Project.open(args.project) as project:
        done = write_bundle(project, args.kind, Path(args.bundle), topology, base_model=args.base_model,
                            base_model_at=args.base_model_at, epochs=args.epochs, device=args.device,
                            aggregate=args.aggregate, version=args.version, test_fraction=args.test_fraction,
                            hyper=json.loads(args.hyper) if args.hyper else None)
    print(json.dumps({"run": done.run_id, "status": "bundled", "bundle": str(done.folder), "rows": done.rows,
                      "topology": topology.as_json(), "snapshot_sha256": done.snapshot_sha256}, indent=2))
    print(f"run {done.run_id} bundled: train it with `bash {done.folder}/run.sh` or `cd {done.folder} && sbatch "
          f"slurm.sbatch`, then `prefdesk runs import {done.folder} -p {args.project}`", file=sys.stderr)
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from prefdesk.store.project import Project
    from prefdesk.store.runs import runs

    from prefdesk.jobs.watch import settle_running_runs

    if args.action == "import":
        if not args.folder:
            raise ValueError("runs import: name the bundle's folder (prefdesk runs import DIR -p P)")
        from prefdesk.jobs.bundle import import_run

        with Project.open(args.project) as project:
            done = import_run(project, Path(args.folder))
        print(json.dumps(done.run.as_json(), indent=2))
        if done.code_changed:
            print(f"prefdesk: warning: the training code in {args.folder}/training is not the code bundled (edited "
                  "there?); recorded as training_code_changed", file=sys.stderr)
        return 0

    with Project.open(args.project) as project:
        settle_running_runs(project)  # runs whose job ended (or was killed) since anyone looked
        listed = [r.as_json() for r in runs(project)]
    if args.json:
        print(json.dumps(listed, indent=2))
    for r in [] if args.json else listed:
        accuracy = r["report"].get("accuracy")
        print(f"{r['id']}  {r['kind']:<11} {r['status']:<9} {r['started_at']}  "
              f"accuracy {accuracy:.3f}" if isinstance(accuracy, float) else f"{r['id']}  {r['kind']:<11} {r['status']}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from prefdesk.jobs import train
    from prefdesk.store.project import Project

    progress = ProgressPrinter("candidates", quiet=args.quiet)

    with Project.open(args.project) as project:
        scored = train.score(project, args.run, python=args.python, unlabelled_only=args.unlabelled, on_event=progress)
    print(f"{scored.summary()} with run {args.run}")
    return 0


def cmd_quality(args: argparse.Namespace) -> int:
    from prefdesk.quality.report import quality_report
    from prefdesk.store.project import Project

    with Project.open(args.project) as project:
        report = quality_report(project)
        if args.html:
            from prefdesk.jobs.report import pareto_by_version
            from prefdesk.quality.html import quality_html

            Path(args.html).write_text(quality_html(report, f"Label quality — {Path(args.project).name}",
                                                    pareto_by_version(project)), encoding="utf-8")
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    agreement = report["agreement"]
    fmt = lambda v: "–" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    print(f"{report['labels']} pairwise labels on {report['items_labelled']} items; {report['disputed_items']} disputed; "
          f"agreement {fmt(agreement['percent'])}, Fleiss kappa {fmt(agreement['fleiss_kappa'])}, "
          f"Krippendorff alpha {fmt(agreement['krippendorff_alpha'])}, flip rate {fmt(report['flip_rate'])}")
    steps = report["step_agreement"]
    if steps["units"]:
        turns = ", ".join(f"{t}: {fmt(f['percent'])}" for t, f in steps["by_turn"].items())
        print(f"process steps and conversation turns: {steps['units']} rated by 2+ people on {steps['items']} items, "
              f"agreement {fmt(steps['percent'])}, ordinal alpha {fmt(steps['ordinal_alpha'])}; by turn {turns}")
    spans = report["span_agreement"]
    if spans["spans"]:
        labels = ", ".join(f"{k} {v}" for k, v in spans["by_label"].items())
        print(f"marked spans: {spans['spans']} ({labels}); overlap F1 between raters {fmt(spans['overlap_f1'])} "
              f"over {spans['pairs']} answer pairs")
    if report["double_votes"]:
        from prefdesk.store.votes import doubles_text

        print(doubles_text(report["double_votes"], most=5))
    arbitration = report["arbitration"]
    print(f"{arbitration['waiting']} items wait for arbitration ({arbitration['high_risk']} high-risk, "
          f"{arbitration['gold_misses']} gold misses); {arbitration['decided']} decided")
    print(f"{'rater':<16}{'labels':>7}{'gold':>7}{'est.':>7}{'agree':>7}{'left':>7}{'longer':>8}{'flip':>7}  flags")
    for name, r in report["raters"].items():
        flags = ", ".join(f for f, on in (("position bias", r["position_bias"]), ("length bias", r["length_bias"])) if on)
        print(f"{name:<16}{r['labels']:>7}{fmt(r['gold_accuracy']):>7}{fmt(r['estimated_accuracy']):>7}"
              f"{fmt(r['agreement_with_consensus']):>7}{fmt(r['left_rate']):>7}{fmt(r['longer_rate']):>8}"
              f"{fmt(r['flip_rate']):>7}  {flags}")
    return 0


def cmd_queue(args: argparse.Namespace) -> int:
    from prefdesk.quality.model_queue import queue_in_order
    from prefdesk.store.project import Project

    with Project.open(args.project) as project:
        entries = queue_in_order(project, args.rater, args.order, args.limit, args.run)
    if args.json:
        print(json.dumps([e.as_json() for e in entries], indent=2, ensure_ascii=False))
    else:
        for e in entries:
            print(f"{e.item_id}  {e.key if e.key is not None else '':<10}  {e.prompt[:70]!r}")
    return 0


def add_commands(command, sub) -> None:
    from prefdesk.domain.policies import POLICY_NAMES
    from prefdesk.jobs import KINDS as JOB_KINDS
    from prefdesk.quality.model_queue import ORDERS
    from training.protocol import DEVICES

    p = command("train", cmd_train, "train a reward model, DPO or PRM on the project's labels; records the run")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr (the result still on stdout)")
    p.add_argument("--kind", required=True, choices=JOB_KINDS)
    p.add_argument("--base-model", help="a local model folder (reward/prm default: the bundled MiniLM encoder)")
    p.add_argument("--epochs", type=float)
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--aggregate", default="majority", choices=POLICY_NAMES)
    p.add_argument("--version", help="train on exactly this dataset version (with its own aggregation)")
    p.add_argument("--hyper", help="more hyperparameters as JSON, e.g. '{\"max_steps\": 50}'")
    p.add_argument("--test-fraction", type=float, default=0.0, metavar="F",
                   help="hold out this share of the prompts as the dataset's test split (the run is evaluated on it)")
    p.add_argument("--python", help="the Python of the training runtime (default: this one, if it has torch)")
    add_bundle_arguments(p)
    p = command("runs", cmd_runs, "the project's training runs; `runs import DIR` brings a bundle's finished run back")
    p.add_argument("action", nargs="?", choices=["list", "import"], default="list")
    p.add_argument("folder", nargs="?", help="runs import: the bundle's folder")
    p.add_argument("--json", action="store_true")
    p = command("score", cmd_score, "store a reward run's score for every candidate")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr (the result still on stdout)")
    p.add_argument("--run", required=True)
    p.add_argument("--unlabelled", action="store_true", help="only items nobody labelled yet")
    p.add_argument("--python", help="the Python of the training runtime")
    p = command("queue", cmd_queue, "a rater's next items in an order (uncertain, disagreement use scores)")
    p.add_argument("--rater", required=True)
    p.add_argument("--order", default="default", choices=ORDERS)
    p.add_argument("--limit", type=int)
    p.add_argument("--run", help="the scored run (default: the newest one with scores)")
    p.add_argument("--json", action="store_true")
    p = command("quality", cmd_quality, "agreement, gold accuracy, estimated rater accuracy, position and length bias, flips")
    p.add_argument("--json", action="store_true")
    p.add_argument("--html", metavar="FILE", help="also write the report as a self-contained HTML page")
