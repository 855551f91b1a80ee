"""Model judges (issue 20): the LLM judge in both orders (inconsistent orders make a tie, an unreadable reply is
counted and makes no verdict), the reward-model judge (verdict from the score gap, Bradley-Terry confidence),
never on gold items, never a rater of the item, listed in the quality report, and routing. Read back from the
project file."""

import json
import math
import random
from pathlib import Path

import pytest

from conftest import make_tiny_lm
from desktools import write_jsonl
from prefdesk.cli import main
from prefdesk.domain import LabelSource, RaterRole
from prefdesk.store.project import Project
from training.judge import combine, parse

pytest.importorskip("torch")
HYPER = json.dumps({"max_steps": 30, "batch_size": 16, "learning_rate": 1e-3, "max_length": 64, "logging_steps": 5})


def test_replies_are_read_strictly():
    assert parse("Answer 2 is wrong.\nVerdict: 1") == "1" and parse("verdict : tie\n\n") == "tie"
    for reply in ("Verdict: 1.", "I pick 1", "Verdict: 1\nthanks", "", "Verdict: A"):
        assert parse(reply) is None


def test_both_orders_agreeing_give_the_verdict_disagreeing_a_tie():
    assert combine(["A", "A", "B"], ["A", "A", None]) == {
        "unreadable": 1, "readings": 6, "verdict": "A", "confidence": 0.8, "consistent": True,
        "orders": {"AB": "A", "BA": "A"}}
    out = combine(["A", "A"], ["B", "B"])  # the first answer wins whatever it is: position, not preference
    assert out["verdict"] == "tie" and out["confidence"] == 0.5 and out["consistent"] is False
    assert combine([None, None], ["A"])["verdict"] is None


@pytest.fixture(scope="module")
def always_first(tmp_path_factory):
    """A tiny causal LM taught to answer every judge prompt with `Verdict: 1`: it always prefers the answer
    shown first, whatever it is."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = make_tiny_lm(tmp_path_factory.mktemp("judge-lm"))
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    ending = 'exactly "Verdict: 1", "Verdict: 2" or "Verdict: tie".'
    rng = random.Random(0)
    words = "the a cat dog answer prompt safe doctor take pills why how good bad".split()
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 15))) + " " + ending for _ in range(32)]
    target = tok("verdict : 1", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        ids = [tok(x)["input_ids"] + target for x in rng.sample(texts, 8)]
        width = max(map(len, ids))
        inp = torch.tensor([[tok.pad_token_id] * (width - len(i)) + i for i in ids])
        labels = torch.full_like(inp, -100)
        labels[:, -len(target):] = torch.tensor(target)
        loss = model(input_ids=inp, attention_mask=(inp != tok.pad_token_id).long(), labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.save_pretrained(folder)
    return folder


def _project(tmp_path, n=4):
    path = tmp_path / "j.prefdesk"
    assert main(["new", str(path)]) == 0
    records = [{"prompt": f"Question {i}: is it safe?", "response_a": f"Yes, answer {i}.", "response_b": f"No {i}.",
                "risk_level": "high" if i == 0 else "low"} for i in range(n)]
    assert main(["import", str(write_jsonl(tmp_path, records)), "-p", str(path)]) == 0
    with Project.open(path) as project:
        gold = project.conn.execute("SELECT id FROM items ORDER BY rowid DESC LIMIT 1").fetchone()[0]
        project.conn.execute("UPDATE items SET is_gold = 1, gold_answer = '{\"verdict\": \"B\"}' WHERE id = ?", (gold,))
    return path, gold


def test_an_llm_judge_that_always_prefers_the_first_answer_gives_ties(tmp_path, always_first, capsys):
    path, gold = _project(tmp_path)
    assert main(["judge", "-p", str(path), "--model", always_first]) == 0
    assert "4 pairs judged (1 gold, not labelled), 3 labels written" in capsys.readouterr().out
    with Project.open(path) as project:
        labels = project.conn.execute("SELECT item_id, payload, confidence, source FROM labels").fetchall()
        (judge,) = [r for r in project.raters() if r.role is RaterRole.MODEL_JUDGE]
        assert judge.name.startswith("judge:") and judge.name.endswith(":default@v1")
        assert gold not in {row[0] for row in labels}  # never on a gold item
        for _, payload, confidence, source in labels:
            payload = json.loads(payload)
            assert source == "model-judge" and payload["verdict"] == "tie" and confidence == 0.5
            assert payload["judge"]["orders"] == {"AB": "A", "BA": "B"}
        assert project.conn.execute("SELECT SUM(n_raters), SUM(open) FROM items WHERE is_gold = 0").fetchone() == (0, 3)
        assert project.conn.execute("SELECT verdict, correct FROM judge_gold").fetchone() == ("tie", 0)
        from prefdesk.quality.report import quality_report

        row = quality_report(project)["raters"][judge.name]
        assert row["position_consistency"] == 0.0 and row["gold_accuracy"] == 0.0 and row["gold_labels"] == 1
        version, template = project.conn.execute("SELECT version, text FROM judge_templates").fetchone()
        assert version == "v1" and "{guidelines}" in template


def test_evaluate_with_an_llm_judge_asks_both_orders_and_reads_its_position_bias_as_ties(tmp_path, always_first,
                                                                                        tiny_lm, fixtures, capsys):
    """`prefdesk evaluate --judge-model`: the policy's answer is the pair's A, asked in both orders; a judge that
    always says "the first" disagrees with itself across orders on every prompt, so the policy neither wins nor
    loses (1/2 everywhere), and each prompt's orders are kept in the report."""
    path = tmp_path / "e.prefdesk"
    assert main(["new", str(path)]) == 0
    assert main(["prompts", "import", str(fixtures / "prompts-sample.jsonl"), "-p", str(path)]) == 0
    assert main(["evalset", "create", "small", "-p", str(path), "--from-pool", "--sample", "4"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "-p", str(path), "--policy", tiny_lm, "--reference", tiny_lm, "--evalset", "small",
                 "--judge-model", always_first, "--max-new-tokens", "8", "--temperature", "1.0", "--seed", "1",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["judge"].startswith("judge:") and report["judge_model"] == always_first
    assert [r["orders"] for r in report["per_prompt"]] == [{"AB": "A", "BA": "B"}] * 4
    assert report["results"]["overall"]["all"]["win_rate"] == 0.5 and report["no_verdict"] == 0
    with Project.open(path) as project:
        kinds = [k for (k,) in project.conn.execute("SELECT kind FROM runs ORDER BY started_at")]
        assert kinds == ["eval-generate", "eval-generate", "judge", "evaluate"]
        assert project.conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 0  # the judge labels nothing here
    with pytest.raises(SystemExit):  # one judge or the other
        main(["evaluate", "-p", str(path), "--policy", tiny_lm, "--reference", tiny_lm, "--evalset", "small",
              "--judge-model", str(tmp_path), "--judge", "x"])
    assert "not allowed with argument" in capsys.readouterr().err
    assert main(["evaluate", "-p", str(path), "--policy", tiny_lm, "--reference", tiny_lm, "--evalset", "small"]) == 2
    assert "give one judge" in capsys.readouterr().err


def test_an_unreadable_judge_is_counted_and_makes_no_label(tmp_path, tiny_lm, capsys):
    path, _ = _project(tmp_path, n=3)
    assert main(["judge", "-p", str(path), "--model", tiny_lm, "--samples", "2", "--temperature", "1.0"]) == 0
    out = capsys.readouterr().out
    assert "0 labels written" in out and "3 without a verdict; 12 unreadable replies" in out
    with Project.open(path) as project:
        assert project.conn.execute("SELECT COUNT(*) FROM labels").fetchone() == (0,)
        (run,) = project.conn.execute("SELECT kind, status, report FROM runs").fetchall()
        assert run[:2] == ("judge", "finished") and json.loads(run[2])["unreadable"] == 12


@pytest.fixture(scope="module")
def rewarded(tmp_path_factory, tiny_encoder):
    """A project of 400 labelled rule pairs and one finished reward run on them, then 4 new unlabelled pairs."""
    tmp_path = tmp_path_factory.mktemp("rm-judge")
    fixtures = Path(__file__).parent / "fixtures"
    path = tmp_path / "rm.prefdesk"
    assert main(["new", str(path)]) == 0
    assert main(["import", str(fixtures / "rule_pairs.jsonl"), "-p", str(path)]) == 0
    assert main(["train", "-p", str(path), "--kind", "reward", "--base-model", tiny_encoder, "--hyper", HYPER]) == 0
    fresh = [{"prompt": f"New question {i}?", "response_a": f"A careful answer {i}.", "response_b": f"Whatever {i}.",
              "risk_level": "high" if i == 0 else "low"} for i in range(4)]
    assert main(["import", str(write_jsonl(tmp_path, fresh, "fresh.jsonl")), "-p", str(path)]) == 0
    with Project.open(path) as project:
        run_id = project.conn.execute("SELECT id FROM runs").fetchone()[0]
    return path, run_id


def test_the_reward_model_judge_and_routing(rewarded, capsys):
    path, run_id = rewarded
    assert main(["config", "-p", str(path), "--set", "judge_skips_people=true", "judge_skip_confidence=0.5"]) == 0
    capsys.readouterr()
    assert main(["judge", "-p", str(path), "--run", run_id]) == 0
    assert "404 pairs judged (0 gold, not labelled), 404 labels written" in capsys.readouterr().out
    with Project.open(path) as project:
        rows = project.conn.execute(
            "SELECT l.item_id, l.payload, l.confidence, r.name, r.role FROM labels l JOIN raters r ON r.id = l.rater_id "
            "WHERE l.source = 'model-judge'").fetchall()
        scores = {(i, p): s for i, p, s in project.conn.execute("SELECT item_id, position, score FROM scores")}
        for item_id, payload, confidence, name, role in rows:
            gap = scores[(item_id, 0)] - scores[(item_id, 1)]
            assert json.loads(payload)["verdict"] == ("A" if gap > 0 else "B")
            assert confidence == pytest.approx(1 / (1 + math.exp(-abs(gap))), abs=1e-4)
            assert name.startswith(f"judge:rm:{run_id}:") and role == "model-judge"
        # routing: a confident judge's unlabelled low-risk items skip people; the high-risk one stays
        held = dict(project.conn.execute("SELECT prompt, held_back IS NOT NULL FROM items WHERE prompt LIKE 'New%'"))
        assert held["New question 0?"] == 0 and sum(held.values()) == 3
        # a judge's label is not a person's: the labelled items' raters are the people's
        assert project.conn.execute("SELECT MAX(n_raters) FROM items").fetchone() == (1,)
        # people label the new items too (the rule pairs' winners all stand first: their verdicts are all A)
        ana = project.ensure_rater("ana")
        new = [i for (i,) in project.conn.execute("SELECT id FROM items WHERE prompt LIKE 'New%' ORDER BY prompt")]
        for k, item_id in enumerate(new):
            project.commit_label(item_id, ana, "pairwise", {"verdict": "AB"[k % 2]})
        from prefdesk.quality.report import quality_report
        from sklearn.metrics import cohen_kappa_score

        report = quality_report(project)
        judge = report["raters"][rows[0][3]]
        verdicts = dict(project.conn.execute(
            "SELECT item_id, json_extract(payload, '$.verdict') FROM labels WHERE source = 'model-judge'"))
        people = dict(project.conn.execute(
            "SELECT item_id, json_extract(payload, '$.verdict') FROM labels WHERE source != 'model-judge'"))
        order = ["A", "B", "tie", "both_bad"]
        expected = cohen_kappa_score([order.index(verdicts[i]) for i in people], [order.index(people[i]) for i in people],
                                     labels=[0, 1, 2, 3])
        assert judge["compared_with_people"] == 404 and judge["kappa_with_people"] == pytest.approx(expected, abs=1e-4)
        assert judge["position_consistency"] is None  # a reward model reads each answer alone
        assert report["by_source"]["model-judge"]["labels"] == 404


def test_the_uncertain_judge_order_puts_the_judges_least_sure_items_first(project, tmp_path):
    from prefdesk.domain import LabelKind
    from prefdesk.formats.importer import import_file
    from prefdesk.quality.model_queue import queue_in_order

    import_file(project, write_jsonl(tmp_path, [{"prompt": f"q{i}", "response_a": "a", "response_b": f"b{i}"}
                                                for i in range(4)]))
    items = [i for (i,) in project.conn.execute("SELECT id FROM items ORDER BY prompt")]
    judge = project.ensure_rater("judge:x", RaterRole.MODEL_JUDGE)
    for item, confidence in zip(items[:3], (0.9, 0.55, 0.7)):
        project.commit_label(item, judge, LabelKind.PAIRWISE, {"verdict": "A"}, source=LabelSource.MODEL_JUDGE,
                             confidence=confidence)
    order = [e.item_id for e in queue_in_order(project, "ana", "uncertain-judge")]
    assert order == [items[1], items[2], items[0], items[3]]


@pytest.mark.parametrize("pairing", ["spread", "closest"])
def test_spread_and_closest_pairs_are_chosen_by_the_reward_runs_scores(rewarded, tiny_lm, pairing, tmp_path):
    path, run_id = rewarded
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": f"{pairing} prompt {i}"}) + "\n" for i in range(3)))
    assert main(["generate", "-p", str(path), "--model", tiny_lm, "--prompts", str(prompts), "--n", "4",
                 "--pair", pairing, "--run", run_id, "--max-new-tokens", "12", "--temperature", "1.0",
                 "--keep-cut-answers"]) == 0
    with Project.open(path) as project:
        metas = [json.loads(m) for (m,) in project.conn.execute(
            "SELECT meta FROM items WHERE prompt LIKE ?", (f"{pairing} prompt %",))]
    assert len(metas) == 3
    for meta in metas:
        scores, (a, b) = meta["pair"]["scores"], meta["pair"]["chosen_from"]
        ranked = sorted(range(4), key=lambda i: scores[i])
        if pairing == "spread":
            assert {a, b} == {ranked[0], ranked[-1]}
        else:
            gaps = [scores[ranked[i + 1]] - scores[ranked[i]] for i in range(3)]
            assert abs(scores[a] - scores[b]) == pytest.approx(min(gaps))


def test_a_reviewer_sees_the_judges_verdict_with_m_and_an_annotator_never(desk, qtbot, project):
    from PySide6.QtCore import Qt

    from desktools import pairs, press
    from prefdesk.domain import ItemKind, LabelKind

    window = desk(pairs(2))
    judge = project.ensure_rater("judge:abc:default@v1", RaterRole.MODEL_JUDGE)
    for (item_id,) in project.conn.execute("SELECT id FROM items").fetchall():
        project.commit_label(item_id, judge, LabelKind.PAIRWISE, {"verdict": "B"}, source=LabelSource.MODEL_JUDGE,
                             confidence=0.8)
    view = window.views[ItemKind.PAIRWISE]
    press(qtbot, window, Qt.Key_M)  # ana is an annotator
    assert "hidden from annotators" in window.statusBar().currentMessage()
    assert "judge" not in view.left_caption.text() + view.right_caption.text()
    window.set_project(project, project.ensure_rater("rita", RaterRole.REVIEWER))
    press(qtbot, window, Qt.Key_M)
    b_side = view.left_caption if window.draft.display_order[0] == 1 else view.right_caption
    a_side = view.right_caption if b_side is view.left_caption else view.left_caption
    assert "judge ◆ 0.80" in b_side.text() and "judge" not in a_side.text()
    press(qtbot, window, Qt.Key_M)  # hidden again
    assert "judge" not in view.left_caption.text() + view.right_caption.text()
