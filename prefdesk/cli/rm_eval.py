"""`prefdesk rm-eval`: a trained reward model judged on the project's held-out decided pairs (`quality.rm_eval`).

    prefdesk rm-eval -p P --run RUN [--version V | --evalset NAME] [--threshold 0.7] [--json] [--html FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def cmd_rm_eval(args: argparse.Namespace) -> int:
    from prefdesk.jobs.rm_eval import rm_eval
    from prefdesk.quality.rm_eval_report import page, text
    from prefdesk.store.connection import refuse_project_file
    from prefdesk.store.project import Project

    with Project.open(args.project) as project:
        report = rm_eval(project, args.run, args.version, args.evalset, args.threshold, args.python)
        if args.html:
            refuse_project_file(args.html, project.path)
            Path(args.html).write_text(page(report), encoding="utf-8")
    print(json.dumps(report, indent=2) if args.json else text(report))
    return 0


def add_commands(command, sub) -> None:
    p = sub.add_parser("rm-eval", help="a reward run's accuracy on held-out decided pairs, per dimension, bucket, "
                                       "agreement level and length; best-of-4")
    p.add_argument("-p", "--project", required=True)
    p.add_argument("--run", required=True, help="a finished reward run")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--version", help="only the pairs of this dataset version")
    scope.add_argument("--evalset", help="only the pairs whose prompt is in this eval set")
    p.add_argument("--threshold", type=float, default=0.7, help="least share of votes for a majority to count")
    p.add_argument("--json", action="store_true")
    p.add_argument("--html", metavar="FILE", help="also write the report as one self-contained HTML page")
    p.add_argument("--python", help="the Python of the training runtime (scoring pairs not scored yet)")
    p.set_defaults(func=cmd_rm_eval)
