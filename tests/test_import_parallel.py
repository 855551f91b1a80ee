"""Big files are converted by worker processes; the result must be the serial path's, record for record.

The pieces are made small here so that a few hundred records spread over many pieces and workers.
"""

import json

import pytest

from prefdesk.formats import parallel, reader
from prefdesk.formats.errors import ImportRefused
from prefdesk.formats.importer import import_file
from prefdesk.store.project import Project, ProjectError


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch):
    monkeypatch.setattr(parallel, "PIECE_BYTES", 2048)


def seed_lines(fixtures, n):
    """n seed records of every shape, each made distinct, with every 7th a repeat of an earlier one."""
    shapes = [json.loads(line) for line in (fixtures / "seed-formats.jsonl").read_text().splitlines() if line.strip()]
    out = []
    for i in range(n):
        if i % 7 == 6:
            out.append(out[i // 2])
            continue
        rec = json.loads(json.dumps(shapes[i % len(shapes)]))
        rec["prompt"] = f"{i}: {rec['prompt']}" if isinstance(rec["prompt"], str) else rec["prompt"] + [{"role": "user", "content": str(i)}]
        rec.setdefault("meta", {})["rater"] = ("ana", "ben")[i % 2]
        out.append(json.dumps(rec, ensure_ascii=i % 3 == 0))
    return out


def contents(project):
    items = project.conn.execute("SELECT kind, prompt, prompt_messages, meta, candidates, steps, content_hash, n_raters "
                                 "FROM items ORDER BY rowid").fetchall()
    labels = project.conn.execute("SELECT i.prompt, r.name, l.kind, l.payload, l.source FROM labels l "
                                  "JOIN items i ON i.id = l.item_id JOIN raters r ON r.id = l.rater_id ORDER BY l.rowid").fetchall()
    return items, labels


def import_both(tmp_path, src, **kw):
    """Import `src` serially and with two workers into two new projects; return both outcomes."""
    results = []
    for workers in (0, 2):
        with Project.create(tmp_path / f"w{workers}.prefdesk") as project:
            try:
                report = import_file(project, src, workers=workers, **kw)
                results.append((report.records, report.items_added, report.labels_added, report.duplicate_items,
                                report.duplicate_labels, [str(e) for e in report.rejected], contents(project)))
            except ImportRefused as exc:
                results.append(([str(e) for e in exc.errors], contents(project)))
    return results


def test_workers_import_what_the_serial_path_imports(fixtures, tmp_path):
    src = tmp_path / "many.jsonl"
    src.write_text("\n".join(seed_lines(fixtures, 400)) + "\n\n", encoding="utf-8")
    assert src.stat().st_size > 40 * parallel.PIECE_BYTES
    serial, workers = import_both(tmp_path, src)
    assert workers == serial
    records, items, labels, duplicates = serial[:4]
    assert (records, duplicates) == (400, 57) and items == 343 and labels == 343


def test_workers_list_the_same_problems_on_the_same_lines(fixtures, tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_RECORD_BYTES", 5000)
    lines = seed_lines(fixtures, 120)
    lines[10] = '{"type": "pairwise", "prompt": "p", "winner": "w"'          # truncated JSON
    lines[45] = '{"type": "scalar", "prompt": "p", "response": "r", "score": "high"}'
    lines[46] = '{"id": 5, "prompt": "q", "response": "r"}'
    lines[80] = '{"id": 5, "prompt": "q2", "response": "r"}'                # duplicate id
    lines[99] = '{"type": "pairwise", "prompt": "' + "x" * 9000 + '", "winner": "w", "loser": "l"}'  # too long
    src = tmp_path / "bad.jsonl"
    src.write_text("\n".join(lines), encoding="utf-8")  # and no newline at the end
    serial, workers = import_both(tmp_path, src)
    assert workers == serial
    errors, (items, labels) = serial
    assert [e.split(": ", 1)[0].rsplit(":", 1)[1] for e in errors] == ["11", "46", "47", "81", "100"]
    assert "line longer than" in errors[-1] and items == [] and labels == []


def test_workers_skip_bad_records_as_the_serial_path_does(fixtures, tmp_path):
    lines = seed_lines(fixtures, 60)
    lines[3] = "[1, 2]"
    lines[30] = '{"type": "process", "prompt": "p", "steps": [{"state": "s", "output": "o", "reward": 3}]}'
    src = tmp_path / "some_bad.jsonl"
    src.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    serial, workers = import_both(tmp_path, src, skip_bad=True)
    assert workers == serial
    assert len(serial[5]) == 2 and serial[0] == 59  # the non-object is not a record


@pytest.mark.parametrize("text", [b"", b"\n\n", b'{"a": 1}', b'{"a": 1}\n{"b": 2}', b"x" * 5000 + b"\ny\n" + b"z" * 3000,
                                  b"a\n" * 700 + b"b" * 1500 + b"\n" + b"c" * 900])
def test_pieces_cover_the_file_on_line_boundaries(tmp_path, text):
    path = tmp_path / "f.jsonl"
    path.write_bytes(text)
    got = b""
    for offset, length in parallel.pieces(path, 1024):
        assert offset == len(got) and length > 0
        got += text[offset:offset + length]
        assert got.endswith(b"\n") or len(got) == len(text)
    assert got == text


def test_a_line_too_long_is_a_piece_of_its_own_and_never_read(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_RECORD_BYTES", 3000)
    text = b"a\n" + b"x" * 3001 + b"\nb\n" + b"y" * 3000 + b"\n" + b"z" * 3001
    path = tmp_path / "f.jsonl"
    path.write_bytes(text)
    assert list(parallel.pieces(path, 1024)) == [(0, 2), (3004, -1), (3004, 2), (3006, 3001), (len(text), -1)]


def index_sql(project):
    return sorted(project.conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'").fetchall())


def test_a_big_import_rebuilds_the_indexes_it_dropped_and_a_refused_one_keeps_them(fixtures, tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "MIN_BYTES", 1000)  # "big" from 1 KB: the import drops and rebuilds
    with Project.create(tmp_path / "p.prefdesk") as project:
        before = index_sql(project)
        bad = tmp_path / "bad.jsonl"
        bad.write_text("\n".join(seed_lines(fixtures, 50)) + "\n{oops\n", encoding="utf-8")
        with pytest.raises(ImportRefused):
            import_file(project, bad)
        assert index_sql(project) == before and project.count("items") == 0
        good = tmp_path / "good.jsonl"
        good.write_text("\n".join(seed_lines(fixtures, 50)) + "\n", encoding="utf-8")
        import_file(project, good)
        assert index_sql(project) == before
        plan = project.conn.execute("EXPLAIN QUERY PLAN SELECT id FROM items WHERE is_gold = 0 AND open = 1 "
                                    "ORDER BY priority DESC, id LIMIT 1").fetchall()
        assert "items_queue" in str(plan)


def test_a_big_import_writes_through_a_rollback_journal_and_has_the_file_to_itself(fixtures, tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "MIN_BYTES", 1000)
    src = tmp_path / "big.jsonl"
    src.write_text("\n".join(seed_lines(fixtures, 50)) + "\n", encoding="utf-8")
    path = tmp_path / "p.prefdesk"
    seen = []

    def progress(done, total):
        seen.append(project.conn.execute("PRAGMA journal_mode").fetchone()[0])
        if done < total:
            with pytest.raises(ProjectError, match="busy: a large import is writing it"):
                Project.open(path)

    with Project.create(path) as project:
        import_file(project, src, progress=progress)
        assert seen[0] == "delete" and project.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Project.open(path) as project:
        assert project.count("items") == 43 and project.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_big_import_stays_in_wal_when_someone_else_has_the_file_open(fixtures, tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "MIN_BYTES", 1000)
    src = tmp_path / "big.jsonl"
    src.write_text("\n".join(seed_lines(fixtures, 50)) + "\n", encoding="utf-8")
    modes = []
    with Project.create(tmp_path / "p.prefdesk") as project, Project.open(project.path) as desk:
        import_file(project, src, progress=lambda *_: modes.append(project.conn.execute("PRAGMA journal_mode").fetchone()[0]))
        assert set(modes) == {"wal"} and desk.count("items") == 43  # the other connection sees the commit


CRASH = """
import os, sys
from prefdesk.formats import parallel
from prefdesk.formats.importer import import_file
from prefdesk.store.project import Project, ProjectError
parallel.MIN_BYTES = 1000
project = Project.open(sys.argv[1])
project.conn.execute("PRAGMA cache_size = 20")  # a small cache: written pages spill into the file before the crash
def progress(done, total):
    if done > total // 2:
        os._exit(3)  # the power goes off halfway through
import_file(project, sys.argv[2], progress=progress, workers=0)
"""


def test_a_big_import_cut_off_halfway_leaves_the_project_as_it_was(fixtures, tmp_path):
    import subprocess
    import sys

    path = tmp_path / "p.prefdesk"
    with Project.create(path) as project:
        before = index_sql(project)
    src = tmp_path / "big.jsonl"
    src.write_text("\n".join(seed_lines(fixtures, 9000)) + "\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", CRASH, str(path), str(src)], capture_output=True, text=True)
    assert run.returncode == 3, run.stderr
    journal = path.with_name(path.name + "-journal")
    assert journal.exists() and path.stat().st_size > 1 << 20  # pages were written, the journal is hot
    with Project.open(path) as project:  # the open rolls the journal back
        assert not journal.exists() and project.count("items") == 0 and project.count("labels") == 0
        assert index_sql(project) == before
        assert project.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert project.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert import_file(project, src, workers=0).items_added == 7715
