"""`prefdesk prompts import | list` and `prefdesk generate`: the front of the loop, from a prompt file or the pool
and the team's model to items with every sampling parameter recorded on each answer."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from prefdesk.cli.common import key_values
from prefdesk.jobs.progress import ProgressPrinter
from training.protocol import RunStatus  # stdlib only: the job contract


def cmd_prompts(args: argparse.Namespace) -> int:
    from prefdesk.store import prompts as pool
    from prefdesk.store.project import Project

    with Project.open(args.project) as project:
        if args.action == "import":
            from prefdesk.formats.errors import ImportRefused
            from prefdesk.formats.prompts import read_prompts

            try:
                read, skipped = read_prompts(args.file, skip_bad=args.skip_bad, project_path=project.path)
            except ImportRefused as exc:
                print(f"prefdesk: {exc.describe()}", file=sys.stderr)
                return 2
            added = pool.add(project, read, file=args.file)
            skipped_text = f", {len(skipped)} bad lines skipped" if skipped else ""
            print(f"{args.file}: {added.added} prompts added to the pool, {added.duplicates} already there{skipped_text}")
            for error in skipped[:20]:
                print(f"  {error}", file=sys.stderr)
            return 0
        rows = pool.pool(project)
        counts = pool.counts(project)
    by = Counter((p.bucket or "(none)") for p in rows)
    if args.json:
        print(json.dumps({**counts, "by_bucket": dict(by)}, indent=2))
    else:
        print(f"{counts['prompts']} prompts, {counts['not_generated']} not sampled by a run yet, "
              f"{counts['in_eval_sets']} in eval sets (never drawn for generation)")
        for bucket, n in sorted(by.items()):
            print(f"  {bucket}: {n}")
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    from prefdesk.quality.prefilter import run_rules
    from prefdesk.store.project import Project

    with Project.open(args.project) as project:
        report = run_rules(project)
    print(report.summary())
    return 0


def cmd_judge(args: argparse.Namespace) -> int:
    from prefdesk.jobs import judge
    from prefdesk.store.project import Project, ProjectError
    from prefdesk.store.versions import parse_filters

    progress = ProgressPrinter("readings", quiet=args.quiet)
    if bool(args.model) == bool(args.run):
        raise ProjectError("give --model DIR (an LLM judge) or --run RUN (a finished reward run)")
    with Project.open(args.project) as project:
        where = parse_filters(args.where)
        if args.run:
            report = judge.rm_judge(project, args.run, where, python=args.python)
        else:
            backend, url = _backend(args.backend)
            server = {"url": url, "allow_remote": args.allow_remote, **_server_options(args, backend)} \
                if backend == "openai" else None
            if backend == "vllm":
                raise ProjectError("--backend vllm: run vLLM's OpenAI-compatible server and use --backend openai URL")
            report = judge.llm_judge(project, args.model, template_name=args.template, samples=args.samples,
                                     temperature=args.temperature, where=where, seed=args.seed, device=args.device,
                                     python=args.python, on_event=progress, server=server)
    print(report.summary())
    return 0


def cmd_judge_template(args: argparse.Namespace) -> int:
    from pathlib import Path

    from prefdesk.jobs import judge
    from prefdesk.store.project import Project

    with Project.open(args.project) as project:
        if args.file:
            from prefdesk.store.connection import refuse_project_file

            refuse_project_file(args.file, project.path)
            judge.add_template(project, args.name, args.version, Path(args.file).read_text(encoding="utf-8"))
            print(f"judge template {args.name} {args.version} stored")
        else:
            version, text = judge.template(project, args.name)
            print(f"# {args.name} {version}\n{text}")
    return 0


def _backend(values: list[str]) -> tuple[str, str | None]:
    name, url = values[0], values[1] if len(values) > 1 else None
    if len(values) > 2 or (url and name != "openai"):
        raise ValueError("--backend: transformers, vllm, or openai URL")
    return name, url


def _server_options(args: argparse.Namespace, backend: str) -> dict:
    """--token-env and --timeout, for --backend openai only (the token's variable is named, the token never stored)."""
    if backend != "openai":
        if args.token_env or args.timeout is not None:
            raise ValueError("--token-env and --timeout go with --backend openai URL")
        return {}
    return {"token_env": args.token_env, **({"timeout_s": args.timeout} if args.timeout is not None else {})}


def add_server_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", nargs="+", default=["transformers"], metavar="NAME",
                   help="transformers (default), vllm, or openai URL: an OpenAI-compatible server (vllm serve, "
                        "trl vllm-serve, llama.cpp), on this machine unless --allow-remote")
    p.add_argument("--allow-remote", action="store_true", help="let --backend openai use a server on another machine")
    p.add_argument("--token-env", metavar="VAR", help="the environment variable that holds the server's bearer token "
                                                     "(read when the job runs; never stored in the project)")
    p.add_argument("--timeout", type=float, metavar="S", help="seconds for one server request (default 600)")


def cmd_generate(args: argparse.Namespace) -> int:
    from prefdesk.formats.errors import ImportRefused

    try:
        return _generate(args)
    except ImportRefused as exc:
        print(f"prefdesk: {exc.describe()}", file=sys.stderr)
        return 2


def _generate(args: argparse.Namespace) -> int:
    from prefdesk.jobs import generate
    from prefdesk.jobs.runtime import training_command
    from prefdesk.store import runs as store_runs
    from prefdesk.store.project import Project, ProjectError
    from prefdesk.store.versions import parse_quotas

    progress = ProgressPrinter("prompts", quiet=args.quiet)

    training_command(args.python)  # no runtime: say how to get one before anything is recorded
    with Project.open(args.project) as project:
        if args.resume:
            run_id, spec = args.resume, generate.resume(project, args.resume)
        else:
            if bool(args.prompts) == bool(args.from_pool):
                raise ProjectError("give --prompts FILE or --from-pool")
            backend, url = _backend(args.backend)
            reward = None
            if args.pair in ("spread", "closest"):
                if not args.run:
                    raise ProjectError(f"--pair {args.pair} needs --run RUN (a finished reward run)")
                reward = store_runs.run(project, args.run).model_dir
            elif args.run:
                raise ProjectError("--run names the reward run that --pair spread or closest scores with")
            if (args.pair == "reference") != bool(args.reference):
                raise ProjectError("--pair reference needs --reference DIR, and --reference goes with --pair reference")
            pair = None if args.pair == "reference" else args.pair
            run_id, spec = generate.prepare(
                project, args.model, prompts_file=args.prompts, sample=args.sample, by=args.by,
                quotas=parse_quotas(args.quota), reuse=args.reuse, adapter=args.adapter,
                n=args.n or (1 if args.reference else 2),
                temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens, seed=args.seed,
                device=args.device, backend=backend, url=url, allow_remote=args.allow_remote,
                **_server_options(args, backend),
                batch_size=args.batch_size, max_resample=args.max_resample, pair=pair, reward_model=reward,
                reference=args.reference, raw_prompts=args.raw_prompts,
                cut_answers="keep" if args.keep_cut_answers else "resample")
        print(f"run {run_id}: generate, spec {spec}", file=sys.stderr)
        done = generate.run(project, run_id, spec, progress, python=args.python, resumed=bool(args.resume))
    print(json.dumps(done.as_json(), indent=2))
    if done.status != RunStatus.FINISHED:
        report = done.report or {}
        print(f"prefdesk: run {run_id} {done.status.value}: {report.get('error', '')}", file=sys.stderr)
        if report.get("hint"):
            print(f"hint: {report['hint']}", file=sys.stderr)
        print(f"resume it with: prefdesk generate -p {args.project} --resume {run_id}", file=sys.stderr)
        return 1
    return 0


def add_commands(command, sub) -> None:
    """The prompts and generate commands, on `prefdesk.cli`'s parser."""
    p = sub.add_parser("prompts", help="the prompt pool: import a file, list what is there")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("import", help="add a prompt file (JSONL with prompt and metadata, or one prompt a line)")
    a.add_argument("file")
    a.add_argument("-p", "--project", required=True)
    a.add_argument("--skip-bad", action="store_true", help="add the good lines; name the bad ones")
    a.set_defaults(func=cmd_prompts)
    a = actions.add_parser("list", help="how many prompts, by bucket")
    a.add_argument("-p", "--project", required=True)
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_prompts)
    p = sub.add_parser("rules", help="rule pre-filters: run the project's rules over the items not yet checked")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("run", help="check every item the rule set in force has not checked yet")
    a.add_argument("-p", "--project", required=True)
    a.set_defaults(func=cmd_rules)
    p = command("judge", cmd_judge, "model-judge labels (weak layer): an LLM judge or a finished reward run")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr (the result still on stdout)")
    p.add_argument("--model", help="a local causal LM folder: the LLM judge (with --backend openai: the server's model)")
    p.add_argument("--run", help="a finished reward run: the reward-model judge")
    p.add_argument("--template", default="default", help="the judge template's name (its newest version is used)")
    p.add_argument("--samples", type=int, default=1, help="readings per order (K > 1 needs --temperature > 0)")
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cuda", "mps", "cpu"])
    key_values(p, "--where", "KEY=VALUE", "scenario, risk_level, bucket (VALUE|VALUE for several)")
    add_server_arguments(p)
    p.add_argument("--python", help="the Python of the training runtime")
    p = command("judge-template", cmd_judge_template, "show a judge template, or store a new version of one")
    p.add_argument("name", nargs="?", default="default")
    p.add_argument("--version", help="the new version's name (with --file)")
    p.add_argument("--file", help="the template text: {prompt} {answer_1} {answer_2}, and {guidelines} "
                                  "{guideline_version} {dimensions} if wanted")
    p = command("generate", cmd_generate, "sample answers from a local model into items (records the run)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr (the result still on stdout)")
    p.add_argument("--model", help="a local causal LM folder (for --backend openai: the server's model name)")
    p.add_argument("--adapter", help="a PEFT adapter folder applied on the model")
    p.add_argument("--prompts", help="a prompt file (it joins the pool)")
    p.add_argument("--from-pool", action="store_true", help="draw the prompts from the pool")
    p.add_argument("--sample", type=int, help="how many prompts (default: all)")
    p.add_argument("--by", choices=["bucket", "scenario", "risk_level"], help="stratify the draw by this field")
    key_values(p, "--quota", "VALUE=N", "at most N prompts with this --by value")
    p.add_argument("--reuse", action="store_true", help="draw prompts a run has sampled before too")
    p.add_argument("--n", type=int, help="answers a prompt: 2 (the default) makes a pair, more a ranking; "
                                         "1 a model with --pair reference")
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cuda", "mps", "cpu"])
    add_server_arguments(p)
    p.add_argument("--batch-size", type=int, default=16, help="prompts a batch")
    p.add_argument("--max-resample", type=int, default=2,
                   help="rounds of re-sampling near-duplicate, empty and cut answers before the prompt is held back")
    p.add_argument("--raw-prompts", action="store_true",
                   help="send plain prompts to a chat model as they are (default: as one user turn of its template)")
    p.add_argument("--keep-cut-answers", action="store_true",
                   help="keep answers cut at --max-new-tokens (default: resample them, then hold the prompt back)")
    p.add_argument("--pair", choices=["random", "spread", "closest", "reference"],
                   help="one pair out of the n answers; `reference`: an on-policy pair, one answer of --model and one "
                        "of --reference with the same seeds (the next round of iterative DPO)")
    p.add_argument("--reference", metavar="DIR", help="the reference model folder of --pair reference")
    p.add_argument("--run", help="the reward run that --pair spread or closest ranks the answers with")
    p.add_argument("--resume", metavar="RUN", help="go on with a cancelled or failed generation run")
    p.add_argument("--python", help="the Python of the training runtime")
