"""The reward-model judge (issue 20) on the shared HH-RLHF harmless rows 1-200: a reward run trained on rows
1-150 (MiniLM, CPU) judges rows 151-200; its agreement with the dataset's own labels, and its accuracy by
confidence bin (terciles of its Bradley-Terry confidence), which should rise with confidence. Five epochs: after
two, the run's reward gaps were all within 0.07 of each other, its confidence 0.500-0.518 everywhere and the bins
noise (0.65 / 0.59 / 0.50); `JUDGE_BENCH_EPOCHS` sets it."""

import json
import os
from pathlib import Path

from conftest import report

ROOT = Path(__file__).resolve().parents[2]
HH = ROOT / "tests" / "fixtures" / "hh_rlhf_harmless_200.jsonl"
HYPER = json.dumps({"epochs": float(os.environ.get("JUDGE_BENCH_EPOCHS", "5")), "batch_size": 8, "max_length": 512})


def test_reward_judge_on_hh_rows_1_to_200(tmp_path):
    from prefdesk.cli import main
    from prefdesk.store.project import Project

    lines = HH.read_text().splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:150]) + "\n")
    (tmp_path / "judge.jsonl").write_text("\n".join(lines[150:200]) + "\n")
    path = tmp_path / "hh.prefdesk"
    assert main(["new", str(path)]) == 0
    assert main(["import", str(tmp_path / "train.jsonl"), "-p", str(path)]) == 0
    assert main(["train", "-p", str(path), "--kind", "reward", "--hyper", HYPER]) == 0
    assert main(["import", str(tmp_path / "judge.jsonl"), "-p", str(path), "--set-meta", "bucket=heldout"]) == 0
    with Project.open(path) as project:
        run_id = project.conn.execute("SELECT id FROM runs WHERE kind = 'reward'").fetchone()[0]
    assert main(["judge", "-p", str(path), "--run", run_id, "--where", "bucket=heldout"]) == 0
    with Project.open(path) as project:
        rows = project.conn.execute(
            "SELECT j.confidence, json_extract(j.payload, '$.verdict') = json_extract(r.payload, '$.verdict') "
            "FROM labels j JOIN labels r ON r.item_id = j.item_id AND r.source = 'reference' "
            "JOIN items i ON i.id = j.item_id WHERE j.source = 'model-judge' AND i.bucket = 'heldout'").fetchall()
    assert len(rows) == 50
    agreement = sum(ok for _, ok in rows) / len(rows)
    report("reward judge agreement with HH's labels (rows 151-200, trained on 1-150)", agreement, 0.5, "",
           at_least=True)
    rows.sort()
    bins = [rows[:17], rows[17:34], rows[34:]]
    accuracy = []
    for k, part in enumerate(bins):
        acc = sum(ok for _, ok in part) / len(part)
        accuracy.append(acc)
        print(f"[bench] confidence tercile {k + 1} ({part[0][0]:.3f}-{part[-1][0]:.3f}, {len(part)} pairs): "
              f"accuracy {acc:.3f}")
    report("accuracy rise from the lowest to the highest confidence tercile", accuracy[-1] - accuracy[0], 0.0, "",
           at_least=True)
