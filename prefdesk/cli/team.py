"""`prefdesk version | split | merge`: frozen dataset versions, work handed out to raters' files, and merged back."""

from __future__ import annotations

import argparse
import json

from prefdesk.cli.common import key_values


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


def cmd_merge(args: argparse.Namespace) -> int:
    from prefdesk.store.merge import merge, merge_summary
    from prefdesk.store.project import Project

    with Project.open(args.project) as project:
        out = merge(project, args.files)
    print(json.dumps(out, indent=2) if args.json else f"merged {len(out['files'])} file(s): {merge_summary(out)}")
    return 0


def add_commands(command, sub) -> None:
    from prefdesk.domain.policies import POLICY_NAMES

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
            key_values(a, "--where", "KEY=VALUE", "scenario, risk_level, bucket (VALUE|VALUE for several)")
            key_values(a, "--layer", "LAYER=WEIGHT", "gold|expert|main|weak|online=WEIGHT (0 leaves the layer out)")
            key_values(a, "--quota", "BUCKET=N", "at most N items of a bucket")
    p = command("split", cmd_split, "one project file per rater, with the items assigned to them")
    p.add_argument("--raters", required=True, help="ana,ben,...")
    p.add_argument("--overlap", type=int, default=1, help="raters per item (gold items go to all)")
    key_values(p, "--where", "KEY=VALUE", "scenario, risk_level, bucket (VALUE|VALUE for several)")
    p.add_argument("--out", required=True, help="the folder for NAME.prefdesk files")
    p.add_argument("--relabel", action="store_true",
                   help="also give each rater the items (matching --where) they voted on, to label again (a drift "
                        "check); on merge the new label supersedes their earlier one")
    p = command("merge", cmd_merge, "merge rater files into this project (one transaction, after a backup)")
    p.add_argument("files", nargs="+")
    p.add_argument("--json", action="store_true")
