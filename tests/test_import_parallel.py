"""Big files are converted by worker processes; the result must be the serial path's, record for record.

The pieces are made small here so that a few hundred records spread over many pieces and workers.
"""

import json

import pytest

from prefdesk.formats import parallel, reader
from prefdesk.formats.errors import ImportRefused
from prefdesk.formats.importer import import_file
from prefdesk.store.project import Project


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


@pytest.mark.parametrize("text", [b"", b"\n\n", b'{"a": 1}', b'{"a": 1}\n{"b": 2}', b"x" * 5000 + b"\ny\n" + b"z" * 3000])
def test_pieces_cover_the_file_on_line_boundaries(tmp_path, text):
    path = tmp_path / "f.jsonl"
    path.write_bytes(text)
    got, expected_line = b"", 1
    for offset, length, line in parallel.pieces(path, 1024):
        assert offset == len(got) and line == expected_line
        got += text[offset:offset + length]
        expected_line += text[offset:offset + length].count(b"\n")
        assert got.endswith(b"\n") or len(got) == len(text)
    assert got == text


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
