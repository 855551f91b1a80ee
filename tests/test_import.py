"""Every format imports from its fixture; bad files are refused whole, naming line and field."""

import json

import pytest

from prefdesk.formats.errors import ImportRefused
from prefdesk.formats.importer import import_file


def kinds(project):
    return dict(project.conn.execute("SELECT kind, COUNT(*) FROM items GROUP BY kind").fetchall())


@pytest.mark.parametrize(
    "name, fmt, items, labels",
    [
        ("seed-formats.jsonl", "seed", {"pairwise": 2, "scalar": 1, "process": 1}, 4),
        ("hh_rlhf_20.jsonl", "hh-rlhf", {"pairwise": 20}, 20),
        ("prm800k-format-sample.jsonl", "prm800k", {"process": 3}, 3),
        ("ultrafeedback.jsonl", "ultrafeedback", {"ranking": 1, "pairwise": 1}, 2),
        ("ultrafeedback_binarized.jsonl", "ultrafeedback-binarized", {"pairwise": 2}, 2),
        ("helpsteer2.jsonl", "helpsteer2", {"scalar": 2}, 2),
        ("helpsteer2_preference.jsonl", "helpsteer2-preference", {"pairwise": 3}, 3),
        ("trl_preference_standard.jsonl", "trl-preference", {"pairwise": 2}, 2),
        ("trl_preference_implicit.jsonl", "trl-preference", {"pairwise": 1}, 1),
        ("trl_preference_conversational.jsonl", "trl-preference", {"pairwise": 1}, 1),
        ("trl_preference_conversational_implicit.jsonl", "trl-preference", {"pairwise": 1}, 1),
        ("trl_stepwise.jsonl", "trl-stepwise", {"process": 1}, 1),
        ("unlabelled.jsonl", "unlabelled", {"pairwise": 2, "ranking": 1, "scalar": 1, "process": 1}, 0),
    ],
)
def test_each_format_is_detected_and_imported(project, fixtures, name, fmt, items, labels):
    report = import_file(project, fixtures / name)
    assert report.format == fmt
    assert kinds(project) == items
    assert project.count("labels") == labels == report.labels_added


def test_hh_rlhf_splits_the_shared_dialogue_into_the_prompt(project, fixtures):
    import_file(project, fixtures / "hh_rlhf_20.jsonl")
    first = json.loads((fixtures / "hh_rlhf_20.jsonl").read_text().splitlines()[0])
    item_id = project.conn.execute("SELECT id FROM items ORDER BY id LIMIT 1").fetchone()[0]
    item = project.item(item_id)
    assert item.prompt_messages[0] == {"role": "user", "content": "what are some pranks with a pen i can do?"}
    assert item.prompt_messages[-1]["role"] == "user"
    assert first["chosen"].endswith(item.candidates[0].text)
    assert first["rejected"].endswith(item.candidates[1].text)
    assert item.candidates[0].text != item.candidates[1].text


def test_prm800k_quality_control_questions_become_gold_with_ratings_and_human_step(project, fixtures):
    import_file(project, fixtures / "prm800k-format-sample.jsonl")
    gold = project.conn.execute("SELECT id FROM items WHERE is_gold = 1").fetchall()
    assert len(gold) == 1
    (label,) = project.labels(gold[0][0])
    assert label.payload["ratings"] == [1, 0]
    assert label.payload["replacement"] == {"step": 1, "text": "There are $6$ of them.\n\n# Answer\n\n6"}
    wrong = project.conn.execute("SELECT id FROM items WHERE prompt LIKE 'Solve for%'").fetchone()[0]
    assert project.labels(wrong)[0].payload["first_error"] == 1


def test_ultrafeedback_ranking_keeps_model_names_and_aspect_ratings(project, fixtures):
    import_file(project, fixtures / "ultrafeedback.jsonl")
    item_id = project.conn.execute("SELECT id FROM items WHERE kind = 'ranking'").fetchone()[0]
    item = project.item(item_id)
    assert [c.model for c in item.candidates] == ["m1", "m2", "m3", "m4"]
    (label,) = project.labels(item_id)
    assert label.payload["order"] == [[0], [2], [1], [3]]
    assert label.payload["dims"][3]["truthfulness"] is None  # "N/A" is not a rating
    # the dataset's GPT-4 judgements are its own labels: a reference by default, votes of the judge on request
    assert label.source.value == "reference" and project.conn.execute(
        "SELECT name FROM raters WHERE id = ?", (label.rater_id,)).fetchone()[0].startswith("ultrafeedback")


def test_ultrafeedback_judgements_imported_as_votes_keep_their_model_judge_source(project, fixtures):
    import_file(project, fixtures / "ultrafeedback.jsonl", labels_as="votes")
    assert {s for (s,) in project.conn.execute("SELECT DISTINCT source FROM labels")} == {"model-judge"}


def test_unlabelled_prompts_as_chat_and_extra_keys_kept_as_metadata(project, fixtures):
    import_file(project, fixtures / "unlabelled.jsonl")
    row = project.conn.execute("SELECT id, scenario FROM items WHERE scenario IS NOT NULL").fetchone()
    assert row[1] == "creative"
    ranking = project.item(project.conn.execute("SELECT id FROM items WHERE kind = 'ranking'").fetchone()[0])
    assert ranking.prompt_messages == [{"role": "user", "content": "Rank these openings."}]
    assert ranking.candidates[2].model == "m9"
    assert ranking.meta["id"] == "u2"


def test_csv_and_parquet_import_with_a_column_mapping(project, fixtures, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    mapping = {"prompt": "question", "response_a": "left", "response_b": "right"}
    report = import_file(project, fixtures / "pairs.csv", mapping=mapping)
    assert report.items_added == 2 and report.format == "unlabelled"
    assert json.loads(project.conn.execute("SELECT meta FROM items LIMIT 1").fetchone()[0]) == {"team": "edu"}
    table = pa.table({"question": ["Q1", "Q2", "Q3"], "left": ["a", "b", "c"], "right": ["x", "y", "z"]})
    pq.write_table(table, tmp_path / "pairs.parquet")
    report = import_file(project, tmp_path / "pairs.parquet", mapping=mapping)
    assert report.items_added == 3


def test_importing_the_same_file_twice_adds_nothing_the_second_time(project, fixtures):
    import_file(project, fixtures / "seed-formats.jsonl")
    before = project.count("items"), project.count("labels")
    report = import_file(project, fixtures / "seed-formats.jsonl")
    assert (report.items_added, report.labels_added, report.duplicate_items) == (0, 0, 4)
    assert (project.count("items"), project.count("labels")) == before


def snapshot(project):
    return {t: project.count(t) for t in ("items", "labels", "raters", "import_batches")}


BAD_FILES = {
    "truncated.jsonl": (b'{"prompt": "a", "response_a": "x", "response_b": "y"}\n{"prompt": "b", "respo', 2, "invalid JSON"),
    "wrong_type.jsonl": (b'{"type": "scalar", "prompt": "p", "response": "r", "score": "high"}\n', 1, "score: expected a number"),
    "missing_field.jsonl": (b'{"type": "pairwise", "prompt": "p", "winner": "w"}\n', 1, "loser: missing"),
    "not_utf8.jsonl": (b'{"prompt": "caf\xe9", "response": "r"}\n', 1, "not UTF-8"),
    "duplicate_ids.jsonl": (b'{"id": 7, "prompt": "p", "response": "r"}\n{"id": 7, "prompt": "q", "response": "s"}\n', 2, "duplicate id 7 (first on line 2)"),
    "not_an_object.jsonl": (b'[1, 2, 3]\n', 1, "expected a JSON object"),
    "bad_reward.jsonl": (b'{"type": "process", "prompt": "p", "steps": [{"state": "s", "output": "o", "reward": 2}]}\n', 1, "steps[0].reward"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_malformed_file_is_refused_whole_and_the_project_is_unchanged(project, fixtures, tmp_path, name):
    import_file(project, fixtures / "seed-formats.jsonl")
    before = snapshot(project)
    content, line, message = BAD_FILES[name]
    seed_family = name in ("bad_reward.jsonl", "wrong_type.jsonl", "missing_field.jsonl")
    good = b'{"type": "scalar", "prompt": "fine", "response": "fine", "score": 3}\n' if seed_family else b'{"prompt": "fine", "response": "fine"}\n'
    good = b"" if name == "not_an_object.jsonl" else good
    path = tmp_path / name
    path.write_bytes(good + content)
    with pytest.raises(ImportRefused) as info:
        import_file(project, path)
    error = info.value.errors[0]
    assert error.line == line + (1 if good else 0)
    assert message in str(error) and str(path) in str(error)
    assert snapshot(project) == before


def test_an_empty_file_is_refused(project, tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"\n\n")
    with pytest.raises(ImportRefused, match="no records"):
        import_file(project, path)
    assert project.count("import_batches") == 0


def test_a_50_mb_line_is_refused_without_reading_it_into_memory(project, tmp_path):
    path = tmp_path / "huge.jsonl"
    with open(path, "wb") as f:
        f.write(b'{"prompt": "ok", "response": "ok"}\n')
        f.write(b'{"prompt": "' + b"x" * (50 * 1024 * 1024) + b'", "response": "r"}\n')
        f.write(b'{"prompt": "ok2", "response": "ok"}\n')
    with pytest.raises(ImportRefused) as info:
        import_file(project, path)
    assert info.value.errors[0].line == 2 and "longer than 16 MB" in info.value.errors[0].message
    assert project.count("items") == 0


def test_every_bad_record_is_listed_first_20_shown(project, tmp_path):
    path = tmp_path / "many_bad.jsonl"
    path.write_text("".join('{"type": "scalar", "prompt": "p%d", "response": "r", "score": null}\n' % i for i in range(30)))
    with pytest.raises(ImportRefused) as info:
        import_file(project, path)
    text = info.value.describe()
    assert info.value.total == 30 and "... and 10 more" in text and f"{path}:20: score" in text and f"{path}:21:" not in text


def test_skip_bad_imports_the_good_records_and_writes_the_rejects_beside_the_input(project, tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"prompt": "a", "response": "x"}\n{"prompt": "b", "respo\n{"prompt": "c", "response": "z"}\n')
    report = import_file(project, path, skip_bad=True)
    assert report.items_added == 2 and len(report.rejected) == 1
    rejects = [json.loads(line) for line in open(report.rejects_path)]
    assert rejects == [{"line": 2, "field": "", "error": rejects[0]["error"], "raw": '{"prompt": "b", "respo'}]
    assert "invalid JSON" in rejects[0]["error"]


def test_an_unknown_shape_asks_for_format(project, tmp_path):
    path = tmp_path / "odd.jsonl"
    path.write_text('{"question": "q", "answer": "a"}\n')
    with pytest.raises(ImportRefused, match="--format"):
        import_file(project, path)


def test_naming_a_format_applies_it_to_every_record(project, fixtures, tmp_path):
    with pytest.raises(ImportRefused, match="prompt: missing"):
        import_file(project, fixtures / "hh_rlhf_20.jsonl", format_name="unlabelled")
    with pytest.raises(ImportRefused, match="unknown format"):
        import_file(project, fixtures / "hh_rlhf_20.jsonl", format_name="nope")


def test_labels_from_a_second_file_on_the_same_items_are_added_once_and_count_towards_overlap(project, tmp_path):
    rec = {"type": "pairwise", "prompt": "p", "winner": "w", "loser": "l", "meta": {"rater": "ana"}}
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(json.dumps(rec) + "\n")
    second.write_text(json.dumps({**rec, "meta": {"rater": "ben"}}) + "\n")
    import_file(project, first)
    report = import_file(project, second)
    assert (report.items_added, report.labels_added, report.duplicate_items) == (0, 1, 1)
    assert import_file(project, second).labels_added == 0
    assert project.conn.execute("SELECT n_raters, open FROM items").fetchone() == (2, 0)


def test_one_item_three_times_in_a_file_keeps_one_vote_of_a_rater_and_each_other_raters(project, tmp_path):
    """One vote per rater and item: a rater's second, differing vote is refused and named; another rater's counts."""
    rec = {"type": "scalar", "prompt": "p", "response": "r", "score": 2, "meta": {}}
    src = tmp_path / "twice.jsonl"
    lines = (rec, {**rec, "score": 4}, rec, {**rec, "score": 5, "meta": {"rater": "ben"}})
    src.write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    report = import_file(project, src)
    assert (report.items_added, report.labels_added, report.duplicate_items, report.duplicate_labels) == (1, 2, 3, 1)
    (item_id,) = project.conn.execute("SELECT id FROM items").fetchone()
    assert report.second_votes == [(item_id, "import")] and "import on item" in report.summary()
    stored = sorted((r, json.loads(p)["score"]) for r, p in project.conn.execute(
        "SELECT r.name, l.payload FROM labels l JOIN raters r ON r.id = l.rater_id"))
    assert stored == [("ben", 5), ("import", 2)]
    assert import_file(project, src).labels_added == 0


def test_items_whose_content_hashes_collide_stay_apart(project, tmp_path, monkeypatch):
    """The hash only finds candidates; an item is a duplicate only if its whole content is equal."""
    monkeypatch.setattr("prefdesk.store.ingest.content_hash", lambda kind, prompt, texts: 42)
    records = [{"type": "pairwise", "prompt": "p", "winner": w, "loser": "l", "meta": {}} for w in ("a", "b", "a")]
    src = tmp_path / "collide.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    report = import_file(project, src)
    assert (report.items_added, report.duplicate_items) == (2, 1)
    assert import_file(project, src).items_added == 0
    assert sorted(r[0] for r in project.conn.execute("SELECT candidates FROM items")) == [
        '[{"text":"a"},{"text":"l"}]', '[{"text":"b"},{"text":"l"}]']
