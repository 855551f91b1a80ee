"""`prefdesk raters`: who works in a project, in which role, and every change of a role or name.

    prefdesk raters list -p P [--json]                  raters, roles, levels, labels given
    prefdesk raters set-role NAME ROLE -p P [--by NAME]  annotator, reviewer or expert (recorded)
    prefdesk raters rename NAME NEW -p P [--by NAME]     their labels stay theirs (recorded)
    prefdesk raters history -p P [--json]               every change: who, when, from, to

`--by` is who makes the change (default: your login name). A reviewer or expert changes roles; while a project
has no lead, its owner names the first; an annotator never does (`domain.roles.role_change_refused`).
"""

from __future__ import annotations

import argparse
import getpass
import json

from prefdesk.domain.enums import RaterRole

ROLES = [RaterRole.ANNOTATOR.value, RaterRole.REVIEWER.value, RaterRole.EXPERT.value]


def cmd_raters(args: argparse.Namespace) -> int:
    from prefdesk.store.project import Project

    by = (args.by or getpass.getuser()) if hasattr(args, "by") else None
    with Project.open(args.project) as project:
        if args.action == "set-role":
            rater = project.set_role(args.name, args.role, by)
            print(f"{rater.name} is now {rater.role.value} (set by {by}; prefdesk raters history)")
        elif args.action == "rename":
            rater = project.rename_rater(args.name, args.new_name, by)
            print(f"{args.name} is now {rater.name} (renamed by {by}); their labels stay theirs")
        elif args.action == "history":
            changes = project.rater_changes()
            if args.json:
                print(json.dumps(changes, indent=2))
            for c in [] if args.json else changes:
                print(f"{c['at'][:19]}  {c['rater']}: {c['field']} {c['from']} -> {c['to']}  (by {c['by']})")
        else:
            counts = project.label_counts()
            rows = [{"name": r.name, "role": r.role.value, "level": r.level, "labels": counts.get(r.id, 0)}
                    for r in project.raters()]
            if args.json:
                print(json.dumps(rows, indent=2))
            for row in [] if args.json else rows:
                print(f"{row['name']:<20} {row['role']:<12} {row['level'] or '':<10} {row['labels']} labels")
    return 0


def add_commands(command, sub) -> None:
    p = sub.add_parser("raters", help="raters and their roles: list, set-role, rename, history")
    actions = p.add_subparsers(dest="action", required=True)
    for action, help_text, names in (("list", "every rater with role, level and labels given", []),
                                     ("set-role", "give a rater another role (recorded)", ["name", "role"]),
                                     ("rename", "rename a rater (recorded; the labels stay theirs)",
                                      ["name", "new_name"]),
                                     ("history", "every change of a role or name", [])):
        a = actions.add_parser(action, help=help_text)
        a.add_argument("-p", "--project", required=True)
        for name in names:
            a.add_argument(name, **({"choices": ROLES} if name == "role" else {}))
        if action in ("set-role", "rename"):
            a.add_argument("--by", help="who makes the change (default: your login name)")
        else:
            a.add_argument("--json", action="store_true")
        a.set_defaults(func=cmd_raters)
