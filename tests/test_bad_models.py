"""Bad models and prompts a lead hands the loop (issue 32): a model folder without weights, a tokenizer without a
pad token, a prompt longer than the model's context. Each is a clear message naming the model (and the prompt),
with nothing half-written: no item, no label, the run marked failed or never recorded."""

import json
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, make_tiny_lm
from prefdesk.cli import main
from prefdesk.store import runs as store_runs
from prefdesk.store.project import Project

pytest.importorskip("torch")


def _counts(path) -> tuple[int, list[tuple[str, str]]]:
    with Project.open(path) as project:
        items = project.conn.execute("SELECT count(*) FROM items").fetchone()[0]
        return items, [(r.kind, r.status) for r in store_runs.runs(project)]


@pytest.fixture
def project(tmp_path):
    path = tmp_path / "p.prefdesk"
    assert main(["new", str(path)]) == 0
    return path


@pytest.fixture
def prompts(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("What is rain?\nWhat is a noun?\n")
    return path


def test_a_model_folder_without_weights_is_refused_before_anything_is_recorded(tmp_path, project, prompts, tiny_lm,
                                                                             capsys):
    bare = tmp_path / "bare"
    shutil.copytree(tiny_lm, bare, ignore=shutil.ignore_patterns("*.safetensors"))
    assert main(["generate", "-p", str(project), "--model", str(bare), "--prompts", str(prompts)]) == 2
    assert f"model: {bare} holds no safetensors weights" in capsys.readouterr().err
    assert main(["import", str(FIXTURES / "rule_pairs.jsonl"), "-p", str(project)]) == 0
    capsys.readouterr()
    assert main(["train", "-p", str(project), "--kind", "dpo", "--base-model", str(bare)]) == 2
    assert f"base model: {bare} holds no safetensors weights" in capsys.readouterr().err
    items, runs = _counts(project)
    assert runs == [] and not list(tmp_path.glob("*.runs/*"))  # no run, no run folder left behind


def test_a_prompt_longer_than_the_models_context_fails_the_run_naming_it_and_writes_nothing(project, prompts,
                                                                                         tmp_path, tiny_lm, capsys):
    context = json.loads((Path(tiny_lm) / "config.json").read_text())["max_position_embeddings"]
    long = tmp_path / "long.txt"
    long.write_text("What is rain?\nSummarise: " + "the cat sat on the mat " * context + "\n")
    assert main(["generate", "-p", str(project), "--model", tiny_lm, "--prompts", str(long), "--keep-cut-answers",
                 "--max-new-tokens", "8", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"1 prompt does not fit the context of {tiny_lm} ({context} tokens" in err
    assert "'Summarise: the cat sat on the mat" in err and "hint: shorten those prompts" in err
    items, runs = _counts(project)
    assert items == 0 and runs == [("generate", "failed")]  # the short prompt was not sampled either
    assert not list(tmp_path.glob("*.runs/*/model/samples.jsonl"))  # checked before the first answer


def test_a_tokenizer_without_a_pad_token_pads_with_eos_and_says_so_on_every_answer(tmp_path, project, prompts,
                                                                                  capsys):
    from transformers import AutoTokenizer

    model = make_tiny_lm(tmp_path / "no-pad")
    tok = AutoTokenizer.from_pretrained(model)
    tok.pad_token = None
    tok.save_pretrained(model)
    assert AutoTokenizer.from_pretrained(model).pad_token is None
    assert main(["generate", "-p", str(project), "--model", model, "--prompts", str(prompts), "--n", "2",
                 "--max-new-tokens", "8", "--keep-cut-answers", "--quiet"]) == 0
    with Project.open(project) as p:
        ids = [i for (i,) in p.conn.execute("SELECT id FROM items")]
        metas = [c.meta for i in ids for c in p.item(i).candidates]
    assert len(ids) == 2 and all(m["pad_token"] == "eos (the tokenizer has no pad token)" for m in metas)
