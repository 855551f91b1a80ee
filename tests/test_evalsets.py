"""Eval sets (issue 21): a set of prompts frozen under a name with its hash and manifest, kept apart from
training: a prompt that is a training prompt of a dataset version is refused (or left out when asked), and an
eval prompt is never drawn for generation. Read back from the project file."""

import json

from desktools import write_jsonl
from prefdesk.cli import main
from prefdesk.store import evalsets
from prefdesk.store import prompts as pool
from prefdesk.store.project import Project


def test_an_eval_set_is_frozen_with_its_hash_and_manifest(project, fixtures, capsys):
    path = project.path
    project.close()
    assert main(["prompts", "import", str(fixtures / "prompts-sample.jsonl"), "-p", str(path)]) == 0
    assert main(["evalset", "create", "general", "-p", str(path), "--from-pool", "--sample", "10", "--by", "bucket",
                 "--seed", "3"]) == 0
    assert "eval set general: 10 prompts frozen" in capsys.readouterr().out
    assert main(["evalset", "create", "high-risk", "-p", str(path), "--from-pool", "--by", "bucket",
                 "--quota", "general=0"]) == 0
    assert main(["evalset", "create", "general", "-p", str(path), "--from-pool"]) == 2
    assert "exists already: it is frozen" in capsys.readouterr().err
    with Project.open(path) as again:
        general, risky = evalsets.get(again, "general"), evalsets.get(again, "high-risk")
        prompts = evalsets.prompts_of(again, general)
        assert general.manifest["by_bucket"] == {"general": 6, "high-risk": 4}  # 25:15 of 40, largest remainder
        assert risky.manifest["by_bucket"] == {"high-risk": 15} and len(risky.prompt_ids) == 15
        assert [p.id for p in prompts] == list(general.prompt_ids) and general.manifest["source"]["seed"] == 3
        # eval prompts are never drawn for generation
        held = set(general.prompt_ids) | set(risky.prompt_ids)
        drawn = pool.sample(again, None)
        assert len(drawn) == 40 - len(held) and not {p.id for p in drawn} & held
        assert pool.counts(again)["in_eval_sets"] == len(held)
    assert main(["evalset", "list", "-p", str(path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in listed] == ["general", "high-risk"] and listed[0]["sha256"] == general.sha256


def test_a_training_prompt_is_refused_or_left_out_when_asked(project, tmp_path, capsys):
    from prefdesk.domain import LabelKind
    from prefdesk.formats.importer import import_file
    from prefdesk.store import versions

    import_file(project, write_jsonl(tmp_path, [{"prompt": f"Question {i}?", "response_a": "a", "response_b": "b"}
                                                for i in range(3)]))
    ana = project.ensure_rater("ana")
    for (item_id,) in project.conn.execute("SELECT id FROM items").fetchall():
        project.commit_label(item_id, ana, LabelKind.PAIRWISE, {"verdict": "A"})
    versions.create(project, "r1")
    prompts = tmp_path / "eval.txt"
    prompts.write_text("Question 1?\nA fresh question?\nQuestion 2?\n")
    path = project.path
    project.close()
    assert main(["evalset", "create", "ev", "-p", str(path), "--prompts", str(prompts)]) == 2
    err = capsys.readouterr().err
    assert "2 of these prompts are training prompts of a dataset version" in err and "(in r1)" in err
    with Project.open(path) as again:
        assert evalsets.listing(again) == []  # nothing half-made
    assert main(["evalset", "create", "ev", "-p", str(path), "--prompts", str(prompts), "--drop-overlap"]) == 0
    assert "1 prompts frozen" in capsys.readouterr().out
    with Project.open(path) as again:
        ev = evalsets.get(again, "ev")
        assert [p.prompt for p in evalsets.prompts_of(again, ev)] == ["A fresh question?"]
        assert ev.manifest["left_out_as_training_prompts"] == 2


def test_evaluate_a_policy_against_its_reference_with_a_reward_judge(tmp_path, fixtures, tiny_encoder, capsys):
    """Two tiny causal LMs answer a frozen eval set with the same seeds; a reward run scores both answers; the win
    rates per dimension and bucket match a count by hand from the scores stored in the report."""
    import pytest

    pytest.importorskip("torch")
    from conftest import make_tiny_lm
    from prefdesk.quality.winrate import bootstrap_interval

    policy, reference = make_tiny_lm(tmp_path / "policy"), make_tiny_lm(tmp_path / "reference")
    import torch
    from transformers import AutoModelForCausalLM

    other = AutoModelForCausalLM.from_pretrained(policy)  # a different policy: its weights moved a little
    with torch.no_grad():
        for weights in other.parameters():
            weights.add_(torch.randn_like(weights) * 0.5)
    other.save_pretrained(policy)
    path = tmp_path / "e.prefdesk"
    assert main(["new", str(path)]) == 0
    assert main(["import", str(fixtures / "rule_pairs.jsonl"), "-p", str(path)]) == 0
    hyper = json.dumps({"max_steps": 20, "batch_size": 16, "learning_rate": 1e-3, "max_length": 64})
    assert main(["train", "-p", str(path), "--kind", "reward", "--base-model", tiny_encoder, "--hyper", hyper]) == 0
    assert main(["prompts", "import", str(fixtures / "prompts-sample.jsonl"), "-p", str(path)]) == 0
    assert main(["evalset", "create", "general", "-p", str(path), "--from-pool", "--sample", "12", "--by", "bucket"]) == 0
    with Project.open(path) as project:
        judge = project.conn.execute("SELECT id FROM runs WHERE kind = 'reward'").fetchone()[0]
        items_before = project.item_count()
    capsys.readouterr()
    assert main(["evaluate", "-p", str(path), "--policy", policy, "--reference", reference, "--evalset", "general",
                 "--judge", judge, "--max-new-tokens", "12", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    scores = [row["scores"] for row in report["per_prompt"]]
    by_hand = [1.0 if mine > theirs else 0.0 if mine < theirs else 0.5 for mine, theirs in scores]
    overall = report["results"]["overall"]["all"]
    assert len(scores) == overall["n"] == 12 and overall["win_rate"] == round(sum(by_hand) / 12, 4)
    assert overall["interval"] == [round(x, 4) for x in bootstrap_interval(by_hand)]
    assert overall["regression"] == (overall["interval"][1] < 0.5) and "length_controlled_win_rate" in overall
    buckets = {k: v["n"] for k, v in report["results"]["overall"].items() if k.startswith("bucket=")}
    assert buckets == {"bucket=general": 8, "bucket=high-risk": 4}  # 7.5 : 4.5, the equal remainder to the first name
    with Project.open(path) as project:
        kinds = [k for (k,) in project.conn.execute("SELECT kind FROM runs ORDER BY started_at")]
        assert kinds == ["reward", "eval-generate", "eval-generate", "evaluate"]
        assert project.item_count() == items_before  # an evaluation's answers are never training items
        seeds = [json.loads(line)["candidates"][0]["meta"]["seed"] for run in (report["policy_run"], report["reference_run"])
                 for line in (path.with_name("e.runs") / run / "model" / "samples.jsonl").read_text().splitlines()]
        assert seeds[:12] and sorted(seeds[:12]) == sorted(seeds[12:])  # the same seeds for both models
    # the reference against itself: the same seeds give the same answers, so every prompt is a tie
    assert main(["evaluate", "-p", str(path), "--policy", reference, "--reference", reference, "--evalset", "general",
                 "--judge", judge, "--max-new-tokens", "12", "--json"]) == 0
    same = json.loads(capsys.readouterr().out)["results"]["overall"]["all"]
    assert same["win_rate"] == 0.5 and same["interval"] == [0.5, 0.5] and not same["regression"]
