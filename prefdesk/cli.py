"""`prefdesk`: headless commands over the project file, and the way into the desk.

    prefdesk new P | import FILE -p P [--format F] [--skip-bad] [--map T=COL,...] [--labels-as reference|votes]
                                      [--set-meta FIELD=VALUE ...]
    prefdesk export -p P --format F --out DIR [--aggregate POLICY | --version NAME] [--conversational]
                    [--test-fraction F] [--parquet]
    prefdesk version create -p P NAME [--parent V] [--aggregate POLICY] [--where K=V,...] [--layer L=W ...] [--quota B=N ...]
    prefdesk version list -p P [--json]      prefdesk version diff -p P A B [--json]
    prefdesk split -p P --raters ana,ben [--overlap K] [--where K=V,...] [--relabel] --out DIR
    prefdesk merge -p LEAD FILE... [--json]     prefdesk check -p P [--repair [--by NAME]] [--json]
    prefdesk items set -p P [--where K=V,...] [--by NAME] FIELD=VALUE...
    prefdesk prompts import FILE -p P [--skip-bad]     prefdesk prompts list -p P [--json]     prefdesk rules run -p P
    prefdesk generate -p P --model DIR (--prompts FILE | --from-pool [--sample N --by F --quota V=N]) [--n 2]
                      [--temperature T --top-p P --max-new-tokens K --seed S] [--pair random|spread|closest --run R]
    prefdesk evalset create -p P NAME (--prompts FILE | --from-pool [--sample N --by F --quota V=N]) [--drop-overlap]
    prefdesk evalset list -p P [--json]
    prefdesk evaluate -p P --policy DIR|RUN --reference DIR --evalset NAME --judge RUN [--json]
    prefdesk stats -p P [--json]     prefdesk --version
    prefdesk config -p P [--set KEY=JSON ...] [--guidelines FILE.md --guideline-version V]
    prefdesk [-p P] [--rater NAME]   opens the desk (the last project, or the demo)
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from prefdesk import __version__



def _progress(desc: str):
    """A byte-based progress bar on stderr (silent when stderr is not a terminal)."""
    from tqdm import tqdm

    bar = tqdm(total=0, unit="B", unit_scale=True, desc=desc, disable=not sys.stderr.isatty(), leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return bar, update


def cmd_new(args: argparse.Namespace) -> int:
    from prefdesk.store.project import Project

    Project.create(args.project).close()
    print(f"created {args.project}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from prefdesk.formats.errors import ImportRefused
    from prefdesk.formats.importer import import_file, parse_mapping
    from prefdesk.store.item_meta import parse_assignments
    from prefdesk.store.project import Project

    mapping = parse_mapping(args.map)
    if args.format is None and mapping is None:
        from prefdesk.feedback.importer import source_of

        if source_of(args.file) is not None:  # a tool's feedback export: `prefdesk feedback import`'s
            from prefdesk.cli_feedback import cmd_feedback

            return cmd_feedback(argparse.Namespace(action="import", project=args.project, file=args.file, source=None,
                                                   skip_bad=args.skip_bad))
    with Project.open(args.project) as project:
        bar, update = _progress(Path(args.file).name)
        try:
            report = import_file(project, args.file, args.format, args.skip_bad, mapping, update,
                                 labels_as=args.labels_as, set_meta=parse_assignments(args.set_meta) if args.set_meta else None)
        except ImportRefused as exc:
            bar.close()
            print(exc.describe(), file=sys.stderr)
            return 2
        bar.close()
    print(report.summary())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from prefdesk.formats.export import export_dataset
    from prefdesk.quality.aggregate import export_policy
    from prefdesk.store import versions
    from prefdesk.store.project import Project

    with Project.open(args.project) as project:
        version = versions.get(project, args.version) if args.version else None
        policy = export_policy(project, version, args.aggregate)
        try:
            report = export_dataset(project, args.format, args.out, policy, args.conversational, version=version,
                                    test_fraction=args.test_fraction, parquet=args.parquet)
        except ValueError as exc:
            print(f"export: {exc}", file=sys.stderr)
            return 2
    print(report.summary())
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    from prefdesk.store import versions
    from prefdesk.store.project import Project

    with Project.open(args.project) as project:
        if args.action == "create":
            from prefdesk.quality.reliability import frozen_decisions

            version = versions.create(project, args.name, parent=args.parent, aggregate=args.aggregate,
                                      decide=lambda v: frozen_decisions(project, v),
                                      filters=versions.parse_filters(args.where), layers=versions.parse_layers(args.layer),
                                      quotas=versions.parse_quotas(args.quota))
            out = version.manifest
            text = (f"version {version.name}: {out['labels']} labels on {out['items']} items frozen "
                    f"(aggregate {version.aggregate}; sha256 of the label ids {out['labels_sha256'][:12]}…)")
        elif args.action == "list":
            out = versions.listing(project)
            text = "\n".join(f"{v['name']:<16} {v['created_at']}  {v['labels']:>8} labels  {v['items']:>8} items  "
                              f"{v['aggregate']}" + (f"  (from {v['parent']})" if v["parent"] else "") for v in out) \
                or "no versions yet"
        else:
            from prefdesk.formats import version_verdicts

            out = version_verdicts.diff(project, args.a, args.b)
            text = version_verdicts.diff_text(out)
    print(json.dumps(out, indent=2) if args.json else text)
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    from prefdesk.store import team
    from prefdesk.store.project import Project
    from prefdesk.store.versions import parse_filters

    with Project.open(args.project) as project:
        files = team.split(project, args.raters.split(","), args.out, args.overlap, parse_filters(args.where),
                           relabel=args.relabel)
    for f in files:
        again = f" (+ {f['relabel_items']} to re-label)" if args.relabel else ""
        print(f"{f['path']}: {f['items']} items for {f['rater']} (+ {f['gold_items']} gold){again}")
    return 0


def cmd_items(args: argparse.Namespace) -> int:
    """`prefdesk items set`: metadata on every item matching --where, each change recorded."""
    from prefdesk.store import item_meta
    from prefdesk.store.project import Project

    changes = item_meta.parse_assignments(args.assignments)
    with Project.open(args.project) as project:
        ids = item_meta.item_ids_where(project, args.where)
        changed = item_meta.set_meta(project, ids, changes, by=args.by or getpass.getuser())
    shown = ", ".join(f"{k}={'-' if v is None else v}" for k, v in changes.items())
    print(f"{changed} items changed ({shown})")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from prefdesk.store.merge import merge, merge_summary
    from prefdesk.store.project import Project

    with Project.open(args.project) as project:
        out = merge(project, args.files)
    print(json.dumps(out, indent=2) if args.json else f"merged {len(out['files'])} file(s): {merge_summary(out)}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from prefdesk.store.project import Project
    from prefdesk.store.stats import project_stats

    with Project.open(args.project) as project:
        stats = project_stats(project)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"items: {sum(stats['items'].values())} ({', '.join(f'{k} {v}' for k, v in stats['items'].items())}); gold {stats['gold_items']}")
    print("labels by source: " + (", ".join(f"{k} {v}" for k, v in stats["labels_by_source"].items()) or "none"))
    print("labels by rater:  " + (", ".join(f"{k} {v}" for k, v in stats["labels_by_rater"].items()) or "none"))
    print(f"superseded labels: {stats['superseded_labels']}; flagged items: {stats['flagged_items']}")
    print(f"items short of overlap ({stats['overlap_target']} raters): {stats['items_short_of_overlap']}; "
          f"over it: {stats['items_over_overlap']}")
    gen = stats["generation"]
    if gen["runs"]:
        unfit = ", ".join(f"{n} {why}" for why, n in gen["unfit_prompts"].items()) or "none"
        print(f"generation: {gen['runs']} runs, {gen['resampled']} answers resampled; prompts held back: "
              f"{gen['duplicate_prompts']} near-duplicate, {unfit}")
    if stats["double_votes"]:
        print(f"double votes: {stats['double_votes']} (a rater with two current votes on an item; prefdesk check)")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Print the settings as JSON, or check and store changes (all of them or none)."""
    from prefdesk.domain.settings import SettingError
    from prefdesk.store.project import Project

    changes = {}
    for pair in args.set or []:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise SettingError(pair, "expected KEY=JSON, e.g. overlap=3 or 'dimensions=[\"helpfulness\"]'")
        if key.strip() in changes:
            raise SettingError(key.strip(), "set twice in one command; give each setting once")
        try:
            changes[key.strip()] = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SettingError(key.strip(), f"the value is not JSON ({exc.msg}); quote text: 'scale_anchors={{\"1\": \"bad\"}}'")
    if bool(args.guidelines) != bool(args.guideline_version):
        raise SettingError("guideline_version", "give both: --guidelines FILE.md --guideline-version V")
    text = Path(args.guidelines).read_text(encoding="utf-8") if args.guidelines else None
    with Project.open(args.project) as project:
        with project.transaction():
            if changes:
                project.set_settings(changes)
            if text is not None:
                project.set_guidelines(args.guideline_version, text)
        version, guidelines = project.guidelines()
        out = {**project.settings, "guideline_version": version, "guidelines": guidelines,
               "guideline_versions": project.guideline_versions()}
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from prefdesk.cli_check import add_check_command
    from prefdesk.cli_feedback import add_feedback_command
    from prefdesk.cli_rm_eval import add_rm_eval_command
    from prefdesk.cli_raters import add_raters_command
    from prefdesk.cli_jobs import add_bundle_arguments, cmd_quality, cmd_queue, cmd_runs, cmd_score, cmd_train
    from prefdesk.formats.export_rows import EXPORT_FORMATS
    from prefdesk.jobs import KINDS as JOB_KINDS
    from prefdesk.domain.policies import POLICY_NAMES
    from prefdesk.quality.model_queue import ORDERS
    from training.protocol import DEVICES

    parser = argparse.ArgumentParser(prog="prefdesk", description="Collect and use LLM preference data.")
    parser.add_argument("--version", action="version", version=f"prefdesk {__version__}")
    parser.add_argument("-p", "--project", help="project file (*.prefdesk)")
    parser.add_argument("--rater", help="open the desk as this rater (created if new)")
    parser.add_argument("--smoke-test", action="store_true",
                        help="open the demo project offscreen, commit one label through the window, quit")
    sub = parser.add_subparsers(dest="command")

    def command(name: str, func, help: str, project: bool = True) -> argparse.ArgumentParser:
        """A subcommand on a project file (`-p P`), run by `func`."""
        p = sub.add_parser(name, help=help)
        if project:
            p.add_argument("-p", "--project", required=True)
        p.set_defaults(func=func)
        return p

    p = command("new", cmd_new, "create an empty project", project=False)
    p.add_argument("project")
    p = command("import", cmd_import, "import a file (JSONL, JSON, CSV, Parquet)")
    p.add_argument("file")
    p.add_argument("--format", help="name the format instead of detecting it")
    p.add_argument("--skip-bad", action="store_true", help="import the good records; write the rejects beside the file")
    p.add_argument("--map", help="column mapping TARGET=COLUMN,... (CSV, Parquet, JSONL)")
    p.add_argument("--set-meta", action="append", metavar="FIELD=VALUE", default=[],
                   help="metadata for every item of the file, e.g. risk_level=high (scenario, risk_level, bucket, "
                        "priority); recorded as edits")
    p.add_argument("--labels-as", choices=["reference", "votes"],
                   help="the file's own labels: a reference the team is compared with (default for public datasets: "
                        "HH-RLHF, TRL, UltraFeedback, HelpSteer2, PRM800K) or votes of a team member (default for "
                        "PrefDesk's seed and labels files)")
    p = command("export", cmd_export, "export current labels for training")
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    p.add_argument("--out", required=True)
    p.add_argument("--aggregate", choices=POLICY_NAMES, help="default: majority (a version: its own)")
    p.add_argument("--version", help="export exactly this frozen version (the same files whenever it runs)")
    p.add_argument("--conversational", action="store_true", help="prompt and responses as message lists")
    p.add_argument("--test-fraction", type=float, default=0.0, metavar="F",
                   help="hold out this share of the prompts as a test split (no prompt in both)")
    p.add_argument("--parquet", action="store_true", help="a Parquet copy of each split beside its JSONL")
    p = sub.add_parser("version", help="frozen dataset versions: create, list, diff")
    actions = p.add_subparsers(dest="action", required=True)
    for action, help_text, names in (("create", "freeze the current labels as a version", ["name"]),
                                     ("list", "every version, oldest first", []),
                                     ("diff", "what changed from version A to version B", ["a", "b"])):
        a = actions.add_parser(action, help=help_text)
        a.add_argument("-p", "--project", required=True)
        for name in names:
            a.add_argument(name)
        a.add_argument("--json", action="store_true")
        a.set_defaults(func=cmd_version)
        if action == "create":
            a.add_argument("--parent")
            a.add_argument("--aggregate", default="majority", choices=POLICY_NAMES)
            a.add_argument("--where", help="scenario=...,risk_level=...,bucket=... (VALUE|VALUE for several)")
            a.add_argument("--layer", nargs="+", metavar="LAYER=WEIGHT",
                           help="gold|expert|main|weak|online=WEIGHT (0 leaves the layer out)")
            a.add_argument("--quota", nargs="+", metavar="BUCKET=N", help="at most N items of a bucket")
    p = command("split", cmd_split, "one project file per rater, with the items assigned to them")
    p.add_argument("--raters", required=True, help="ana,ben,...")
    p.add_argument("--overlap", type=int, default=1, help="raters per item (gold items go to all)")
    p.add_argument("--where", help="scenario=...,risk_level=...,bucket=...")
    p.add_argument("--out", required=True, help="the folder for NAME.prefdesk files")
    p.add_argument("--relabel", action="store_true",
                   help="also give each rater the items (matching --where) they voted on, to label again (a drift "
                        "check); on merge the new label supersedes their earlier one")
    p = command("items", cmd_items, "set item metadata in bulk: prefdesk items set -p P --where ... risk_level=high")
    p.add_argument("action", choices=["set"])
    p.add_argument("assignments", nargs="+", metavar="FIELD=VALUE",
                   help="scenario, risk_level, bucket (- clears), priority (a number), is_gold=0")
    p.add_argument("--where", help="kind=...,scenario=...,risk_level=...,bucket=...,source=... (the format, e.g. "
                                   "hh-rlhf, or the file name of unlabelled items); VALUE|VALUE; (none) for empty")
    p.add_argument("--by", help="who makes the edit (default: your login name)")
    p = command("merge", cmd_merge, "merge rater files into this project (one transaction, after a backup)")
    p.add_argument("files", nargs="+")
    p.add_argument("--json", action="store_true")
    add_check_command(command)
    p = command("config", cmd_config, "show the project settings as JSON, or change them")
    p.add_argument("--set", nargs="+", action="extend", metavar="KEY=JSON", help="e.g. overlap=3 'reason_tags=[\"too long\"]'")
    p.add_argument("--guidelines", metavar="FILE.md", help="add a guideline version from a Markdown file and put it in force")
    p.add_argument("--guideline-version", metavar="V", help="the name of that version")
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
    from prefdesk import cli_eval, cli_generate

    cli_generate.add_parsers(command, sub)
    add_raters_command(sub)
    add_feedback_command(sub)
    add_rm_eval_command(sub)
    cli_eval.add_parsers(sub)
    p = command("stats", cmd_stats, "counts of items and labels")
    p.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1 and argv[0].endswith(".prefdesk") and not argv[0].startswith("-"):
        argv = ["-p", argv[0]]  # `prefdesk FILE.prefdesk`: a file manager opening a project (the desktop entry)
    args = build_parser().parse_args(argv)
    if args.smoke_test:
        from prefdesk.ui.smoke import smoke_test

        return smoke_test()
    if args.command is None:
        from prefdesk.ui.app import run_desk  # Qt is loaded only when the desk opens

        # PREFDESK_RATER: who opens a project double-clicked on a one-person workstation (no rater dialog);
        # PREFDESK_QUIT_AFTER_MS: close the desk after that long (the installed package's check in CI)
        quit_after = os.environ.get("PREFDESK_QUIT_AFTER_MS")
        return run_desk(args.project, args.rater or os.environ.get("PREFDESK_RATER"),
                        int(quit_after) if quit_after else None)
    import sqlite3

    from prefdesk.store.project import ProjectError

    try:
        return args.func(args)
    except (ProjectError, ValueError, OSError, RuntimeError) as exc:
        print(f"prefdesk: {exc}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:  # a damaged file, a full disk outside a transaction: said, not a traceback
        print(f"prefdesk: {getattr(args, 'project', None) or 'the project'}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
