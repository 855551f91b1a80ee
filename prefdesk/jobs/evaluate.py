"""Evaluate a trained policy against its reference on a frozen eval set, with a reward-model judge (issue 21).

Both models answer every prompt of the set with the generation job, with the same sampling parameters and
seeds (runs of kind `eval-generate`; their answers are never made items, so never training data). A finished
reward run scores both answers; the policy wins a prompt when its answer scores higher (a tie: equal scores),
overall and per dimension for a multi-head run. The report gives, overall and per bucket / scenario / risk level:
the win rate of policy over reference (ties as 1/2) with its 95% bootstrap interval, the length-controlled win
rate, each model's mean answer length, and `regression` where the interval lies below 1/2. It is stored as a run
of kind `evaluate`.

Not yet: an LLM judge in both orders, the blind arena, the leaderboard and the HTML release report.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from prefdesk.jobs import generate
from prefdesk.jobs.runtime import training_command
from prefdesk.jobs.train import job_env
from prefdesk.jobs.watch import run_folder
from prefdesk.quality.winrate import bootstrap_interval, length_controlled_win_rate, win_rate
from prefdesk.store import evalsets
from prefdesk.store import runs as store_runs
from prefdesk.store.project import Project, ProjectError
from training.gen_spec import SAMPLES_FILE
from training.protocol import RunStatus

GROUPS = ("bucket", "scenario", "risk_level")
MIN_FOR_LENGTH_CONTROL = 10  # fewer comparisons than this: no length-controlled rate for the group


def model_of(project: Project, policy: str) -> tuple[str, str | None]:
    """(model folder, adapter folder or None) of a policy given as a folder or as a finished run's id (a DPO
    run trained with LoRA is its base model plus the adapter it saved)."""
    if Path(policy).is_dir():
        return policy, None
    try:
        run = store_runs.run(project, policy)
    except (KeyError, ProjectError):
        raise ProjectError(f"--policy {policy}: neither a model folder nor a run of this project") from None
    if run.status != RunStatus.FINISHED or not run.model_dir:
        raise ProjectError(f"--policy {policy}: a {run.status.value} {run.kind} run has no model to evaluate")
    if (Path(run.model_dir) / "adapter_config.json").is_file():
        return run.spec.get("base_model") or "", run.model_dir
    return run.model_dir, None


def _answers(project: Project, model: str, prompts, evalset: str, params: dict, python: str | None,
             on_event: Callable | None, adapter: str | None = None) -> tuple[str, dict[str, str]]:
    run_id, spec = generate.write_run(project, model, prompts, "eval-generate", {"evalset": evalset, "model": model},
                                      n=1, adapter=adapter, **params)
    done = generate.run(project, run_id, spec, on_event, python=python)
    if done.status != RunStatus.FINISHED:
        raise RuntimeError(f"generation on {model} {done.status.value}: {(done.report or {}).get('error', '')}")
    lines = (run_folder(project, run_id) / "model" / SAMPLES_FILE).read_text(encoding="utf-8").splitlines()
    return run_id, {row["key"]: row["candidates"][0]["text"] for row in map(json.loads, filter(None, lines))}


def _scores(model_dir: str, rows: list[dict], python: str | None) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="prefdesk-eval-") as tmp:
        src, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        done = subprocess.run([*training_command(python), "score", model_dir, str(src), str(out)], env=job_env(),
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"scoring failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
        return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]


def _outcome(mine: float, theirs: float) -> float:
    return 1.0 if mine > theirs else 0.0 if mine < theirs else 0.5


def summary(outcomes: list[float], policy_len: list[int], reference_len: list[int]) -> dict:
    low, high = bootstrap_interval(outcomes)
    out = {"n": len(outcomes), "win_rate": round(win_rate(outcomes), 4), "interval": [round(low, 4), round(high, 4)],
           "regression": high < 0.5, "mean_length": {"policy": round(sum(policy_len) / len(policy_len), 1),
                                                     "reference": round(sum(reference_len) / len(reference_len), 1)}}
    if len(outcomes) >= MIN_FOR_LENGTH_CONTROL:
        out["length_controlled_win_rate"] = round(length_controlled_win_rate(outcomes, policy_len, reference_len), 4)
    return out


def evaluate(project: Project, policy: str, reference: str, evalset: str, judge_run: str, *,
             temperature: float = 0.7, top_p: float = 0.95, max_new_tokens: int = 256, seed: int = 0,
             device: str = "auto", python: str | None = None, on_event: Callable | None = None) -> dict:
    judge = store_runs.run(project, judge_run)
    if judge.status != RunStatus.FINISHED or judge.kind not in ("reward", "reward-dims") or not judge.model_dir:
        raise ProjectError(f"run {judge_run} is a {judge.status.value} {judge.kind} run; the judge must be a "
                           "finished reward run")
    es = evalsets.get(project, evalset)
    prompts = evalsets.prompts_of(project, es)
    params = {"temperature": temperature, "top_p": top_p, "max_new_tokens": max_new_tokens, "seed": seed,
              "device": device}
    model, adapter = model_of(project, policy)
    policy_run, mine = _answers(project, model, prompts, evalset, params, python, on_event, adapter)
    reference_run, theirs = _answers(project, reference, prompts, evalset, params, python, on_event)
    rows = []
    for p in prompts:
        text = p.prompt
        rows += [{"prompt": text, "response": mine[p.id]}, {"prompt": text, "response": theirs[p.id]}]
    scored = _scores(judge.model_dir, rows, python)
    per: dict[str, list] = defaultdict(list)  # (dimension, group, value) -> [(outcome, policy len, ref len)]
    examples = []
    for k, p in enumerate(prompts):
        a, b = scored[2 * k], scored[2 * k + 1]
        lengths = (len(mine[p.id]), len(theirs[p.id]))
        dims = {"overall": _outcome(a["score"], b["score"])}
        dims.update((d, _outcome(v, b["dims"][d])) for d, v in (a.get("dims") or {}).items())
        for dim, result in dims.items():
            per[(dim, "all", "all")].append((result, *lengths))
            for group in GROUPS:
                per[(dim, group, getattr(p, group) or "(none)")].append((result, *lengths))
        examples.append({"prompt_id": p.id, "policy": round(a["score"], 4), "reference": round(b["score"], 4)})
    report: dict = {"evalset": evalset, "evalset_sha256": es.sha256, "policy": policy, "reference": reference,
                    "judge_run": judge_run, "policy_run": policy_run, "reference_run": reference_run,
                    "sampling": params, "results": defaultdict(dict)}
    for (dim, group, value), got in sorted(per.items()):
        report["results"][dim][f"{group}={value}" if group != "all" else "all"] = summary(*map(list, zip(*got)))
    report["results"] = dict(report["results"])
    report["regressions"] = [f"{dim} {where}" for dim, groups in report["results"].items()
                             for where, s in groups.items() if s["regression"]]
    report["scores"] = examples
    run_id = store_runs.start_run(project, "evaluate", {k: report[k] for k in ("evalset", "policy", "reference",
                                                                            "judge_run", "sampling")},
                                  evalset, {"evalset_sha256": es.sha256})
    store_runs.finish_run(project, run_id, RunStatus.FINISHED, report)
    report["run"] = run_id
    return report
