"""`prefdesk import | export | items set`: files into the project, training folders out, item metadata in bulk."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from prefdesk.cli.common import key_values, progress


def cmd_import(args: argparse.Namespace) -> int:
    from prefdesk.formats.errors import ImportRefused
    from prefdesk.formats.importer import import_file, parse_mapping
    from prefdesk.store.item_meta import parse_assignments
    from prefdesk.store.project import Project

    mapping = parse_mapping(args.map)
    if args.format is None and mapping is None:
        from prefdesk.feedback.importer import source_of

        if source_of(args.file) is not None:  # a tool's feedback export: `prefdesk feedback import`'s
            from prefdesk.cli.feedback import cmd_feedback

            return cmd_feedback(argparse.Namespace(action="import", project=args.project, file=args.file, source=None,
                                                   skip_bad=args.skip_bad))
    with Project.open(args.project) as project:
        bar, update = progress(Path(args.file).name)
        try:
            set_meta = parse_assignments(args.set_meta, "--set-meta") if args.set_meta else None
            report = import_file(project, args.file, args.format, args.skip_bad, mapping, update,
                                 labels_as=args.labels_as, set_meta=set_meta)
        except ImportRefused as exc:
            bar.close()
            print(exc.describe(), file=sys.stderr)
            return 2
        bar.close()
    print(report.summary())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from prefdesk.formats.export import export_dataset
    from prefdesk.quality.export_policy import export_policy
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


def add_commands(command, sub) -> None:
    from prefdesk.domain.policies import POLICY_NAMES
    from prefdesk.formats.export_rows import EXPORT_FORMATS

    p = command("import", cmd_import, "import a file (JSONL, JSON, CSV, Parquet)")
    p.add_argument("file")
    p.add_argument("--format", help="name the format instead of detecting it")
    p.add_argument("--skip-bad", action="store_true", help="import the good records; write the rejects beside the file")
    key_values(p, "--map", "TARGET=COLUMN", "column mapping (CSV, Parquet, JSONL), e.g. prompt=question response_a=left")
    key_values(p, "--set-meta", "FIELD=VALUE", "metadata for every item of the file, e.g. risk_level=high (scenario, "
                                                "risk_level, bucket, priority); recorded as edits")
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
    p = command("items", cmd_items, "set item metadata in bulk: prefdesk items set risk_level=high -p P --where ...")
    p.add_argument("action", choices=["set"])
    # the changes come right after `set`, or after an option other than --where (it takes the words after it)
    p.add_argument("assignments", nargs="+", metavar="FIELD=VALUE",
                   help="scenario, risk_level, bucket (- clears), priority (a number), is_gold=0")
    key_values(p, "--where", "KEY=VALUE", "kind, scenario, risk_level, bucket, source (the format, e.g. hh-rlhf, or "
                                          "the file name of unlabelled items); VALUE|VALUE; (none) for empty")
    p.add_argument("--by", help="who makes the edit (default: your login name)")
