"""`prefdesk rm-eval` (issue 35): held-out decided pairs, in order gold, arbitrated, majority; accuracy per subset with
a hand-written reward function whose answers are known (it scores by length); best-of-4; and the command end to end
on a reward model trained here."""

import json

import pytest

from desktools import write_jsonl
from prefdesk.domain import LabelKind, RaterRole
from prefdesk.formats.importer import import_file
from prefdesk.quality import arbitration
from prefdesk.quality.rm_eval import evaluate
from prefdesk.quality.rm_pairs import best_of_four, held_out_pairs

SHORT, LONG = "Yes.", "Yes: take it with food, twice a day, and stop if a rash appears."


def _item(prompt, a, b, bucket):
    return {"prompt": prompt, "response_a": a, "response_b": b, "bucket": bucket}


@pytest.fixture
def decided(project, tmp_path):
    """Items with known decisions; a length scorer is right where the chosen answer is the longer one."""
    records = [
        _item("m1", LONG, SHORT, "math"),   # ann, bo: A -> longer chosen: right
        _item("m2", SHORT, LONG, "math"),   # ann, bo: B -> longer chosen: right
        _item("m3", LONG + " More.", LONG, "math"),  # ann, bo, cy: A, A, B (2/3 < 0.7): excluded
        _item("m4", SHORT, LONG, "math"),   # ann, bo: A -> shorter chosen: wrong
        _item("s1", SHORT, LONG, "safety"),  # gold A -> shorter chosen: wrong
        _item("s2", LONG, SHORT, "safety"),  # disputed, arbitrated B -> shorter chosen: wrong
        _item("s3", LONG, SHORT, "safety"),  # ann, bo: tie: excluded
        _item("s4", LONG, SHORT, "safety"),  # ann A, bo B: split: excluded (never arbitrated)
        _item("x1", LONG, SHORT, "math"),   # ann alone: A -> single rater, right; trained on in one test
    ]
    import_file(project, write_jsonl(tmp_path, records))
    ids = {p: i for p, i in project.conn.execute("SELECT prompt, id FROM items")}
    ann, bo, cy = (project.ensure_rater(n) for n in ("ann", "bo", "cy"))
    lea = project.ensure_rater("lea", RaterRole.REVIEWER)
    votes = {"m1": "AA", "m2": "BB", "m3": "AAB", "m4": "AA", "s2": "AB", "s3": ["tie", "tie"], "s4": "AB", "x1": "A"}
    for prompt, verdicts in votes.items():
        for rater, v in zip((ann, bo, cy), verdicts):
            dims = {"safety": "B"} if prompt == "m1" else {}  # m1: safety prefers the shorter B
            project.commit_label(ids[prompt], rater, LabelKind.PAIRWISE, {"verdict": v, "dims": dims})
    project.conn.execute("UPDATE items SET is_gold = 1, gold_answer = '{\"verdict\": \"A\"}' WHERE id = ?", (ids["s1"],))
    arbitration.decide(project, ids["s2"], lea, "B", "the short answer is the safe one")
    return ids


def by_length(project):
    texts = {i: [c["text"] for c in json.loads(c)] for i, c in project.conn.execute("SELECT id, candidates FROM items")}
    return lambda item, pos, dim: float(len(texts[item][pos]))


def test_a_length_scorer_gets_the_accuracy_it_must_per_subset_and_level(project, decided):
    pairs = held_out_pairs(project.conn, exclude=set(), threshold=0.7)
    assert {p.item_id for p in pairs.pairs} == {decided[k] for k in ("m1", "m2", "m4", "s1", "s2", "x1")}
    assert pairs.excluded == {"agreement under 70%": 1, "majority tie": 1, "split evenly": 1}
    levels = {p.item_id: p.level for p in pairs.pairs}
    assert levels[decided["s1"]] == "gold" and levels[decided["s2"]] == "arbitrated"
    assert levels[decided["m1"]] == "unanimous" and levels[decided["x1"]] == "single rater"
    report = evaluate(pairs, [], by_length(project))
    assert report["pairs"] == 6 and report["accuracy"]["accuracy"] == pytest.approx(0.5)
    by = report["by"]
    assert by["bucket"]["math"]["accuracy"] == pytest.approx(0.75) and by["bucket"]["math"]["n"] == 4
    assert by["bucket"]["safety"]["accuracy"] == 0.0 and by["bucket"]["safety"]["n"] == 2
    assert by["level"]["gold"]["accuracy"] == 0.0 and by["level"]["unanimous"]["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert by["dimension"]["safety"] == {"n": 1, "accuracy": 0.0, "low": 0.0, "high": 0.0}
    assert report["length"]["prefers_longer"] == 1.0  # a length scorer always prefers the longer answer
    assert report["length"]["always_longer_accuracy"] == pytest.approx(0.5)
    assert report["margin"]["negative"] == 3
    low, high = report["accuracy"]["low"], report["accuracy"]["high"]
    assert 0 <= low < 0.5 < high <= 1


def test_pairs_the_run_trained_on_are_left_out(project, decided):
    pairs = held_out_pairs(project.conn, exclude={decided["x1"], decided["m1"]})
    assert pairs.trained_on == 2 and decided["x1"] not in {p.item_id for p in pairs.pairs}


def test_best_of_four_counts_a_set_only_when_the_accepted_answer_beats_all_three(project, tmp_path):
    import_file(project, write_jsonl(tmp_path, [
        {"prompt": "q1", "responses": ["a much longer accepted answer", "b", "cc", "ddd"], "bucket": "general"},
        {"prompt": "q2", "responses": ["w", "the longest of the rejected", "yy", "zzz"], "bucket": "general"},
        {"prompt": "q3", "responses": ["p", "qq", "rrr", "ssss"], "bucket": "code"}], name="r.jsonl"))
    ids = {p: i for p, i in project.conn.execute("SELECT prompt, id FROM items")}
    ann, bo = project.ensure_rater("ann"), project.ensure_rater("bo")
    for prompt in ("q1", "q2"):
        for rater in (ann, bo):
            project.commit_label(ids[prompt], rater, LabelKind.RANKING, {"order": [[0], [1], [2], [3]]})
    project.commit_label(ids["q3"], ann, LabelKind.RANKING, {"order": [[3], [0], [1], [2]]})
    project.commit_label(ids["q3"], bo, LabelKind.RANKING, {"order": [[2], [3], [0], [1]]})  # no agreed best
    quads = best_of_four(project.conn, exclude=set())
    assert {q.item_id for q in quads} == {ids["q1"], ids["q2"]}
    bo4 = evaluate(held_out_pairs(project.conn, set()), quads, by_length(project))["best_of_4"]
    assert bo4["sets"] == 2 and bo4["accuracy"]["accuracy"] == 0.5 and bo4["chance"] == 0.25
    assert bo4["by_subset"]["general"]["n"] == 2


def test_rm_eval_end_to_end_on_a_reward_model_trained_here(fixtures, tmp_path, cli, tiny_encoder):
    path = tmp_path / "rm.prefdesk"
    assert cli("new", path)[0] == 0
    assert cli("import", fixtures / "rule_pairs.jsonl", "-p", path)[0] == 0
    hyper = json.dumps({"max_steps": 10, "batch_size": 16, "learning_rate": 1e-3, "max_length": 64})
    code, out, err = cli("train", "-p", path, "--kind", "reward", "--base-model", tiny_encoder, "--hyper", hyper,
                         "--test-fraction", "0.3", "--quiet")
    assert code == 0, err
    run = json.loads(out)["id"]
    code, out, err = cli("rm-eval", "-p", path, "--run", run, "--json", "--html", tmp_path / "rm.html")
    assert code == 0, err
    report = json.loads(out)
    assert report["trained_on_left_out"] > 0 and report["pairs"] > 0 and report["unscored"] == 0
    assert report["pairs"] + report["trained_on_left_out"] + sum(report["excluded"].values()) == \
        json.loads(cli("stats", "-p", path, "--json")[1])["items"]["pairwise"]
    assert report["trained_on_left_out"] == pytest.approx(0.7 * 400, abs=25)  # the train split: 70% of the prompts
    assert 0 <= report["accuracy"]["accuracy"] <= 1 and "by_difference" in report["length"]
    assert "<h1>Reward model" in (tmp_path / "rm.html").read_text()
    code, text_out, _ = cli("rm-eval", "-p", path, "--run", run)  # scored once: read back, not scored again
    assert code == 0 and f"held-out decided pairs {report['pairs']}" in " ".join(text_out.split())


def test_rewardbench_exports_hold_the_decided_pairs_and_best_of_four_sets_a_benchmark_reads(project, decided, tmp_path):
    from datasets import load_dataset

    from prefdesk.formats.export import export_dataset
    from prefdesk.quality.export_policy import export_policy

    export_dataset(project, "rewardbench", tmp_path / "rb", export_policy(project))
    rows = [json.loads(x) for x in (tmp_path / "rb" / "rewardbench.jsonl").read_text().splitlines()]
    assert len(rows) == 7  # six decided pairs, and m1's safety verdict as a dimension's row
    by_id = {r["id"]: r for r in rows}
    m1 = by_id[decided["m1"]]
    assert (m1["chosen"], m1["rejected"], m1["subset"]) == (LONG, SHORT, "math")
    dim = by_id[f"{decided['m1']}:safety"]
    assert (dim["chosen"], dim["rejected"], dim["subset"]) == (SHORT, LONG, "dimension:safety")
    assert by_id[decided["s2"]]["chosen"] == SHORT  # the arbitrated verdict, not the split votes
    assert set(rows[0]) == {"id", "prompt", "chosen", "rejected", "chosen_model", "rejected_model", "subset"}
    assert load_dataset(str(tmp_path / "rb"))["train"].num_rows == 7
    import_file(project, write_jsonl(tmp_path, [
        {"prompt": "q1", "responses": ["best", "b", "c", "d"], "bucket": "general"}], name="r.jsonl"))
    q1 = project.conn.execute("SELECT id FROM items WHERE prompt = 'q1'").fetchone()[0]
    for name in ("ann", "bo"):
        project.commit_label(q1, project.rater(name), LabelKind.RANKING, {"order": [[0], [2], [1], [3]]})
    export_dataset(project, "rewardbench-2", tmp_path / "rb2", export_policy(project))
    (row,) = [json.loads(x) for x in (tmp_path / "rb2" / "rewardbench_2.jsonl").read_text().splitlines()]
    assert (row["chosen"], row["rejected"], row["num_correct"], row["num_incorrect"], row["total_completions"]) == (
        ["best"], ["b", "c", "d"], 1, 3, 4)
    assert row["subset"] == "general" and len(row["models"]) == 4


def test_a_multi_head_runs_own_head_judges_each_dimension(project, decided):
    """A reward-dims run's stored scores (one per head): the safety head is read for the safety verdict."""
    from prefdesk.jobs.rm_eval import rm_eval
    from prefdesk.store import runs as store_runs
    from training.protocol import RunStatus

    run_id = store_runs.start_run(project, "reward-dims", {}, "", {})
    store_runs.finish_run(project, run_id, RunStatus.FINISHED, {}, model_dir="unused")
    texts = {i: [c["text"] for c in json.loads(c)] for i, c in project.conn.execute("SELECT id, candidates FROM items")}
    rows = [(item, pos, float(len(text)), {"safety": -float(len(text))})  # overall: longer; safety head: shorter
            for item, cands in texts.items() for pos, text in enumerate(cands)]
    store_runs.store_scores(project, run_id, rows)
    report = rm_eval(project, run_id, score_missing=False)
    assert report["accuracy"]["accuracy"] == pytest.approx(0.5) and report["unscored"] == 0
    assert report["by"]["dimension"]["safety"]["accuracy"] == 1.0  # m1: safety prefers the shorter, as its head does
