"""`prefdesk config` and the `labels` exchange format, through the CLI on real project files."""

import json

from prefdesk.store.project import Project


def test_config_prints_checks_and_stores_settings_and_refuses_bad_values_unchanged(cli, tmp_path):
    path = tmp_path / "p.prefdesk"
    assert cli("new", path)[0] == 0
    code, out, _ = cli("config", "-p", path)
    shown = json.loads(out)
    assert code == 0 and shown["guideline_version"] == "v1" and "Guidelines v1" in shown["guidelines"]
    code, out, _ = cli("config", "-p", path, "--set", "overlap=3", 'dimensions=["accuracy", "tone"]')
    assert code == 0 and json.loads(out)["overlap"] == 3 and json.loads(out)["dimensions"] == ["accuracy", "tone"]
    before = path.read_bytes()
    for bad, word in (("overlap=0", "overlap"), ("gold_rate=2", "gold_rate"), ("colour=1", "unknown setting"),
                      ('dimensions=["a", "a"]', "twice"), ("scale=[1, 12]", "scale"), ("overlap=three", "not JSON"),
                      ('rationale_required="sometimes"', "rationale_required")):
        code, _, err = cli("config", "-p", path, "--set", "gold_rate=0.2", bad)
        assert code == 2 and word in err, (bad, err)
    assert json.loads(cli("config", "-p", path)[1])["gold_rate"] == 0.1  # the good change went with the bad one
    guide = tmp_path / "g.md"
    guide.write_text("# v2: cite sources\n")
    code, out, _ = cli("config", "-p", path, "--guidelines", guide, "--guideline-version", "v2")
    assert code == 0 and json.loads(out)["guideline_version"] == "v2" and "cite sources" in json.loads(out)["guidelines"]
    assert cli("config", "-p", path, "--guidelines", guide, "--guideline-version", "v2")[0] == 2  # never rewritten
    assert before != path.read_bytes()


def test_labels_export_import_into_a_new_project_and_export_again_gives_the_same_labels(cli, tmp_path, fixtures):
    a = tmp_path / "a.prefdesk"
    cli("new", a)
    assert cli("import", fixtures / "seed-formats.jsonl", "-p", a)[0] == 0
    with Project.open(a) as project:
        item_id = project.conn.execute("SELECT id FROM items WHERE kind = 'pairwise'").fetchone()[0]
        rater = project.ensure_rater("ana")
        session = project.start_session(rater)
        first = project.commit_label(item_id, rater, "pairwise", {"verdict": "A", "strength": "clear", "dims": {},
                                     "reason_tags": [], "rationale": "r1"}, session=session, duration_ms=1200,
                                     display_order=(1, 0))
        project.commit_label(item_id, rater, "pairwise", {"verdict": "tie", "strength": None, "dims": {},
                             "reason_tags": [], "rationale": None}, session=session, supersedes=first, display_order=(1, 0))
        project.commit_rewrite(item_id, rater, 1, "a better answer", session=session)
    assert cli("export", "-p", a, "--format", "labels", "--out", tmp_path / "ex1")[0] == 0
    b = tmp_path / "b.prefdesk"
    cli("new", b)
    code, out, err = cli("import", tmp_path / "ex1" / "labels.jsonl", "-p", b)
    assert code == 0, err
    assert cli("export", "-p", b, "--format", "labels", "--out", tmp_path / "ex2")[0] == 0
    one = [json.loads(x) for x in (tmp_path / "ex1" / "labels.jsonl").read_text().splitlines()]
    two = [json.loads(x) for x in (tmp_path / "ex2" / "labels.jsonl").read_text().splitlines()]
    assert one == two and len(one) >= 4
    assert any(r["label"]["supersedes"] for r in one) and any(r["label"]["kind"] == "rewrite" for r in one)
    assert cli("import", tmp_path / "ex1" / "labels.jsonl", "-p", b)[0] == 0  # a second time adds nothing
    with Project.open(b) as project:
        assert project.count("labels") == len(one)


def refused_whole_then_skipped(cli, src, path, message, table):
    """The file is refused with `message` and `table` stays empty; with --skip-bad its good records land."""
    code, _, err = cli("import", src, "-p", path)
    assert code == 2 and message in err
    with Project.open(path) as project:
        assert project.count(table) == 0
    assert cli("import", src, "-p", path, "--skip-bad")[0] == 0


def test_a_labels_file_with_a_bad_payload_is_refused_with_its_line_and_field(cli, tmp_path):
    path = tmp_path / "p.prefdesk"
    cli("new", path)
    good = {"item": {"prompt": "q", "candidates": ["a", "b"], "gold": {"verdict": "A"}},
            "label": {"kind": "pairwise", "payload": {"verdict": "A"}, "rater": {"name": "ana"}}}
    bad = {"item": {"prompt": "q2", "candidates": ["a", "b"]},
           "label": {"kind": "pairwise", "payload": {"verdict": "left"}, "rater": {"name": "ana"}}}
    src = tmp_path / "labels.jsonl"
    src.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    refused_whole_then_skipped(cli, src, path, f"{src}:2: label.payload.verdict: expected one of", "items")
    with Project.open(path) as project:
        (gold,) = project.conn.execute("SELECT gold_answer FROM items WHERE is_gold = 1").fetchone()
        assert json.loads(gold) == {"verdict": "A"}


def test_a_label_for_an_item_named_by_id_is_checked_against_that_item(cli, tmp_path):
    path = tmp_path / "p.prefdesk"
    cli("new", path)
    src = tmp_path / "items.jsonl"
    src.write_text(json.dumps({"prompt": "q", "response_a": "a", "response_b": "b"}) + "\n")
    cli("import", src, "-p", path)
    with Project.open(path) as project:
        item_id = project.conn.execute("SELECT id FROM items").fetchone()[0]
    by_id = tmp_path / "by_id.jsonl"
    ok = {"item": {"id": item_id}, "label": {"kind": "pairwise", "payload": {"verdict": "B"}, "rater": {"name": "ana"}}}
    too_many = {"item": {"id": item_id}, "label": {"kind": "ranking", "payload": {"order": [[0], [1], [2]]},
                                                   "rater": {"name": "ana"}}}
    by_id.write_text(json.dumps(ok) + "\n" + json.dumps(too_many) + "\n")
    refused_whole_then_skipped(cli, by_id, path, f"{by_id}:2: label.payload: needs 3 candidates; the item has 2", "labels")
    with Project.open(path) as project:
        (label,) = project.labels(item_id)
        assert label.payload["verdict"] == "B" and label.source.value == "import"
