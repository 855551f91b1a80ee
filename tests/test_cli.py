"""The CLI as a user types it: new, import, export, stats, --version."""

import json
import subprocess
import sys


def test_version_runs_without_loading_qt_or_torch():
    code = ("import sys, prefdesk.cli as c; c.build_parser(); "  # every command group's module, imported
            "print(sorted(m for m in ('PySide6', 'torch', 'transformers', 'trl') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    out = subprocess.run([sys.executable, "-m", "prefdesk", "--version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "prefdesk 0.1.0"


def test_new_import_stats_export_round_trip(cli, fixtures, tmp_path):
    p = tmp_path / "proj.prefdesk"
    assert cli("new", p)[0] == 0
    code, out, _ = cli("import", fixtures / "seed-formats.jsonl", "-p", p)
    assert code == 0 and "4 items and 4 labels added" in out
    code, out, _ = cli("import", fixtures / "seed-formats.jsonl", "-p", p)
    assert "0 items and 0 labels added; 4 items already in the project" in out
    code, out, _ = cli("stats", "-p", p, "--json")
    stats = json.loads(out)
    assert stats["items"] == {"pairwise": 2, "process": 1, "scalar": 1}
    assert stats["labels_by_source"] == {"import": 4} and stats["items_short_of_overlap"] == 4
    code, out, _ = cli("export", "-p", p, "--format", "seed", "--out", tmp_path / "out")
    assert code == 0 and "seed: 4 rows written" in out


def test_a_refused_import_exits_non_zero_and_prints_line_and_field(cli, tmp_path):
    p = tmp_path / "proj.prefdesk"
    cli("new", p)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "scalar", "prompt": "p", "response": "r", "score": "x"}\n')
    code, out, err = cli("import", bad, "-p", p)
    assert code == 2 and f"{bad}:1: score: expected a number, got str" in err and "project is unchanged" in err


def test_export_summary_names_what_was_left_out(cli, fixtures, tmp_path):
    p = tmp_path / "proj.prefdesk"
    cli("new", p)
    cli("import", fixtures / "helpsteer2_preference.jsonl", "-p", p)
    code, out, _ = cli("export", "-p", p, "--format", "trl-preference", "--out", tmp_path / "o")
    assert "2 rows written" in out and "left out: 1 tie" in out


def test_opening_a_missing_project_is_a_clear_error(cli, tmp_path):
    code, _, err = cli("stats", "-p", tmp_path / "nope.prefdesk")
    assert code == 2 and "no such project file" in err


def test_smoke_test_commits_one_label_through_the_window():
    out = subprocess.run([sys.executable, "-m", "prefdesk", "--smoke-test"], capture_output=True, text=True,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("smoke ok: 1 label committed")
    assert "panels opened: train, quality, versions, items, generate, evaluate, feedback, arbitrate" in out.stdout
    assert "README.md, manifest.json, preference-test.jsonl, preference-test.parquet" in out.stdout
