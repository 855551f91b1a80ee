"""Only SQLite opens the project file: acknowledged labels survive a panel and a second process.

POSIX locks belong to the process; closing any descriptor of the project file (a Python `open()` of its
header, a file copy, a hash) drops the locks of every connection the process holds, and the next process
to close the file deletes the WAL the desk still writes into (SQLite's "How To Corrupt An SQLite Database
File", 2.2). These tests fail on code that does that.
"""

import ast
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt

from desktools import pairs, press, shown, write_jsonl
from prefdesk.domain import LabelKind
from prefdesk.formats.importer import import_file
from prefdesk.store.project import Project

ROOT = Path(__file__).resolve().parent.parent
PREFDESK = [sys.executable, "-m", "prefdesk"]


def deleted_project_files(path: Path) -> list[str]:
    """This process's descriptors on a deleted file of the project (its -wal or -shm unlinked under it)."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(path)) and target.endswith("(deleted)"):
            out.append(target)
    return out


def other_process_opens_and_closes(path: Path) -> None:
    """What `prefdesk stats`, a training job's count or the sqlite3 shell does: open, read, close."""
    done = subprocess.run([*PREFDESK, "stats", "-p", str(path), "--json"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def labels_in_file(path: Path) -> dict[str, dict]:
    """Every label in the file as a fresh process would read it: id -> payload."""
    conn = sqlite3.connect(path)
    try:
        return {i: json.loads(p) for i, p in conn.execute("SELECT id, payload FROM labels")}
    finally:
        conn.close()


def test_a_label_acknowledged_after_a_second_open_and_another_process_is_in_the_file(tmp_path):
    path = tmp_path / "p.prefdesk"
    with Project.create(path) as p:
        import_file(p, write_jsonl(tmp_path, pairs(5)))
    proj = Project.open(path)
    rater = proj.ensure_rater("lena")
    Project.open(path).close()  # what a panel does in the desk's process
    other_process_opens_and_closes(path)
    item = proj.conn.execute("SELECT id FROM items ORDER BY id LIMIT 1").fetchone()[0]
    label = proj.new_label(item, rater, LabelKind.PAIRWISE, {"verdict": "A"})
    assert proj.write_label(label)  # acknowledged
    assert deleted_project_files(path) == [], "the WAL was deleted under an open connection"
    other_process_opens_and_closes(path)  # a reader sees it while the desk still has the file open
    assert label.id in labels_in_file(path)
    proj.close()
    assert labels_in_file(path)[label.id] == {"verdict": "A"}
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_labels_given_with_the_quality_panel_open_while_stats_runs_are_in_the_file_after_the_desk_quits(
        qtbot, qt_prefs, tmp_path):
    from prefdesk.ui.desk.window import MainWindow

    path = tmp_path / "p.prefdesk"
    with Project.create(path) as p:
        p.set_settings({"gold_rate": 0.0})
        import_file(p, write_jsonl(tmp_path, pairs(30)))
    project = Project.open(path)
    lead = project.ensure_rater("lena", "expert")
    window = shown(qtbot, MainWindow(project, lead))
    press(qtbot, window, (Qt.Key_Q, Qt.ControlModifier | Qt.ShiftModifier))  # Quality panel: its own open
    qtbot.waitUntil(lambda: window.quality_panel.report is not None, timeout=30000)
    other_process_opens_and_closes(path)
    window.activateWindow()  # back to the desk, as the lead clicks on it
    qtbot.waitUntil(window.isActiveWindow)
    given = []
    for key, verdict in [(Qt.Key_1, "left"), (Qt.Key_2, "right"), (Qt.Key_T, "tie"), (Qt.Key_B, "both_bad")] * 3:
        before = project.conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0]
        press(qtbot, window, key)
        qtbot.waitUntil(lambda: project.conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == before + 1)
        given.append(verdict)
        if len(given) % 4 == 0:
            other_process_opens_and_closes(path)
    assert deleted_project_files(path) == []
    acknowledged = {i: json.loads(p)["verdict"] for i, p in project.conn.execute("SELECT id, payload FROM labels")}
    window.close()
    project.close()
    stored = {i: p["verdict"] for i, p in labels_in_file(path).items()}
    assert stored == acknowledged and len(stored) == len(given)  # 1 and 2 store A or B by the display order
    assert sorted(v for v in stored.values() if v in ("tie", "both_bad")) == sorted(v for v in given if v in ("tie", "both_bad"))
    done = subprocess.run([*PREFDESK, "stats", "-p", str(path), "--json"], capture_output=True, text=True, cwd=ROOT)
    assert json.loads(done.stdout)["labels_by_rater"] == {"lena": len(given)}


def test_no_python_level_open_of_the_project_file_while_the_app_works_on_it(tmp_path, cli):
    """Every open Python makes goes through the `open` audit event; SQLite's own do not. Over a day's work
    in one process (open twice, import, config, stats, quality, version, export, split, merge) none may
    name the project file or its -wal/-shm."""
    path = tmp_path / "p.prefdesk"
    seen: list[str] = []

    def hook(event, args):
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            name = os.fsdecode(args[0])
            if Path(name).name.startswith("p.prefdesk") and not name.endswith(".pending.jsonl"):
                seen.append(name)
    watching = [True]
    sys.addaudithook(lambda e, a: hook(e, a) if watching[0] else None)
    try:
        with Project.create(path) as p:
            import_file(p, write_jsonl(tmp_path, pairs(12)))
        desk = Project.open(path)  # a connection held all along, as the desk holds one
        lena = desk.ensure_rater("lena")
        for (item,) in desk.conn.execute("SELECT id FROM items LIMIT 6").fetchall():
            desk.commit_label(item, lena, LabelKind.PAIRWISE, {"verdict": "A"})
        for args in (["config", "-p", path, "--set", "overlap=2"], ["stats", "-p", path],
                     ["quality", "-p", path, "--json"], ["version", "create", "v1", "-p", path],
                     ["export", "-p", path, "--format", "trl-preference", "--out", tmp_path / "out"],
                     ["split", "-p", path, "--raters", "ana,ben", "--out", tmp_path / "team"]):
            code, _, err = cli(*args)
            assert code == 0, (args, err)
        with Project.open(tmp_path / "team" / "ana.prefdesk") as ana:
            item = ana.conn.execute("SELECT id FROM items LIMIT 1").fetchone()[0]
            ana.commit_label(item, ana.ensure_rater("ana"), LabelKind.PAIRWISE, {"verdict": "B"})
        code, _, err = cli("merge", "-p", path, tmp_path / "team" / "ana.prefdesk")
        assert code == 0, err
        desk.close()
    finally:
        watching[0] = False
    assert seen == [], f"opened outside SQLite: {seen}"


# Calls that open a file by name, and every place in prefdesk/ that makes one, each on a file that is never
# the project (import and export files, run folders, the held-labels file, resources). A new one fails this
# test until someone has checked it and added it here.
_OPENERS = {"open", "copy", "copy2", "copyfile", "copyfileobj", "copytree", "read_bytes", "read_text",
            "write_bytes", "write_text", "file_digest"}
_CHECKED = {
    # a training bundle (jobs.bundle): its own new folder, a base model's and a bundle's folders, each refused
    # when it holds the project file (bundle._refuse_holding_project)
    "prefdesk/jobs/bundle.py: (staging / name).write_text", "prefdesk/jobs/bundle.py: open(path)",
    "prefdesk/jobs/bundle.py: path.read_bytes", "prefdesk/jobs/bundle.py: path.read_text",
    "prefdesk/jobs/bundle.py: shutil.copy2(folder / name)", "prefdesk/jobs/bundle.py: shutil.copy2(folder / topo.RUN / name)",
    "prefdesk/jobs/bundle.py: shutil.copytree(base_model)", "prefdesk/jobs/bundle.py: shutil.copytree(folder / 'dataset')",
    "prefdesk/jobs/bundle.py: shutil.copytree(model)", "prefdesk/jobs/bundle.py: shutil.copytree(source)",
    "prefdesk/ui/train/bundle.py: dialog.open",  # a QDialog shown, no file
    "prefdesk/cli/project.py: Path(args.guidelines).read_text", "prefdesk/cli/jobs.py: Path(args.html).write_text",
    "prefdesk/demo.py: (source / 'labels.jsonl').read_text", "prefdesk/demo.py: (source / 'raters.jsonl').read_text",
    "prefdesk/demo.py: (source / 'settings.json').read_text",
    "prefdesk/formats/export.py: (staging / 'manifest.json').write_text", "prefdesk/formats/export.py: path.read_text",
    "prefdesk/formats/export.py: open(staging / names['train'])", "prefdesk/formats/export.py: open(staging / names['test'])",
    "prefdesk/formats/folder.py: open(path)", "prefdesk/formats/folder.py: shutil.copy2(old)",
    "prefdesk/formats/importer.py: hashlib.file_digest(f)", "prefdesk/formats/importer.py: open(out)",
    "prefdesk/formats/importer.py: open(path)", "prefdesk/formats/parallel.py: open(path)",
    "prefdesk/formats/reader.py: open(path)", "prefdesk/formats/reader.py: path.read_bytes",
    "prefdesk/jobs/plan.py: config_path.read_text", "prefdesk/jobs/train.py: (dataset / 'manifest.json').read_text",
    "prefdesk/jobs/train.py: open(folder / EVENTS_FILE)", "prefdesk/jobs/train.py: open(folder / LOG_FILE)",
    "prefdesk/jobs/train.py: out.read_text", "prefdesk/jobs/train.py: spec_path.read_text",
    "prefdesk/jobs/train.py: spec_path.write_text", "prefdesk/jobs/train.py: src.write_text",
    "prefdesk/jobs/watch.py: (folder / LOG_FILE).read_text", "prefdesk/jobs/watch.py: (folder / PID_FILE).read_text",
    "prefdesk/jobs/watch.py: open(folder / EVENTS_FILE)", "prefdesk/jobs/watch.py: open(folder / LOCK_FILE)",
    "prefdesk/jobs/watch.py: open(self.folder / EVENTS_FILE)", "prefdesk/jobs/watch.py: report.read_text",
    "prefdesk/store/pending.py: open(path)", "prefdesk/store/pending.py: path.read_bytes",
    "prefdesk/store/pending.py: open(project.path.with_name(project.path.name + '.pending-refused.jsonl'))",
    # a prompt file (refused by stat when it is the project: store.connection.refuse_project_file), and a
    # generation or judge run's folder beside the project (spec, prompts, events, log, samples, pairs)
    "prefdesk/formats/prompts.py: path.read_bytes", 
    "prefdesk/jobs/generate.py: prompts_path.write_text",
    "prefdesk/jobs/generate.py: samples.read_text", "prefdesk/jobs/generate.py: spec_path.write_text",
    "prefdesk/jobs/judge.py: open(folder / 'pairs.jsonl')", "prefdesk/jobs/judge.py: (folder / 'job.json').write_text",
    
    "prefdesk/jobs/judge.py: (folder / 'model' / 'verdicts.jsonl').read_text",
    "prefdesk/cli/generate.py: Path(args.file).read_text",
    "prefdesk/ui/generate/panel.py: (Path(folder) / 'config.json').read_text",  # a model folder's config
    # an evaluation: its generation runs' samples, and the scoring job's files in a temporary folder
    "prefdesk/store/runs.py: (run_folder(project, run_id) / 'model' / SAMPLES_FILE).read_text",
    "prefdesk/jobs/evaluate.py: out.read_text", "prefdesk/jobs/evaluate.py: src.write_text",
    # the HTML release report, refused by stat when it would be the project (store.connection.refuse_project_file)
    "prefdesk/cli/evaluate.py: Path(path).write_text", "prefdesk/ui/evaluate/panel.py: Path(path).write_text",
    # an export's own files in its staging folder: the dataset card, and the Parquet copy it hashes
    "prefdesk/formats/export.py: (staging / CARD_FILE).write_text", "prefdesk/formats/parquet.py: open(out)",
    "prefdesk/formats/parquet.py: hashlib.file_digest(f)",
    # a feedback export (refused by stat when it is the project) and its rejects file beside it
    "prefdesk/feedback/importer.py: path.read_bytes", "prefdesk/feedback/importer.py: open(out)",
    # rm-eval: a run's dataset file (its train rows' label ids), and the HTML report (refused by stat as the project)
    "prefdesk/quality/rm_pairs.py: path.read_text", "prefdesk/cli/rm_eval.py: Path(args.html).write_text",
}


def file_opening_calls() -> set[str]:
    """Each call in prefdesk/ that opens or copies a file by name, as "module: call"."""
    found = set()
    for path in sorted((ROOT / "prefdesk").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            call = ast.unparse(func)
            if name not in _OPENERS or call in ("Project.open", "cls.open") or (name == "copy" and not node.args):
                continue  # Project.open goes through SQLite; array.copy() opens nothing
            if isinstance(func, ast.Name) or name in ("copy", "copy2", "copyfile", "copytree", "file_digest"):
                call += f"({ast.unparse(node.args[0])})" if node.args else "()"
            found.add(f"{rel}: {call}")
    return found


def test_every_file_open_in_the_app_is_one_checked_to_never_be_the_project_file():
    unchecked = sorted(file_opening_calls() - _CHECKED)
    assert unchecked == [], ("open the project only through SQLite (copies: store.connection.backup_copy); "
                             "a call on another file goes in _CHECKED once checked:\n" + "\n".join(unchecked))
