"""`prefdesk check`: what the project file holds that breaks one of its rules, and the recorded repair.

    prefdesk check -p P [--json]                 double votes (a rater with two current votes on an item)
    prefdesk check -p P --repair [--by NAME]     keep each rater's later vote current; recorded, nothing deleted
"""

from __future__ import annotations

import argparse
import getpass
import json


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 when the project is sound (or was repaired), 1 when it holds double votes left unrepaired."""
    from prefdesk.store import votes
    from prefdesk.store.project import Project

    with Project.open(args.project) as project:
        doubles = votes.double_votes(project.conn)
        repaired = votes.repair_double_votes(project, args.by or getpass.getuser()) if args.repair and doubles else []
    out = {"double_votes": doubles, "repaired": len(repaired)}
    if args.json:
        print(json.dumps(out, indent=2))
    elif not doubles:
        print("no double votes: every rater holds at most one current vote per item and round")
    else:
        print(votes.doubles_text(doubles))
        if repaired:
            print(f"repaired {len(repaired)}: the later vote of each is current, the older ones recorded in "
                  "vote_repairs (by, when, the label kept)")
    return 0 if not doubles or repaired else 1


def add_commands(command, sub) -> None:
    """The `check` subcommand, made by the CLI's `command(name, func, help)`."""
    p = command("check", cmd_check, "find double votes (a rater with two current votes on an item); --repair mends them")
    p.add_argument("--repair", action="store_true", help="keep each rater's later vote current (recorded)")
    p.add_argument("--by", help="who makes the repair (default: your login name)")
    p.add_argument("--json", action="store_true")
