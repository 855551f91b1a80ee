"""Evaluate a trained policy against its reference on a frozen eval set (issue 21).

1. Both models answer every prompt of the set with the generation job, with the same sampling parameters and
   seeds (runs of kind `eval-generate`; their answers are never made items, so never training data).
2. A judge gives the policy's outcome on each prompt (1 a win, 1/2 a tie, 0 a loss): a finished reward run (the
   higher score wins; per dimension too for a multi-head run), or an LLM judge asked in both orders
   (`jobs.judge.ask`; a pair it cannot read is counted and left out).
3. `compare` reports, overall and per bucket / scenario / risk level, for each dimension: the win rate with its
   95% bootstrap interval, the length-controlled win rate, each model's mean answer length (characters), and
   `regression` where the interval lies below 1/2 (a group of fewer than `winrate.MIN_FOR_VERDICT` prompts is
   marked `too_few` and never called one).
4. `--arena N` makes N blind pairwise items for people (`jobs.arena`).

The report is stored as a run of kind `evaluate`, with each prompt's outcomes and the two models' names for the
leaderboard (`quality.leaderboard`) and the release report (`quality.release`); `quality.arena.evaluation_report`
reads it back with people's arena verdicts as they stand.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from prefdesk.jobs import arena as arena_items
from prefdesk.jobs import generate
from prefdesk.jobs import judge as llm
from prefdesk.jobs.runtime import training_command
from prefdesk.jobs.train import job_env
from prefdesk.quality.winrate import length_controlled_win_rate, markdown_count
from prefdesk.quality.winrate import summary as win_summary
from prefdesk.store import evalsets
from prefdesk.store import runs as store_runs
from prefdesk.store.project import Project, ProjectError
from training.protocol import RunStatus

GROUPS = ("bucket", "scenario", "risk_level")
MIN_FOR_LENGTH_CONTROL = 10  # fewer comparisons than this: no length-controlled rate for the group


def model_of(project: Project, policy: str) -> tuple[str, str | None]:
    """(model folder, adapter folder or None) of a policy given as a folder or as a finished run's id (a DPO
    run trained with LoRA is its base model plus the adapter it saved)."""
    if Path(policy).is_dir():
        return str(Path(policy).resolve()), None
    try:
        run = store_runs.run(project, policy)
    except (KeyError, ProjectError):
        raise ProjectError(f"--policy {policy}: neither a model folder nor a run of this project") from None
    if run.status != RunStatus.FINISHED or not run.model_dir:
        raise ProjectError(f"--policy {policy}: a {run.status.value} {run.kind} run has no model to evaluate")
    if (Path(run.model_dir) / "adapter_config.json").is_file():
        return run.spec.get("base_model") or "", run.model_dir
    return run.model_dir, None


def model_name(project: Project, model: str) -> str:
    """The name a model has on the leaderboard: `run:ID` for a run of this project, else its folder, resolved."""
    if not Path(model).is_dir():
        return f"run:{model}"
    return str(Path(model).resolve())


def _answers(project: Project, model: str, prompts, evalset: str, params: dict, python: str | None,
             on_event: Callable | None, adapter: str | None = None) -> tuple[str, dict[str, str]]:
    run_id, spec = generate.write_run(project, model, prompts, "eval-generate", {"evalset": evalset, "model": model},
                                      n=1, adapter=adapter, **params)
    done = generate.run(project, run_id, spec, on_event, python=python)
    if done.status != RunStatus.FINISHED:
        raise RuntimeError(f"generation on {model} {done.status.value}: {(done.report or {}).get('error', '')}")
    return run_id, store_runs.answers_of(project, run_id)


def _scores(model_dir: str, rows: list[dict], python: str | None) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="prefdesk-eval-") as tmp:
        src, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        done = subprocess.run([*training_command(python), "score", model_dir, str(src), str(out)], env=job_env(),
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"scoring failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
        return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]


Outcomes = dict[str, dict[str, float]]  # prompt id -> dimension ('overall' and each head) -> the policy's outcome


def _outcome(mine: float, theirs: float) -> float:
    return 1.0 if mine > theirs else 0.0 if mine < theirs else 0.5


def reward_judge(project: Project, judge_run: str, python: str | None = None):
    """A judge from a finished reward run: (prompts, mine, theirs) -> Outcomes, each answer scored by its model."""
    judge = store_runs.run(project, judge_run)
    if judge.status != RunStatus.FINISHED or judge.kind not in ("reward", "reward-dims") or not judge.model_dir:
        raise ProjectError(f"run {judge_run} is a {judge.status.value} {judge.kind} run; the judge must be a "
                           "finished reward run")

    def outcomes(prompts, mine: dict[str, str], theirs: dict[str, str]) -> Outcomes:
        rows = [{"prompt": p.prompt, "response": text} for p in prompts for text in (mine[p.id], theirs[p.id])]
        scored = _scores(judge.model_dir, rows, python)
        out = {}
        for k, p in enumerate(prompts):
            a, b = scored[2 * k], scored[2 * k + 1]
            outcomes.details[p.id] = {"scores": [a["score"], b["score"]]}  # as compared: unrounded
            out[p.id] = {"overall": _outcome(a["score"], b["score"])}
            out[p.id].update((d, _outcome(v, b["dims"][d])) for d, v in (a.get("dims") or {}).items())
        return out

    outcomes.identity, outcomes.details = f"reward run {judge_run}", {}
    return outcomes


_LLM_OUTCOME = {"A": 1.0, "B": 0.0, "tie": 0.5}


def llm_judge(project: Project, model: str, python: str | None = None, on_event: Callable | None = None,
              **ask_args):
    """A judge from an LLM judge's model folder: each pair asked in both orders (the policy's answer as the
    pair's A); a pair with no readable verdict has no outcome."""
    problems = llm.model_folder_problems(model)
    if problems:
        raise ProjectError("--judge-model: " + "; ".join(problems))

    def outcomes(prompts, mine: dict[str, str], theirs: dict[str, str]) -> Outcomes:
        identity, verdicts = llm.ask(project, model, [(p.id, p.prompt, mine[p.id], theirs[p.id]) for p in prompts],
                                     python=python, on_event=on_event, **ask_args)
        outcomes.identity = identity
        outcomes.details.update((v["key"], {"verdict": v["verdict"], "orders": v.get("orders"),
                                            "unreadable": v["unreadable"]}) for v in verdicts)
        return {v["key"]: {"overall": _LLM_OUTCOME[v["verdict"]]} for v in verdicts if v["verdict"] is not None}

    outcomes.identity, outcomes.details = f"LLM judge {model}", {}
    return outcomes


def summary(outcomes: list[float], policy_len: list[int], reference_len: list[int]) -> dict:
    out = {**win_summary(outcomes), "mean_length": {"policy": round(sum(policy_len) / len(policy_len), 1),
                                                    "reference": round(sum(reference_len) / len(reference_len), 1)}}
    if len(outcomes) >= MIN_FOR_LENGTH_CONTROL:
        out["length_controlled_win_rate"] = round(length_controlled_win_rate(outcomes, policy_len, reference_len), 4)
    return out


def compare(prompts, mine: dict[str, str], theirs: dict[str, str], judged: Outcomes) -> dict:
    """{results: {dimension: {'all' | 'bucket=general' | ...: summary}}, regressions: ['dimension where', ...],
    regressions first in `results`' order of reading}; prompts the judge gave no outcome are left out."""
    per: dict[tuple, list] = defaultdict(list)  # (dimension, group, value) -> [(outcome, policy len, ref len)]
    groups = [g for g in GROUPS if any(getattr(p, g) for p in prompts)]  # a field no prompt has: no groups
    for p in prompts:
        lengths = (len(mine[p.id]), len(theirs[p.id]))
        for dim, result in judged.get(p.id, {}).items():
            per[(dim, "all", "all")].append((result, *lengths))
            for group in groups:
                per[(dim, group, getattr(p, group) or "(none)")].append((result, *lengths))
    results: dict[str, dict] = defaultdict(dict)
    for (dim, group, value), got in sorted(per.items(), key=lambda kv: (kv[0][0] != "overall", kv[0])):
        results[dim][f"{group}={value}" if group != "all" else "all"] = summary(*map(list, zip(*got)))
    regressions = [f"{dim} {where}" for dim, groups in results.items() for where, s in groups.items() if s["regression"]]
    return {"results": dict(results), "regressions": regressions}


def evaluate(project: Project, policy: str, reference: str, evalset: str, judge_run: str | None = None, *,
             judge_model: str | None = None, arena: int = 0, temperature: float = 0.7, top_p: float = 0.95,
             max_new_tokens: int = 256, seed: int = 0, device: str = "auto", python: str | None = None,
             on_event: Callable | None = None, judge_args: dict | None = None) -> dict:
    """Generate, judge, report, and make the arena (see the module); the stored report, with its run id."""
    if bool(judge_run) == bool(judge_model):
        raise ProjectError("give one judge: --judge RUN (a reward run) or --judge-model DIR (an LLM judge)")
    judge = (reward_judge(project, judge_run, python) if judge_run else
             llm_judge(project, judge_model, python, on_event, device=device, **(judge_args or {})))
    es = evalsets.get(project, evalset)
    prompts = evalsets.prompts_of(project, es)
    params = {"temperature": temperature, "top_p": top_p, "max_new_tokens": max_new_tokens, "seed": seed,
              "device": device, "cut_answers": "keep", "max_resample": 0}  # the models judged as they answer
    model, adapter = model_of(project, policy)
    policy_run, mine = _answers(project, model, prompts, evalset, params, python, on_event, adapter)
    reference_run, theirs = _answers(project, reference, prompts, evalset, params, python, on_event)
    judged = judge(prompts, mine, theirs)
    report: dict = {"evalset": evalset, "evalset_sha256": es.sha256, "policy": policy, "reference": reference,
                    "models": {"policy": model_name(project, policy), "reference": model_name(project, reference)},
                    "judge": judge.identity, "judge_run": judge_run, "judge_model": judge_model,
                    "policy_run": policy_run, "reference_run": reference_run, "sampling": params,
                    **compare(prompts, mine, theirs, judged), "no_verdict": len(prompts) - len(judged)}
    report["per_prompt"] = [{"prompt_id": p.id, **{g: getattr(p, g) for g in GROUPS}, "outcomes": judged.get(p.id),
                             "length": [len(mine[p.id]), len(theirs[p.id])],
                             "markdown": [markdown_count(mine[p.id]), markdown_count(theirs[p.id])],
                             **judge.details.get(p.id, {})}
                            for p in prompts]
    run_id = store_runs.start_run(project, "evaluate", {k: report[k] for k in (
        "evalset", "policy", "reference", "judge", "judge_run", "judge_model", "sampling")}, evalset,
        {"evalset_sha256": es.sha256, "arena": arena})
    if arena:
        report["arena"] = {"items": len(arena_items.make(project, run_id, prompts, mine, theirs, arena, seed))}
    store_runs.finish_run(project, run_id, RunStatus.FINISHED, report)
    report["run"] = run_id
    return report

