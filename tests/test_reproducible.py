"""Reproducible by content (issue 32, item 4): the same prompts imported in another order into a fresh project give
the same prompts for `--sample N --by bucket --seed S` and byte-identical answers per prompt; changing one prompt
changes that prompt's answers alone."""

import random

import pytest

from prefdesk.cli import main
from prefdesk.store.project import Project

pytest.importorskip("torch")


def _answers(tmp_path, name, lines, model, *draw) -> dict[str, list[str]]:
    """A fresh project, the prompt lines imported in this order, a generation run drawing from the pool as `draw`
    says (all of it by default); prompt -> its answers' texts."""
    path = tmp_path / f"{name}.prefdesk"
    src = tmp_path / f"{name}.jsonl"
    src.write_text("".join(lines))
    assert main(["new", str(path)]) == 0
    assert main(["prompts", "import", str(src), "-p", str(path)]) == 0
    assert main(["generate", "-p", str(path), "--model", model, "--from-pool", *draw, "--seed", "7", "--temperature", "1.0", "--max-new-tokens", "12", "--keep-cut-answers", "--batch-size", "5"]) == 0
    with Project.open(path) as project:
        items = [project.item(i) for (i,) in project.conn.execute("SELECT id FROM items")]
    return {item.prompt: [c.text for c in item.candidates] for item in items}


def test_the_same_prompts_in_another_order_give_the_same_prompts_and_answers_and_one_change_changes_one(
        tmp_path, fixtures, tiny_lm):
    lines = (fixtures / "prompts-sample.jsonl").read_text().splitlines(keepends=True)
    shuffled = lines[:]
    random.Random(3).shuffle(shuffled)
    draw = ("--sample", "12", "--by", "bucket")
    first = _answers(tmp_path, "a", lines, tiny_lm, *draw)
    second = _answers(tmp_path, "b", shuffled, tiny_lm, *draw)
    assert len(first) == 12 and first == second  # the same prompts, byte for byte the same answers

    few = lines[:6]
    whole = _answers(tmp_path, "c", few, tiny_lm)
    changed = next(iter(whole))
    edited = [line.replace(changed, changed + " Please answer briefly.") for line in few]
    again = _answers(tmp_path, "d", edited, tiny_lm)
    assert {p: a for p, a in again.items() if p in whole} == {p: a for p, a in whole.items() if p != changed}
    assert again[changed + " Please answer briefly."] != whole[changed]  # only the changed prompt's answers changed
