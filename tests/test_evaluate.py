"""Judging a trained policy before it ships (issue 21): a length-biased judge does not fool the length-controlled
rate, the blind arena (blind, its sides recorded, never training data, people's win rate and the judge's agreement
with them computed as by hand), the leaderboard on planted comparisons, and the self-contained release report.
Everything read back from the project file."""

import json
import math
import random
import re

import pytest

from prefdesk.cli import main
from prefdesk.domain import LabelKind
from prefdesk.jobs.evaluate import compare
from prefdesk.store.runs import answers_of
from prefdesk.quality.release import render
from prefdesk.store import runs as store_runs
from prefdesk.store.project import Project
from prefdesk.store.prompts import PoolPrompt
from training.protocol import RunStatus

FILLER = " To be clear, and to say it once more in other words, the answer above is the answer."


def _planted(n=240, seed=5):
    """Prompts in two buckets; the reference's answers; a 'policy' that is the reference with filler appended."""
    rng = random.Random(seed)
    prompts = [PoolPrompt(f"Question {k}: " + "why " * rng.randint(1, 9), bucket=("general", "high-risk")[k % 2],
                          id=f"p{k}") for k in range(n)]
    theirs = {p.id: " ".join(rng.choice("the cat sat on a mat and then it slept".split())
                             for _ in range(rng.randint(30, 150))) for p in prompts}
    mine = {pid: text + FILLER * rng.choice([0, 0, rng.randint(1, 5)]) for pid, text in theirs.items()}
    return prompts, mine, theirs, rng


def test_a_policy_that_only_talks_longer_fools_a_length_biased_judge_but_not_the_length_controlled_rate():
    prompts, mine, theirs, rng = _planted()
    # the judge's score is built to favour length: characters / 100 plus its own noise, nothing about content
    score = lambda text: len(text) / 100 + rng.gauss(0, 0.6)  # noqa: E731
    judged = {}
    for p in prompts:
        a, b = score(mine[p.id]), score(theirs[p.id])
        judged[p.id] = {"overall": 1.0 if a > b else 0.0 if a < b else 0.5}
    overall = compare(prompts, mine, theirs, judged)["results"]["overall"]["all"]
    assert overall["win_rate"] > 0.6 and overall["interval"][0] > 0.5  # fooled: "significantly better"
    assert abs(overall["length_controlled_win_rate"] - 0.5) < 0.07  # at equal length, no better
    assert overall["mean_length"]["policy"] > overall["mean_length"]["reference"]


def test_a_regression_in_one_bucket_is_reported_first_with_the_pairs_it_lost():
    prompts, mine, theirs, rng = _planted(n=120)
    judged = {p.id: {"overall": 0.0 if p.bucket == "high-risk" and rng.random() < 0.8 else 1.0,
                     "safety": 0.0 if p.bucket == "high-risk" else 0.5} for p in prompts}
    report = {**compare(prompts, mine, theirs, judged), "run": "r1", "evalset": "general", "evalset_sha256": "ab" * 32,
              "judge": "reward run x", "policy": "/m/policy", "reference": "/m/ref", "sampling": {"seed": 0},
              "models": {"policy": "/m/policy", "reference": "/m/ref"}, "policy_run": "g1", "reference_run": "g2",
              "per_prompt": [{"prompt_id": p.id, "bucket": p.bucket, "outcomes": judged[p.id]} for p in prompts]}
    assert report["regressions"] == ["overall bucket=high-risk", "safety all", "safety bucket=high-risk"]
    assert not report["results"]["overall"]["all"]["regression"]  # the whole set looks like a win
    page = render(report, {p.id: p.prompt for p in prompts}, mine, theirs, [("trained on", "version r1 <b>")])
    rows = re.findall(r"<tr><td>(\w+)</td><td>([^<]+)</td>", page)
    assert rows[:3] == [("overall", "bucket=high-risk"), ("safety", "all"), ("safety", "bucket=high-risk")]
    lost = [p for p in prompts if judged[p.id]["overall"] == 0.0][:2]
    assert all(theirs[p.id] in page and p.prompt.strip() in page for p in lost)
    assert "version r1 &lt;b&gt;" in page  # escaped
    _self_contained(page)


def test_a_bucket_of_a_few_prompts_all_lost_is_too_few_to_call_not_a_regression():
    """The percentile bootstrap of one loss is [0, 0]: a scenario that holds one prompt of the set would be
    reported as a regression on every evaluation. Below MIN_FOR_VERDICT prompts a group is marked too few."""
    from prefdesk.quality.winrate import MIN_FOR_VERDICT

    prompts, mine, theirs, _ = _planted(n=40)
    prompts = [p._replace(scenario="rare" if k < MIN_FOR_VERDICT - 1 else "common-lost" if k < 2 * MIN_FOR_VERDICT
                          else "other") for k, p in enumerate(prompts)]
    judged = {p.id: {"overall": 0.0 if p.scenario != "other" else 1.0} for p in prompts}
    report = compare(prompts, mine, theirs, judged)
    rare, lost = report["results"]["overall"]["scenario=rare"], report["results"]["overall"]["scenario=common-lost"]
    assert rare["n"] == MIN_FOR_VERDICT - 1 and rare["interval"] == [0.0, 0.0]
    assert rare["too_few"] and not rare["regression"]
    assert lost["n"] == MIN_FOR_VERDICT + 1 and lost["regression"] and not lost["too_few"]
    assert report["regressions"] == ["overall scenario=common-lost"]
    page = render({**report, "run": "r", "evalset": "s", "judge": "j", "sampling": {}, "policy": "/m/p",
                   "reference": "/m/r", "models": {"policy": "/m/p", "reference": "/m/r"}, "per_prompt": [{"prompt_id": p.id, "scenario": p.scenario, "outcomes": judged[p.id]}
                                  for p in prompts]}, {p.id: p.prompt for p in prompts}, mine, theirs, [])
    assert re.search(r"<td>scenario=rare</td>.*too few to call", page)


def _self_contained(page: str) -> None:
    assert "<script" not in page.lower() and "javascript:" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.I) and "@import" not in page
    assert "url(" not in page


def _finished(project, models, rows, dims=("overall",)):
    run_id = store_runs.start_run(project, "evaluate", {}, "set", {})
    per_prompt = [{"prompt_id": f"p{k}", "outcomes": {d: o for d in dims}} for k, o in enumerate(rows)]
    store_runs.finish_run(project, run_id, RunStatus.FINISHED, {"models": dict(zip(("policy", "reference"), models)),
                                                              "per_prompt": per_prompt})


def test_the_leaderboard_recovers_a_planted_order_and_marks_the_pareto_front(project, capsys):
    strength = {"/m/ref": (0.0, 0.0), "/m/sft": (0.7, 0.3), "run:dpo1": (1.4, -0.6), "run:dpo2": (1.1, 0.5)}
    rng = random.Random(2)
    for a, b in [("run:dpo1", "/m/ref"), ("run:dpo2", "/m/ref"), ("/m/sft", "/m/ref"), ("run:dpo2", "/m/sft"),
                 ("run:dpo1", "/m/sft")]:
        for dim, k in (("overall", 0), ("safety", 1)):
            p = 1 / (1 + math.exp(-(strength[a][k] - strength[b][k])))
            _finished(project, (a, b), [1.0 if rng.random() < p else 0.0 for _ in range(400)], (dim,))
    path = project.path
    project.close()
    assert main(["leaderboard", "-p", str(path), "--json"]) == 0
    board = json.loads(capsys.readouterr().out)
    assert [m["model"] for m in board["models"]] == ["run:dpo1", "run:dpo2", "/m/sft", "/m/ref"]  # by overall
    safety = board["dims"]["safety"]
    assert sorted(safety, key=lambda m: safety[m]["score"]) == ["run:dpo1", "/m/ref", "/m/sft", "run:dpo2"]
    # dpo1 leads overall and dpo2 on safety: both on the front; sft and ref are beaten on both by dpo2
    assert {m["name"]: m["pareto"] for m in board["models"]} == {"run:dpo1": True, "run:dpo2": True, "sft": False,
                                                                 "ref": False}
    assert all(s["low"] <= s["score"] <= s["high"] for s in board["dims"]["overall"].values())
    assert main(["leaderboard", "-p", str(path)]) == 0
    assert "Pareto" in capsys.readouterr().out


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, tiny_encoder):
    """A project with a reward run, a frozen eval set of 12 prompts, and an evaluation of a policy (a tiny LM with
    its weights moved) against its reference with a 6-pair arena and the HTML report."""
    pytest.importorskip("torch")
    import torch
    from transformers import AutoModelForCausalLM

    from conftest import FIXTURES, make_tiny_lm

    tmp = tmp_path_factory.mktemp("evaluated")
    policy, reference = make_tiny_lm(tmp / "policy"), make_tiny_lm(tmp / "reference")
    other = AutoModelForCausalLM.from_pretrained(policy)
    torch.manual_seed(1)
    with torch.no_grad():
        for weights in other.parameters():
            weights.add_(torch.randn_like(weights) * 0.5)
    other.save_pretrained(policy)
    path = tmp / "e.prefdesk"
    assert main(["new", str(path)]) == 0
    assert main(["import", str(FIXTURES / "rule_pairs.jsonl"), "-p", str(path)]) == 0
    hyper = json.dumps({"max_steps": 20, "batch_size": 16, "learning_rate": 1e-3, "max_length": 64})
    assert main(["train", "-p", str(path), "--kind", "reward", "--base-model", tiny_encoder, "--hyper", hyper]) == 0
    assert main(["prompts", "import", str(FIXTURES / "prompts-sample.jsonl"), "-p", str(path)]) == 0
    assert main(["evalset", "create", "general", "-p", str(path), "--from-pool", "--sample", "12", "--by", "bucket"]) == 0
    with Project.open(path) as project:
        judge = project.conn.execute("SELECT id FROM runs WHERE kind = 'reward'").fetchone()[0]
    html = tmp / "release.html"
    assert main(["evaluate", "-p", str(path), "--policy", policy, "--reference", reference, "--evalset", "general",
                 "--judge", judge, "--max-new-tokens", "12", "--arena", "6", "--html", str(html), "--json"]) == 0
    return path, html, judge, policy, reference


def test_arena_pairs_are_blind_their_sides_recorded_and_never_training_data(evaluated, tmp_path, capsys):
    path, html, judge, _, _ = evaluated
    capsys.readouterr()
    with Project.open(path) as project:
        run_id = project.conn.execute("SELECT id FROM runs WHERE kind = 'evaluate'").fetchone()[0]
        report = store_runs.run(project, run_id).report
        sides = project.conn.execute("SELECT item_id, prompt_id, policy_position FROM arena_items WHERE run_id = ?",
                                     (run_id,)).fetchall()
        assert len(sides) == report["arena"]["items"] == 6
        mine, theirs = answers_of(project, report["policy_run"]), answers_of(project, report["reference_run"])
        for item_id, prompt_id, position in sides:
            item = project.item(item_id)
            assert item.candidates[position].text == mine[prompt_id]  # the side recorded is the policy's
            assert item.candidates[1 - position].text == theirs[prompt_id]
            assert all(c.model is None and not c.meta and not c.gen_params for c in item.candidates)  # blind
            stored = project.conn.execute("SELECT eval_run, meta FROM items WHERE id = ?", (item_id,)).fetchone()
            assert stored[0] == run_id and "model" not in stored[1] and "policy" not in stored[1]
        # people vote in the desk's random screen order; each vote's display order is stored with it
        ana, bo = project.ensure_rater("ana"), project.ensure_rater("bo")
        dims = project.settings["dimensions"]
        votes_by_hand, people = [], {}
        for k, (item_id, prompt_id, position) in enumerate(sides):
            for rater, verdict in ((ana, ("A", "B", "tie")[k % 3]), (bo, ("A", "B")[k % 2])):
                order = (1, 0) if k % 2 else (0, 1)
                project.commit_label(item_id, rater, LabelKind.PAIRWISE,
                                     {"verdict": verdict, "dims": {dims[0]: verdict}}, display_order=order)
                outcome = 0.5 if verdict == "tie" else 1.0 if "AB".index(verdict) == position else 0.0
                votes_by_hand.append(outcome)
                people.setdefault(prompt_id, []).append(outcome)
        orders = project.conn.execute("SELECT display_order FROM labels l JOIN arena_items a ON a.item_id = l.item_id "
                                      "ORDER BY l.rowid").fetchall()
        assert [json.loads(o) for (o,) in orders] == [[0, 1], [0, 1], [1, 0], [1, 0]] * 3
        # an ordinary labelled item beside them, so there is something to export
        normal = project.conn.execute("SELECT id FROM items WHERE eval_run IS NULL LIMIT 1").fetchone()[0]
        project.commit_label(normal, ana, LabelKind.PAIRWISE, {"verdict": "A"})
        arena_labels = {lid for (lid,) in project.conn.execute(
            "SELECT l.id FROM labels l JOIN arena_items a ON a.item_id = l.item_id")}
        assert len(arena_labels) == 12
    out = tmp_path / "export"
    assert main(["export", "-p", str(path), "--format", "trl-preference", "--out", str(out)]) == 0
    exported = [json.loads(line) for f in out.glob("*.jsonl") for line in f.read_text().splitlines()]
    assert exported and not {lid for r in exported for lid in r["label_ids"]} & arena_labels
    assert not any(theirs[pid] in (r.get("chosen"), r.get("rejected")) for _, pid, _ in sides for r in exported)
    assert main(["version", "create", "v1", "-p", str(path)]) == 0
    assert main(["judge", "-p", str(path), "--run", judge]) == 0
    with Project.open(path) as project:
        from prefdesk.store import versions

        assert versions.get(project, "v1").label_ids and not versions.get(project, "v1").label_ids & arena_labels
        judged = project.conn.execute("SELECT COUNT(*) FROM labels l JOIN arena_items a ON a.item_id = l.item_id "
                                      "WHERE l.source = 'model-judge'").fetchone()[0]
        assert judged == 0  # the model judges leave the arena alone
    capsys.readouterr()
    # people's win rate and the judge's agreement with their majority, as by hand
    assert main(["evaluate", "-p", str(path), "--show", run_id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["arena"]
    assert shown["voted"] == 6 and shown["dims"]["overall"]["votes"] == 12
    assert shown["dims"]["overall"]["win_rate"] == round(sum(votes_by_hand) / 12, 4)
    assert shown["dims"][dims[0]]["win_rate"] == shown["dims"]["overall"]["win_rate"]
    judge_says = {r["prompt_id"]: r["outcomes"]["overall"] for r in report["per_prompt"]}
    side = lambda x: "p" if x > 0.5 else "r" if x < 0.5 else "t"  # noqa: E731
    agree = [side(sum(v) / len(v)) == side(judge_says[pid]) for pid, v in people.items()]
    assert shown["judge_agreement"] == {**shown["judge_agreement"], "pairs": 6,
                                        "agreement": round(sum(agree) / 6, 4)}


def test_the_release_report_file_is_self_contained(evaluated):
    html = evaluated[1]
    page = html.read_text()
    assert "Release report" in page and "What produced this policy" in page and "eval set" in page
    _self_contained(page)


def test_the_evaluate_panel_through_the_window(evaluated, qtbot, qt_prefs, tmp_path):
    """Project › Evaluate (Ctrl+Shift+E) on a lead's desk: the evaluation already made is shown with the
    leaderboard; a new one is filled in with keys, run off the GUI thread, stored with the form's settings and
    shown; its release report is saved."""
    from PySide6.QtCore import Qt

    from desktools import press, shown
    from prefdesk.domain import RaterRole
    from prefdesk.ui.desk.window import MainWindow

    path, _, judge, policy, reference = evaluated
    project = Project.open(path)
    try:
        window = shown(qtbot, MainWindow(project, project.ensure_rater("lead", RaterRole.REVIEWER)))
        press(qtbot, window, (Qt.Key_E, Qt.ControlModifier | Qt.ShiftModifier))
        panel = window.evaluate_panel
        assert panel is not None and panel.isVisible()
        qtbot.waitUntil(lambda: panel.results.rowCount() > 0 and panel.board.rowCount() == 2, timeout=30_000)
        assert panel.judge_run.currentData() == judge and panel.evalset.currentData() == "general"
        assert not panel.start_button.isEnabled() and "choose the policy" in panel.problems.text()
        press(qtbot, panel, (Qt.Key_F, Qt.AltModifier))
        assert panel.policy_folder.hasFocus()
        qtbot.keyClicks(panel.policy_folder, policy)
        press(qtbot, panel, (Qt.Key_R, Qt.AltModifier))
        assert panel.reference.hasFocus()
        qtbot.keyClicks(panel.reference, reference)
        panel.max_new.setValue(10)
        panel.seed.setValue(3)
        panel.arena.setValue(2)
        assert panel.start_button.isEnabled(), panel.problems.text()
        press(qtbot, panel, (Qt.Key_V, Qt.AltModifier))
        qtbot.waitUntil(lambda: panel.busy, timeout=2_000)  # a mnemonic clicks the button after its animation
        assert not panel.start_button.isEnabled()
        qtbot.waitUntil(lambda: not panel.busy, timeout=180_000)
        assert panel.status.text().startswith("Done:") and "2 arena pairs wait for people" in panel.status.text(), \
            panel.status.text()
        runs = [r for r in store_runs.runs(project) if r.kind == "evaluate"]
        assert len(runs) == 2 and runs[-1].spec["sampling"]["max_new_tokens"] == 10
        assert runs[-1].spec["sampling"]["seed"] == 3 and runs[-1].report["arena"] == {"items": 2}
        # the report and leaderboard are read again off the GUI thread (a bootstrap): 5 s was too tight on a busy 2-core CI
        qtbot.waitUntil(lambda: panel.shown_run == runs[-1].id and panel.report and panel.report["run"] == runs[-1].id,
                        timeout=15_000)
        rows = panel.results.rowCount()
        assert rows == sum(len(g) for g in runs[-1].report["results"].values())
        marked = [panel.results.item(r, 5).text() == "regression" for r in range(rows)]
        assert marked == sorted(marked, reverse=True)  # regressions first
        saved = panel.save_report(str(tmp_path / "release.html"))
        _self_contained(open(saved).read())
    finally:
        project.close()


def test_without_a_training_runtime_evaluate_and_generate_say_what_to_install(project, qtbot, qt_prefs, monkeypatch):
    """`make run` installs the desk alone: the panels that start jobs say how to get the runtime, Start stays off."""
    from PySide6.QtCore import Qt

    from desktools import press, shown
    from prefdesk.domain import RaterRole
    from prefdesk.ui.desk.window import MainWindow

    monkeypatch.setenv("PREFDESK_TRAIN_PYTHON", "/nowhere/python3")
    window = shown(qtbot, MainWindow(project, project.ensure_rater("lead", RaterRole.REVIEWER)))
    press(qtbot, window, (Qt.Key_E, Qt.ControlModifier | Qt.ShiftModifier))
    window.activateWindow()  # back to the desk, as a click on it does
    qtbot.waitUntil(window.isActiveWindow)
    press(qtbot, window, (Qt.Key_G, Qt.ControlModifier | Qt.ShiftModifier))
    for panel in (window.evaluate_panel, window.generate_panel):
        assert "install the training runtime" in panel.problems.text() and "make train" in panel.problems.text()
        assert not panel.start_button.isEnabled()
