"""The whole loop on this machine's CPU with tiny models (issue 21): pairs -> DPO -> evaluate, <= 10 minutes,
each stage timed. Every stage is the command a lead runs (`prefdesk ...`, in this process as the CLI runs it);
the labels are a simulated rater's, committed one by one through the same call the desk makes.

1. pairs: the reference model answers 160 training prompts twice (`generate --n 2`), sampled on the CPU;
2. labels: a rater who prefers the shorter answer (right 85% of the time) labels every pair;
3. judge: a Bradley-Terry reward model on those labels (`train --kind reward`, a tiny encoder);
4. DPO: the policy, trained from the reference on the same labels (`train --kind dpo`);
5. evaluate: both models answer the frozen 40-prompt eval set with the same seeds, the reward judge reads every
   pair, and the HTML release report is written (`evaluate --judge RUN --html FILE`).
"""

import json
import time
from pathlib import Path

import pytest

from conftest import label_shorter, report

ROOT = Path(__file__).resolve().parents[2]
EVAL_PROMPTS = ROOT / "tests" / "fixtures" / "prompts-sample.jsonl"
N_TRAIN, NEW_TOKENS, BUDGET_S = 160, 32, 600.0


@pytest.fixture
def reference_lm(tmp_path) -> str:
    """A small causal LM from a config (4 layers, 128 wide) with the MiniLM word-piece tokenizer."""
    from desktools import llama_lm

    return llama_lm(tmp_path / "reference", hidden=128, intermediate=344, layers=4, heads=4)


def _train_prompts(folder: Path) -> Path:
    """N_TRAIN prompts in the eval set's buckets and scenarios, none of them an eval prompt."""
    rows = [json.loads(line) for line in EVAL_PROMPTS.read_text().splitlines()]
    path = folder / "train-prompts.jsonl"
    path.write_text("".join(json.dumps({**rows[i % len(rows)], "prompt": f"{rows[i % len(rows)]['prompt']} "
                                        f"(asked in ticket {1000 + i})"}) + "\n" for i in range(N_TRAIN)))
    return path


def test_pairs_to_dpo_to_an_evaluated_release_in_ten_minutes(tmp_path, reference_lm, tiny_encoder, capsys):
    import torch

    from prefdesk.cli import main
    from prefdesk.store import runs as store_runs
    from prefdesk.store.project import Project

    path, html = tmp_path / "loop.prefdesk", tmp_path / "release.html"
    stages: dict[str, float] = {}

    def stage(name: str, *commands: list[str]) -> None:
        t = time.perf_counter()
        for command in commands:
            assert main(command) == 0, (command, capsys.readouterr().err[-3000:])
        stages[name] = time.perf_counter() - t

    stage("project and frozen eval set", ["new", str(path)],
          ["evalset", "create", "general", "-p", str(path), "--prompts", str(EVAL_PROMPTS)])
    stage("pairs: the reference answers the training prompts twice",
          ["generate", "-p", str(path), "--model", reference_lm, "--prompts", str(_train_prompts(tmp_path)),
           "--n", "2", "--max-new-tokens", str(NEW_TOKENS), "--temperature", "1.0", "--seed", "1", "--keep-cut-answers"])

    t = time.perf_counter()
    items = label_shorter(path)
    stages["labels: one rater, every pair"] = time.perf_counter() - t

    hyper = {"max_steps": 40, "batch_size": 16, "learning_rate": 1e-3, "max_length": 128}
    stage("judge: a reward model on the labels",
          ["train", "-p", str(path), "--kind", "reward", "--base-model", tiny_encoder, "--hyper", json.dumps(hyper)])
    stage("DPO: the policy from the reference",
          ["train", "-p", str(path), "--kind", "dpo", "--base-model", reference_lm,
           "--hyper", json.dumps({**hyper, "learning_rate": 5e-4})])
    with Project.open(path) as project:
        runs = {r.kind: r for r in store_runs.runs(project)}
    assert runs["reward"].status == runs["dpo"].status == "finished"
    capsys.readouterr()
    stage("evaluate: both answer the eval set, the judge reads every pair, the report",
          ["evaluate", "-p", str(path), "--policy", runs["dpo"].id, "--reference", reference_lm, "--evalset", "general",
           "--judge", runs["reward"].id, "--max-new-tokens", str(NEW_TOKENS), "--html", str(html), "--json"])
    evaluation = json.loads(capsys.readouterr().out)
    overall = evaluation["results"]["overall"]["all"]
    assert overall["n"] == 40 and html.read_text().count("<tr>") > 10

    total = sum(stages.values())
    print(f"\n[bench] loop on CPU ({torch.get_num_threads()} threads), {len(items)} pairs, {NEW_TOKENS} new tokens:")
    for name, seconds in stages.items():
        print(f"[bench]   {name}: {seconds:.1f} s")
    print(f"[bench]   the policy against its reference: win rate {overall['win_rate']:.3f} "
          f"{overall['interval']}, LC {overall.get('length_controlled_win_rate')}, mean length "
          f"{overall['mean_length']['policy']:.0f} against {overall['mean_length']['reference']:.0f} characters")
    report("the loop, pairs -> DPO -> evaluate (judge + report), CPU", total, BUDGET_S, "s")
    assert total <= BUDGET_S
