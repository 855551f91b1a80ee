"""The prompt pool (issue 20): import from JSONL or plain text, deduplicated by content, refused line by line;
stratified, seeded sampling; read back from the project file."""

import json
from collections import Counter

import pytest

from prefdesk.cli import main
from prefdesk.store import prompts as pool
from prefdesk.store.project import Project, ProjectError


def test_import_keeps_each_prompt_once_with_its_metadata(project, fixtures, tmp_path, capsys):
    path = project.path
    project.close()
    assert main(["prompts", "import", str(fixtures / "prompts-sample.jsonl"), "-p", str(path)]) == 0
    assert "40 prompts added to the pool, 0 already there" in capsys.readouterr().out
    chat = tmp_path / "chat.jsonl"
    chat.write_text(json.dumps({"prompt": [{"role": "system", "content": "Be brief."},
                                           {"role": "user", "content": "Name a prime."}], "bucket": "math",
                                "team": "core"}) + "\n"
                    + (fixtures / "prompts-sample.jsonl").read_text().splitlines()[0] + "\n")
    assert main(["prompts", "import", str(chat), "-p", str(path)]) == 0
    assert "1 prompts added to the pool, 1 already there" in capsys.readouterr().out
    plain = tmp_path / "logs.txt"
    plain.write_text("How do I reset my password?\n\nWhat is our refund policy?\nHow do I reset my password?\n")
    assert main(["prompts", "import", str(plain), "-p", str(path)]) == 0
    with Project.open(path) as again:
        rows = pool.pool(again)
        assert pool.counts(again) == {"prompts": 43, "not_generated": 43, "in_eval_sets": 0}
    first = json.loads((fixtures / "prompts-sample.jsonl").read_text().splitlines()[0])
    assert (rows[0].prompt, rows[0].scenario, rows[0].risk_level, rows[0].bucket, rows[0].source) == (
        first["prompt"], first["scenario"], first["risk_level"], first["bucket"], first["source"])
    turns = next(r for r in rows if r.messages)
    assert turns.messages[1] == {"role": "user", "content": "Name a prime."} and turns.meta == {"team": "core"}
    assert [r.prompt for r in rows[-2:]] == ["How do I reset my password?", "What is our refund policy?"]


def test_a_bad_line_refuses_the_file_naming_line_and_field(project, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "fine"}\n{"prompt": ""}\n{"prompt": [{"role": "robot", "content": "x"}]}\n'
                   '{"prompt": "ok", "risk_level": 3}\n{not json\n')
    path = project.path
    project.close()
    assert main(["prompts", "import", str(bad), "-p", str(path)]) == 2
    err = capsys.readouterr().err
    for where in (f"{bad}:2: prompt: is empty", f"{bad}:3: prompt[0].role", f"{bad}:4: risk_level", f"{bad}:5: invalid JSON"):
        assert where in err
    with Project.open(path) as again:
        assert pool.counts(again)["prompts"] == 0  # nothing half-written
    assert main(["prompts", "import", str(bad), "-p", str(path), "--skip-bad"]) == 0
    with Project.open(path) as again:
        assert [p.prompt for p in pool.pool(again)] == ["fine"]


def test_stratified_sampling_follows_the_pool_and_the_quotas_and_is_seeded(project, fixtures):
    from prefdesk.formats.prompts import read_prompts

    pool.add(project, read_prompts(fixtures / "prompts-sample.jsonl")[0])
    drawn = pool.sample(project, 8, by="bucket", seed=4)
    assert Counter(p.bucket for p in drawn) == {"general": 5, "high-risk": 3}  # 25:15 of 40
    assert [p.id for p in pool.sample(project, 8, by="bucket", seed=4)] == [p.id for p in drawn]
    assert [p.id for p in pool.sample(project, 8, by="bucket", seed=5)] != [p.id for p in drawn]
    capped = pool.sample(project, None, by="bucket", quotas={"high-risk": 2}, seed=1)
    assert Counter(p.bucket for p in capped) == {"general": 25, "high-risk": 2}
    with pytest.raises(ProjectError, match="no prompt in the pool has bucket nope"):
        pool.sample(project, 4, by="bucket", quotas={"nope": 1})
    pool.mark_generated(project, [p.id for p in drawn], "run-1")
    fresh = pool.sample(project, None)
    assert len(fresh) == 32 and not {p.id for p in fresh} & {p.id for p in drawn}


def test_the_project_file_itself_is_refused_as_input_before_it_is_opened(project, capsys):
    """A plain open() of the project file in this process would drop its connection's locks (SQLite's "How To
    Corrupt", 2.2): a prompt or import file that is the project is refused by stat."""
    path = project.path
    project.close()
    for args in (["prompts", "import", str(path), "-p", str(path)], ["import", str(path), "-p", str(path)]):
        assert main(args) == 2
        assert "this is the project file itself" in capsys.readouterr().err
    with Project.open(path) as again:
        assert again.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
