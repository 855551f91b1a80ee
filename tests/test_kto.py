"""KTO: `prefdesk export --format trl-unpaired` (TRL's unpaired preference rows: each aggregated pair split into a
desirable and an undesirable answer) and `prefdesk train --kind kto` on TRL's KTOTrainer, with the class weights
set from the balance and reported."""

import json

from datasets import load_dataset

from training.kto import class_weights


def test_the_unpaired_export_splits_each_pair_into_its_two_sides_and_loads_as_a_dataset(fixtures, tmp_path, cli):
    project = tmp_path / "p.prefdesk"
    assert cli("new", project)[0] == 0
    assert cli("import", fixtures / "hh_rlhf_20.jsonl", "-p", project, "--labels-as", "votes")[0] == 0
    assert cli("export", "-p", project, "--format", "trl-preference", "--out", tmp_path / "pairs")[0] == 0
    assert cli("export", "-p", project, "--format", "trl-unpaired", "--out", tmp_path / "kto")[0] == 0
    pairs = [json.loads(x) for x in (tmp_path / "pairs" / "preference.jsonl").read_text().splitlines()]
    rows = [json.loads(x) for x in (tmp_path / "kto" / "unpaired.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * len(pairs) == 40
    for pair, good, bad in zip(pairs, rows[::2], rows[1::2]):
        assert (good["prompt"], good["completion"], good["label"]) == (pair["prompt"], pair["chosen"], True)
        assert (bad["prompt"], bad["completion"], bad["label"]) == (pair["prompt"], pair["rejected"], False)
        assert good["label_ids"] == pair["label_ids"] and bad["side"] == "rejected"
    ds = load_dataset(str(tmp_path / "kto"))
    assert ds["train"].num_rows == 40 and set(ds["train"].column_names) >= {"prompt", "completion", "label"}
    assert cli("export", "-p", project, "--format", "trl-unpaired", "--conversational", "--out", tmp_path / "c")[0] == 0
    first = json.loads((tmp_path / "c" / "unpaired.jsonl").read_text().splitlines()[0])
    assert first["prompt"][-1]["role"] == "user" and first["completion"][0]["role"] == "assistant"


def test_class_weights_bring_the_weighted_ratio_to_one():
    rows = [{"label": True}] * 3 + [{"label": False}]
    assert class_weights(rows) == (1.0, 3.0, 3, 1)
    assert class_weights([{"label": True}, {"label": False}] * 5) == (1.0, 1.0, 5, 5)
    assert class_weights([{"label": True}] + [{"label": False}] * 4) == (4.0, 1.0, 1, 4)


def test_prefdesk_train_kind_kto_runs_trls_kto_trainer_and_records_the_run(fixtures, tmp_path, cli, tiny_lm):
    project = tmp_path / "p.prefdesk"
    assert cli("new", project)[0] == 0
    assert cli("import", fixtures / "hh_rlhf_20.jsonl", "-p", project, "--labels-as", "votes")[0] == 0
    hyper = json.dumps({"max_steps": 3, "batch_size": 4, "max_length": 128, "logging_steps": 1, "lora_r": 4,
                        "lora_alpha": 8})
    code, out, err = cli("train", "-p", project, "--kind", "kto", "--base-model", tiny_lm, "--hyper", hyper, "--quiet")
    assert code == 0, err[-3000:]
    code, out, _ = cli("runs", "-p", project, "--json")
    (run,) = json.loads(out)
    assert run["kind"] == "kto" and run["status"] == "finished"
    report = run["report"]
    assert report["job"] == "kto" and report["steps"] == 3 and report["lora"] is True
    assert report["desirable_weight"] == report["undesirable_weight"] == 1.0 and report["weighted_ratio"] == 1.0
    assert report["desirable_rows"] == report["undesirable_rows"] == report["train_rows"] // 2
    assert report["eval"]["loss"] is not None and report["eval"]["rewards_chosen"] is not None
    assert report["eval"]["rewards_rejected"] is not None
    from prefdesk.store.runs import run_folder
    from prefdesk.store.project import Project

    with Project.open(project) as opened:
        model_dir = run_folder(opened, run["id"]) / "model"
    assert (model_dir / "adapter_config.json").exists() and (model_dir / "adapter_model.safetensors").exists()


def test_the_specs_own_class_weights_win_and_are_reported(fixtures, tmp_path, cli, tiny_lm):
    project = tmp_path / "p.prefdesk"
    assert cli("new", project)[0] == 0
    assert cli("import", fixtures / "hh_rlhf_20.jsonl", "-p", project, "--labels-as", "votes")[0] == 0
    hyper = json.dumps({"max_steps": 1, "batch_size": 4, "max_length": 64, "lora_r": 4, "desirable_weight": 1.25})
    assert cli("train", "-p", project, "--kind", "kto", "--base-model", tiny_lm, "--hyper", hyper, "--quiet")[0] == 0
    (run,) = json.loads(cli("runs", "-p", project, "--json")[1])
    assert run["report"]["desirable_weight"] == 1.25 and run["report"]["weighted_ratio"] == 1.25


def test_kto_on_an_encoder_is_refused_before_a_run_is_recorded(fixtures, tmp_path, cli, tiny_encoder):
    project = tmp_path / "p.prefdesk"
    assert cli("new", project)[0] == 0
    assert cli("import", fixtures / "hh_rlhf_20.jsonl", "-p", project, "--labels-as", "votes")[0] == 0
    code, _, err = cli("train", "-p", project, "--kind", "kto", "--base-model", tiny_encoder)
    assert code == 2 and "KTO needs a causal language model" in err
    assert json.loads(cli("runs", "-p", project, "--json")[1]) == []
