"""`prefdesk COMMAND`: the headless commands over the project file, one module a group (`data`, `team`, `project`,
`check`, `jobs`, `generate`, `evaluate`, `rm_eval`, `raters`, `feedback`); this module only builds the parser
and runs a command. `prefdesk` alone opens the desk (`prefdesk.__main__`).

    prefdesk new P | import FILE -p P [--format F] [--skip-bad] [--map T=COL ...] [--labels-as reference|votes]
                                      [--set-meta FIELD=VALUE ...]
    prefdesk export -p P --format F --out DIR [--aggregate POLICY | --version NAME] [--conversational]
                    [--test-fraction F] [--parquet]
    prefdesk version create -p P NAME [--parent V] [--aggregate POLICY] [--where K=V ...] [--layer L=W ...] [--quota B=N ...]
    prefdesk version list -p P [--json]      prefdesk version diff -p P A B [--json]
    prefdesk split -p P --raters ana,ben [--overlap K] [--where K=V ...] [--relabel] --out DIR
    prefdesk merge -p LEAD FILE... [--json]     prefdesk check -p P [--repair [--by NAME]] [--json]
    prefdesk items set -p P [--where K=V ...] [--by NAME] FIELD=VALUE...
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
import sqlite3
import sys

from prefdesk import __version__


def build_parser() -> argparse.ArgumentParser:
    from prefdesk.cli import check, data, evaluate, feedback, generate, jobs, project, raters, rm_eval, team

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

    for group in (project, data, team, check, jobs, generate, raters, feedback, rm_eval, evaluate):
        group.add_commands(command, sub)
    return parser


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1 and argv[0].endswith(".prefdesk") and not argv[0].startswith("-"):
        argv = ["-p", argv[0]]  # `prefdesk FILE.prefdesk`: a file manager opening a project (the desktop entry)
    return build_parser().parse_args(argv)


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; a refusal is said on stderr (exit 2), not a traceback."""
    from prefdesk.store.errors import ProjectError

    if args.command is None:
        print("prefdesk: give a command (prefdesk --help); `prefdesk` alone opens the desk", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except (ProjectError, ValueError, OSError, RuntimeError) as exc:
        print(f"prefdesk: {exc}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:  # a damaged file, a full disk outside a transaction: said, not a traceback
        print(f"prefdesk: {getattr(args, 'project', None) or 'the project'}: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    """A headless command (`prefdesk.__main__.main` is the program: it also opens the desk)."""
    return run(parse(argv))


if __name__ == "__main__":
    sys.exit(main())
