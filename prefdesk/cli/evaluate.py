"""`prefdesk evalset create | list` (frozen evaluation sets, kept apart from training), `prefdesk evaluate` (a
policy against its reference on one, judged by a reward run or an LLM judge, a blind arena, the HTML release
report) and `prefdesk leaderboard`: issue 21."""

from __future__ import annotations

import argparse
import json

from prefdesk.cli.common import key_values


def cmd_evalset(args: argparse.Namespace) -> int:
    from prefdesk.store import evalsets
    from prefdesk.store.project import Project, ProjectError

    with Project.open(args.project) as project:
        if args.action == "list":
            listed = [e.manifest | {"created_at": e.created_at} for e in evalsets.listing(project)]
            if args.json:
                print(json.dumps(listed, indent=2))
            for e in [] if args.json else listed:
                print(f"{e['name']}  {e['prompts']} prompts  {e['created_at'][:16]}  sha256 {e['sha256'][:12]}  "
                      f"buckets {json.dumps(e['by_bucket'])}")
            return 0
        if bool(args.prompts) == bool(args.from_pool):
            raise ProjectError("give --prompts FILE or --from-pool")
        prompts = _chosen(project, args)
        source = {"from": args.prompts or "pool", "sample": args.sample, "by": args.by, "quotas": args.quota or [],
                  "seed": args.seed}
        evalset, left_out = evalsets.create(project, args.name, prompts, source, drop_overlap=args.drop_overlap)
    print(f"eval set {evalset.name}: {len(evalset.prompt_ids)} prompts frozen, sha256 {evalset.sha256[:12]}"
          + (f"; {len(left_out)} training prompts left out" if left_out else ""))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from prefdesk.jobs.evaluate import evaluate
    from prefdesk.quality.arena import evaluation_report
    from prefdesk.jobs.progress import ProgressPrinter
    from prefdesk.store.project import Project, ProjectError

    with Project.open(args.project) as project:
        if args.show:
            report = evaluation_report(project, args.show)
        else:
            missing = [f"--{n}" for n in ("policy", "reference", "evalset") if not getattr(args, n)]
            if missing:
                raise ProjectError(f"evaluate needs {', '.join(missing)} (or --show RUN to read an evaluation back)")
            judge_args = {"template_name": args.judge_template, "samples": args.judge_samples,
                          "temperature": args.judge_temperature}
            report = evaluate(project, args.policy, args.reference, args.evalset, args.judge,
                              judge_model=args.judge_model, arena=args.arena, temperature=args.temperature,
                              top_p=args.top_p, max_new_tokens=args.max_new_tokens, seed=args.seed,
                              device=args.device, python=args.python, judge_args=judge_args,
                              on_event=ProgressPrinter("steps", quiet=args.quiet))
        if args.html:
            _write_html(project, report["run"], args.html)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"policy {report['policy']} against reference {report['reference']} on eval set {report['evalset']}, "
          f"judged by {report['judge']} (run {report['run']})")
    for name in ["REGRESSION: " + r for r in report["regressions"]]:
        print(name)
    for dim, groups in report["results"].items():
        for where, s in groups.items():
            lc = s.get("length_controlled_win_rate")
            print(f"{dim:<14} {where:<28} n={s['n']:<4} win {s['win_rate']:.3f} [{s['interval'][0]:.3f}, "
                  f"{s['interval'][1]:.3f}]  LC {'–' if lc is None else f'{lc:.3f}'}  length "
                  f"{s['mean_length']['policy']:.0f} vs {s['mean_length']['reference']:.0f}"
                  f"{'  REGRESSION' if s['regression'] else ''}")
    arena = report.get("arena")
    if arena:
        print(f"arena: {arena['items']} blind pairs" + (f", {arena['voted']} voted" if "voted" in arena else ""))
        for dim, v in arena.get("dims", {}).items():
            print(f"  people, {dim:<10} votes={v['votes']:<4} win {v['win_rate']:.3f} [{v['interval'][0]:.3f}, "
                  f"{v['interval'][1]:.3f}]{'  REGRESSION' if v['regression'] else ''}")
        if arena.get("judge_agreement", {}).get("pairs"):
            a = arena["judge_agreement"]
            print(f"  the judge agrees with people on {a['agreement']:.3f} of {a['pairs']} pairs"
                  + (f" (kappa {a['kappa']:.3f})" if "kappa" in a else ""))
        if arena.get("style_controlled"):
            sc = arena["style_controlled"]
            print(f"  people, at equal length and markdown (style control): win {sc['win_rate']:.3f} of {sc['votes']} "
                  f"votes; style {sc['style']}")
    if args.html:
        print(f"release report: {args.html}")
    return 0


def _write_html(project, run_id: str, path: str) -> None:
    from pathlib import Path

    from prefdesk.quality.leaderboard import leaderboard
    from prefdesk.quality.release import release_html
    from prefdesk.store.connection import refuse_project_file

    refuse_project_file(path, project.path)
    Path(path).write_text(release_html(project, run_id, leaderboard(project)), encoding="utf-8")


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from prefdesk.quality.leaderboard import leaderboard
    from prefdesk.store.project import Project

    with Project.open(args.project) as project:
        board = leaderboard(project, args.source)
    if args.json:
        print(json.dumps(board, indent=2))
        return 0
    if not board["models"]:
        print("fewer than two models evaluated: no leaderboard yet (prefdesk evaluate)")
        return 0
    dims = list(board["dims"])
    styled = board["style_controlled"].get("overall", {})
    print(f"{'model':<32}" + "".join(f"{d:>22}" for d in dims) + f"{'overall, style ctrl':>22}  Pareto")
    for m in board["models"]:
        cells = [f"{s[m['model']]['score']:.0f} [{s[m['model']]['low']:.0f}, {s[m['model']]['high']:.0f}]"
                 if m["model"] in s else "–" for s in (*board["dims"].values(), styled)]
        print(f"{m['name'][:31]:<32}" + "".join(f"{c:>22}" for c in cells) + f"  {'yes' if m['pareto'] else 'no'}")
    if "overall" in board["style"]:
        print(f"style: {board['style']['overall']} (Elo per unit of difference: length, markdown)")
    return 0


def _chosen(project, args: argparse.Namespace):
    from prefdesk.store import prompts as pool
    from prefdesk.store.versions import parse_quotas

    quotas = parse_quotas(args.quota)
    if args.prompts:
        from prefdesk.formats.prompts import read_prompts

        read, _ = read_prompts(args.prompts, project_path=project.path)
        pool.add(project, read, file=args.prompts)
        wanted = {p.content_hash for p in read}
        rows = [p for p in pool.pool(project) if p.content_hash in wanted]
        if args.sample is None and args.by is None:
            return rows
        drawn = pool.sample(project, args.sample, by=args.by, quotas=quotas, seed=args.seed, fresh_only=False,
                            for_training=False)
        return [p for p in drawn if p.content_hash in wanted]
    # from the pool: prompts no generation run has sampled (those may be training data already)
    return pool.sample(project, args.sample, by=args.by, quotas=quotas, seed=args.seed, fresh_only=True,
                       for_training=False)


def add_commands(command, sub) -> None:
    p = sub.add_parser("evalset", help="frozen evaluation sets of prompts, kept apart from training")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("create", help="freeze a set of prompts (a file, or a draw from the pool) under a name")
    a.add_argument("name")
    a.add_argument("-p", "--project", required=True)
    a.add_argument("--prompts", help="a prompt file (it joins the pool)")
    a.add_argument("--from-pool", action="store_true", help="draw from the pool's prompts no run has sampled")
    a.add_argument("--sample", type=int, help="how many prompts (default: all)")
    a.add_argument("--by", choices=["bucket", "scenario", "risk_level"], help="stratify the draw by this field")
    key_values(a, "--quota", "VALUE=N", "at most N prompts with this --by value")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--drop-overlap", action="store_true",
                   help="leave out prompts that are training prompts of a dataset version (else refused)")
    a.set_defaults(func=cmd_evalset)
    a = actions.add_parser("list", help="every eval set, oldest first")
    a.add_argument("-p", "--project", required=True)
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_evalset)
    p = sub.add_parser("evaluate", help="a policy against its reference on an eval set, judged by a reward run or "
                                        "an LLM judge; --show RUN reads one back")
    p.set_defaults(func=cmd_evaluate)
    p.add_argument("--quiet", action="store_true", help="no progress on stderr (the result still on stdout)")
    p.add_argument("-p", "--project", required=True)
    p.add_argument("--policy", help="a model folder, or a finished run of this project")
    p.add_argument("--reference", help="the model folder it started from")
    p.add_argument("--evalset")
    judge = p.add_mutually_exclusive_group()
    judge.add_argument("--judge", help="a finished reward run (per dimension too for a multi-head run)")
    judge.add_argument("--judge-model", help="an LLM judge's model folder, asked in both orders")
    p.add_argument("--judge-template", default="default", help="the LLM judge's template (prefdesk judge-template)")
    p.add_argument("--judge-samples", type=int, default=1, help="the LLM judge's readings per order")
    p.add_argument("--judge-temperature", type=float, default=0.0)
    p.add_argument("--arena", type=int, default=0, metavar="N", help="N blind pairs for people to judge in the desk")
    p.add_argument("--html", metavar="FILE", help="write the release report (one self-contained HTML page)")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cuda", "mps", "cpu"])
    p.add_argument("--python", help="the Python of the training runtime")
    p.add_argument("--json", action="store_true")
    p.add_argument("--show", metavar="RUN", help="read a finished evaluation back, with the arena's votes so far")
    p = sub.add_parser("leaderboard", help="every evaluated model: Bradley-Terry scores per dimension, Pareto front")
    p.add_argument("-p", "--project", required=True)
    p.add_argument("--source", choices=["all", "judge", "people"], default="all",
                   help="the comparisons to count: the judges', people's arena votes, or both")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_leaderboard)
