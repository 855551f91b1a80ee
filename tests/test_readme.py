"""The README's shell examples, as written: every `prefdesk` line of its ```sh blocks, in order, in one scratch
folder (the input files it names are fixtures copied in under those names). A line that needs a model, a training
runtime or a screen (generate, judge, evaluate, rm-eval, train, score, runs import, the desk) is parsed by the real
parser instead, so a flag or a value it cannot take still fails here."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
from pathlib import Path

import pytest

from prefdesk.cli import build_parser, main

README = Path(__file__).parent.parent / "README.md"
FIXTURES = Path(__file__).parent / "fixtures"
INPUTS = {"hh.jsonl": "hh_rlhf_20.jsonl", "pairs.csv": "pairs.csv", "prompts.jsonl": "prompts-sample.jsonl",
          "openwebui.json": "feedback/openwebui-feedback-export.json"}
PARSED_ONLY = {"generate", "judge", "evaluate", "rm-eval", "train", "score"}


def readme_lines() -> list[str]:
    """The `prefdesk` command lines of the README's shell blocks, continuations joined, comments cut."""
    blocks = re.findall(r"^```sh\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)
    lines = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "prefdesk":
                lines.append(line)
    return lines


def parsed_only(argv: list[str]) -> bool:
    command = next((w for w in argv if not w.startswith("-") and w not in ("work.prefdesk", "ana")), None)
    return command is None or command in PARSED_ONLY or argv[:2] == ["runs", "import"]


def test_every_prefdesk_line_of_the_readme_runs_or_parses_as_written(tmp_path, monkeypatch):
    for name, fixture in INPUTS.items():
        shutil.copy(FIXTURES / fixture, tmp_path / name)
    (tmp_path / "guidelines.md").write_text("# Guidelines v2\n\nPrefer the answer that is safe first.\n")
    monkeypatch.chdir(tmp_path)
    lines = readme_lines()
    ran, parsed = [], []
    for line in lines:
        argv = shlex.split(line, comments=True)[1:]
        if parsed_only(argv):
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                try:
                    build_parser().parse_args(argv)
                except SystemExit:
                    pytest.fail(f"README: {line}\n{err.getvalue()}")
            parsed.append(line)
            continue
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse refusing the line
                code = exc.code
        assert code == 0, f"README: {line}\nexit {code}\n{err.getvalue()}{out.getvalue()[-2000:]}"
        ran.append(line)
    assert len(ran) >= 25 and len(parsed) >= 10, (len(ran), len(parsed))
    # what the session made is there: the export, the report, the versions, the rater files
    assert (tmp_path / "ds" / "preference.jsonl").stat().st_size > 0 and (tmp_path / "quality.html").is_file()
    assert (tmp_path / "ds-r2" / "preference.jsonl").is_file() and (tmp_path / "team" / "ana.prefdesk").is_file()


def test_a_readme_line_with_a_flag_the_parser_does_not_take_fails(tmp_path, monkeypatch):
    """The check above can fail: a line as an older README wrote it (one KEY=VALUE joined by commas) is refused."""
    monkeypatch.chdir(tmp_path)
    assert main(["new", "work.prefdesk"]) == 0
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["feedback", "backflow", "-p", "work.prefdesk", "--where", "bucket=billing,since=2026-12-01"])
    assert code == 2 and "give each FIELD=VALUE its own word: --where bucket=billing since=2026-12-01" in err.getvalue()
