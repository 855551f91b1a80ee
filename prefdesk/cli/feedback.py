"""`prefdesk feedback`: online feedback in, its trends out, and its bad conversations back to the pool and to people.

    prefdesk feedback import FILE -p P [--source S] [--skip-bad]   Open WebUI, Langfuse, LangSmith, Arena / MT-Bench,
                                                                   OpenAssistant or PrefDesk events (detected)
    prefdesk feedback trends -p P [--per day|week] [--by model_version|model|bucket|scenario|tool|none]
                                  [--since DATE] [--json]           rates with 95% intervals and events per point
    prefdesk feedback backflow -p P [--where K=V,...] [--sample N] [--by bucket] [--seed S]
    prefdesk feedback summary -p P [--json]
"""

from __future__ import annotations

import argparse
import json
import sys

from prefdesk.cli.common import key_values


def _where(given: list[str]) -> dict[str, str]:
    from prefdesk.domain.key_values import pairs

    return dict(pairs(given, "--where", "FIELD=VALUE"))


def cmd_feedback(args: argparse.Namespace) -> int:
    from prefdesk.feedback import backflow, trends
    from prefdesk.feedback.importer import import_feedback
    from prefdesk.formats.errors import ImportRefused
    from prefdesk.store.project import Project

    with Project.open(args.project) as project:
        if args.action == "import":
            from pathlib import Path

            from prefdesk.cli.common import progress as _progress

            bar, update = _progress(Path(args.file).name)  # bytes, where workers convert a big file
            try:
                report = import_feedback(project, args.file, args.source, args.skip_bad, progress=update)
            except ImportRefused as exc:
                print(exc.describe(), file=sys.stderr)
                return 2
            finally:
                bar.close()
            print(report.summary())
        elif args.action == "trends":
            rows = trends.trends(project.conn, args.per, None if args.by == "none" else args.by, args.since)
            if args.json:
                print(json.dumps({"per": args.per, "by": args.by, "points": rows}, indent=2))
            for r in [] if args.json else rows:
                print(f"{r['period']}  {r['group']:<20} {r['events']:>7} events  " + "  ".join(
                    f"{name.replace('_', '-')} {_rate(r[name])}" for name in trends.RATES))
        elif args.action == "backflow":
            print(backflow.backflow(project, _where(args.where), args.sample, args.by, args.seed).summary())
        else:
            out = trends.summary(project.conn)
            if args.json:
                print(json.dumps(out, indent=2))
            else:
                print(f"{out['events']} events from {out['first']} to {out['last']}; {out['online_labels']} online labels")
                for row in out["by_tool"]:
                    print(f"  {row['tool']:<14} {row['signal']:<11} {row['events']}")
    return 0


def _rate(point: dict) -> str:
    if point["rate"] is None:
        return "-"
    return f"{point['rate']:.0%} [{point['low']:.0%}, {point['high']:.0%}] of {point['n']}"


def add_commands(command, sub) -> None:
    from prefdesk.feedback.sources import registry
    from prefdesk.feedback.trends import GROUPS

    p = sub.add_parser("feedback", help="online feedback: import, trends, backflow, summary")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("import", help="import a tool's feedback export (the tool is detected)")
    a.add_argument("file")
    a.add_argument("--source", choices=[s.name for s in registry()], help="name the tool instead of detecting it")
    a.add_argument("--skip-bad", action="store_true", help="import the good records; write the rejects beside the file")
    t = actions.add_parser("trends", help="thumbs-down, retry and handoff rates per day or week, with intervals")
    t.add_argument("--per", choices=["day", "week"], default="day")
    t.add_argument("--by", choices=[*GROUPS, "none"], default="model_version")
    t.add_argument("--since", help="only events from this date (ISO 8601)")
    t.add_argument("--json", action="store_true")
    b = actions.add_parser("backflow", help="conversations with negative or conflicting feedback into the prompt pool "
                                            "and, with their logged answer, into items for people")
    key_values(b, "--where", "FIELD=VALUE", "over tool, model, model_version, bucket, scenario, signal, since, until")
    b.add_argument("--sample", type=int, help="at most this many conversations (default: all)")
    b.add_argument("--by", choices=["bucket", "scenario", "model", "tool"], help="spread the sample evenly over these")
    b.add_argument("--seed", type=int, default=0)
    s = actions.add_parser("summary", help="events by tool and signal, and the online labels made of them")
    s.add_argument("--json", action="store_true")
    for x in (a, t, b, s):
        x.add_argument("-p", "--project", required=True)
        x.set_defaults(func=cmd_feedback)
