"""One rater, one vote (issue 31): a re-split never lets a rater vote twice on an item. Split, label in each rater's
desk with the keys a keyboard sends, merge, re-split, and read back what the lead's file holds and exports."""

import json
import sqlite3
from collections import Counter

import pytest
from PySide6.QtCore import Qt

from desktools import press, shown, write_jsonl
from prefdesk.domain import LabelKind
from prefdesk.store.project import Project

# keys that label one item of each kind in the desk (pairwise: into the dimensions, left on the first, right on
# the second, then left better overall)
KEYS = {"pairwise": (Qt.Key_Tab, Qt.Key_Left, Qt.Key_Right, Qt.Key_1),
        "ranking": (Qt.Key_2, Qt.Key_1, Qt.Key_3, Qt.Key_Return),
        "scalar": (Qt.Key_4,),
        "process": (Qt.Key_Plus, Qt.Key_Minus, Qt.Key_I, Qt.Key_Return)}
OTHER_KEYS = {"pairwise": (Qt.Key_2,), "ranking": (Qt.Key_3, Qt.Key_2, Qt.Key_1, Qt.Key_Return),
              "scalar": (Qt.Key_2,), "process": (Qt.Key_Minus, Qt.Key_C, Qt.Key_Return)}


def _items(n: int = 3) -> list[dict]:
    """n items of each kind, the prompts long enough to be real (multi-turn, as the shared HH rows are)."""
    turns = "\n\n".join(f"Human: question {t} about the garden, with some detail.\n\nAssistant: an answer {t}."
                        for t in range(6))
    out = []
    for i in range(n):
        out.append({"prompt": f"{turns}\n\nHuman: P{i}", "response_a": f"left {i} " * 40, "response_b": f"right {i} " * 30})
        out.append({"prompt": f"R{i}: rank these", "responses": [f"x{i}", f"y{i}", f"z{i}"]})
        out.append({"prompt": f"S{i}: rate this", "response": f"answer {i}", "bucket": "drift"})
        out.append({"prompt": f"W{i}: 2+2*3", "steps": ["2*3 = 6", "2 + 6 = 9", "So 9."]})
    return out


@pytest.fixture
def lead(project, tmp_path, cli):
    project.set_settings({"gold_rate": 0.0, "overlap": 2, "dimensions": ["helpfulness", "safety"]})
    code, _, err = cli("import", write_jsonl(tmp_path, _items()), "-p", project.path)
    assert code == 0, err
    return project


def label_in_desk(qtbot, path, keys=KEYS) -> int:
    """The rater of a split file opens it in the desk and labels every item it offers; how many."""
    from prefdesk.ui.desk.window import MainWindow

    project = Project.open(path)
    (rater,) = project.raters()
    window = shown(qtbot, MainWindow(project, rater))
    done = 0
    while window.item is not None:
        before = window.item.id
        press(qtbot, window, *keys[window.item.kind.value])
        assert window.item is None or window.item.id != before, f"the keys did not label a {window.item.kind.value} item"
        done += 1
    window.close()
    return done


def current_votes(project) -> Counter:
    """(item prompt's first line, rater) -> current first-round votes there."""
    return Counter(project.conn.execute(
        "SELECT i.id, r.name FROM current_labels l JOIN items i ON i.id = l.item_id JOIN raters r ON r.id = l.rater_id "
        "WHERE l.kind != 'rewrite' AND l.source = 'human' AND l.round = 1").fetchall())


def exported_raters(cli, project, out) -> list[list[str]]:
    """The raters behind each exported row's label ids (TRL preference, majority)."""
    code, _, err = cli("export", "-p", project.path, "--format", "trl-preference", "--out", out)
    assert code == 0, err
    names = dict(project.conn.execute("SELECT l.id, r.name FROM labels l JOIN raters r ON r.id = l.rater_id"))
    rows = [json.loads(line) for f in sorted(out.glob("*.jsonl")) for line in f.read_text().splitlines()]
    assert rows, "the export holds no rows"
    return [[names[i] for i in row["label_ids"]] for row in rows]


def split(cli, project, out, *args) -> dict[str, set[str]]:
    code, _, err = cli("split", "-p", project.path, "--out", out, *args)
    assert code == 0, err
    held = {}
    for path in out.glob("*.prefdesk"):
        with Project.open(path) as p:
            held[path.stem] = {i for (i,) in p.conn.execute("SELECT id FROM items")}
    return held


def merged(cli, project, *paths) -> dict:
    code, out, err = cli("merge", "-p", project.path, *paths, "--json")
    assert code == 0, err
    return json.loads(out)


def test_a_re_split_never_gives_a_rater_an_item_they_voted_on_and_every_kind_counts_them_once(
        lead, cli, qtbot, qt_prefs, tmp_path):
    first = split(cli, lead, tmp_path / "r1", "--raters", "zed,ben", "--overlap", "2")
    assert first["zed"] == first["ben"] and len(first["zed"]) == 12
    assert label_in_desk(qtbot, tmp_path / "r1" / "zed.prefdesk") == 12
    assert label_in_desk(qtbot, tmp_path / "r1" / "ben.prefdesk", OTHER_KEYS) == 12
    out = merged(cli, lead, tmp_path / "r1" / "zed.prefdesk", tmp_path / "r1" / "ben.prefdesk")
    assert out["labels_added"] == 24 and out["labels_refused"] == 0 and out["labels_relabelled"] == 0

    # the lead raises the overlap and hands the items out again: zed already voted on every one of them
    assert cli("config", "-p", lead.path, "--set", "overlap=3")[0] == 0
    again = split(cli, lead, tmp_path / "r2", "--raters", "zed,ana", "--overlap", "1")
    assert again["zed"] == set() and again["ana"] == first["zed"]
    assert label_in_desk(qtbot, tmp_path / "r2" / "zed.prefdesk") == 0  # zed's desk offers nothing
    assert label_in_desk(qtbot, tmp_path / "r2" / "ana.prefdesk") == 12
    out = merged(cli, lead, tmp_path / "r2" / "zed.prefdesk", tmp_path / "r2" / "ana.prefdesk")
    assert out["labels_added"] == 12 and out["labels_refused"] == 0

    votes = current_votes(lead)
    assert set(votes.values()) == {1} and len(votes) == 36  # 12 items x zed, ben, ana, each once
    stored = {kind: json.loads(p) for kind, p in lead.conn.execute(
        "SELECT l.kind, l.payload FROM labels l JOIN raters r ON r.id = l.rater_id WHERE r.name = 'zed'")}
    assert set(stored) == {"pairwise", "ranking", "scalar", "process"}
    assert set(stored["pairwise"]["dims"]) == {"helpfulness", "safety"} and stored["scalar"]["score"] == 4
    rows = exported_raters(cli, lead, tmp_path / "ds")
    assert all(len(r) == len(set(r)) for r in rows)  # no row carries two label ids of one rater
    code, report, _ = cli("quality", "-p", lead.path, "--json")
    report = json.loads(report)
    assert report["double_votes"] == [] and {n: r["labels"] for n, r in report["raters"].items()} == {
        "ana": 3, "ben": 3, "zed": 3}  # the pairwise labels (the report's subject), one per rater and item


def test_two_files_holding_the_same_items_keep_the_later_vote_and_refuse_the_earlier_naming_it(
        lead, cli, qtbot, qt_prefs, tmp_path):
    """Two splits before any merge give zed the same items twice (a file split to a rater who had not merged yet);
    the later labels supersede the earlier, both kept; an earlier file merged last is refused, item and rater named."""
    split(cli, lead, tmp_path / "a", "--raters", "zed", "--overlap", "1")
    split(cli, lead, tmp_path / "b", "--raters", "zed", "--overlap", "1")
    label_in_desk(qtbot, tmp_path / "a" / "zed.prefdesk", OTHER_KEYS)
    label_in_desk(qtbot, tmp_path / "b" / "zed.prefdesk")
    out = merged(cli, lead, tmp_path / "b" / "zed.prefdesk")
    assert out["labels_added"] == 12
    late = merged(cli, lead, tmp_path / "a" / "zed.prefdesk")  # the earlier labels, merged last
    assert late["labels_added"] == 0 and late["labels_refused"] == 12
    assert all("zed already holds a later current vote on item" in r["what"] and r["item"] for r in late["refused"])
    assert set(current_votes(lead).values()) == {1}
    assert {json.loads(p)["score"] for (p,) in lead.conn.execute(
        "SELECT payload FROM current_labels WHERE kind = 'scalar'")} == {4}  # file b's

    # the other order, in a fresh lead: the later file merged second supersedes, reported as a re-label
    assert cli("new", tmp_path / "lead2.prefdesk")[0] == 0
    code, _, err = cli("import", write_jsonl(tmp_path, _items(), "same.jsonl"), "-p", tmp_path / "lead2.prefdesk")
    assert code == 0, err
    with Project.open(tmp_path / "lead2.prefdesk") as other:
        other.set_settings({"gold_rate": 0.0, "dimensions": ["helpfulness", "safety"]})
        for name in ("c", "d"):
            split(cli, other, tmp_path / name, "--raters", "zed", "--overlap", "1")
        label_in_desk(qtbot, tmp_path / "c" / "zed.prefdesk", OTHER_KEYS)
        label_in_desk(qtbot, tmp_path / "d" / "zed.prefdesk")
        out = merged(cli, other, tmp_path / "c" / "zed.prefdesk", tmp_path / "d" / "zed.prefdesk")
        assert out["labels_added"] == 24 and out["labels_relabelled"] == 12 and out["labels_refused"] == 0
        assert sum(c["kind"] == "relabel" for c in out["conflicts"]) == 12
        assert set(current_votes(other).values()) == {1}
        assert other.conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 24  # both kept in history
        assert {json.loads(p)["score"] for (p,) in other.conn.execute(
            "SELECT payload FROM current_labels WHERE kind = 'scalar'")} == {4}


def test_relabel_gives_a_rater_their_items_again_and_the_new_label_supersedes_the_old(
        lead, cli, qtbot, qt_prefs, tmp_path):
    split(cli, lead, tmp_path / "r1", "--raters", "zed", "--overlap", "1")
    label_in_desk(qtbot, tmp_path / "r1" / "zed.prefdesk", OTHER_KEYS)
    merged(cli, lead, tmp_path / "r1" / "zed.prefdesk")
    old = {i: lab for i, lab in lead.conn.execute("SELECT item_id, id FROM labels")}
    held = split(cli, lead, tmp_path / "drift", "--raters", "zed", "--relabel", "--where", "bucket=drift")
    assert len(held["zed"]) == 3  # the scalar items zed voted on, and no other
    with Project.open(tmp_path / "drift" / "zed.prefdesk") as f:  # blind: the file holds none of zed's labels
        assert f.conn.execute("SELECT COUNT(*) FROM labels").fetchone() == (0,)
    label_in_desk(qtbot, tmp_path / "drift" / "zed.prefdesk")
    out = merged(cli, lead, tmp_path / "drift" / "zed.prefdesk")
    assert out["labels_relabelled"] == 3 and out["conflicts"] == [] and out["labels_refused"] == 0
    for item_id, new, supersedes, payload in lead.conn.execute(
            "SELECT item_id, id, supersedes, payload FROM current_labels WHERE kind = 'scalar'"):
        assert supersedes == old[item_id] and json.loads(payload)["score"] == 4 and new != old[item_id]
    assert set(current_votes(lead).values()) == {1}


def _schema_22_file(path) -> tuple[str, str]:
    """A project as PrefDesk wrote it before the one-vote rule, holding the issue's double votes: zed labelled items
    Q028 and Q030 in two files, A both times, ben B; cy A on Q028. Returns the two items' ids."""
    from prefdesk.domain.settings import DEFAULT_SETTINGS
    from prefdesk.store.migrations import APPLICATION_ID
    from prefdesk.store.migrations import MIGRATIONS

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for migration in MIGRATIONS[:22]:
        migration(conn)
    conn.execute("PRAGMA user_version = 22")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.executemany("INSERT INTO settings VALUES (?, ?)", [(k, json.dumps(v)) for k, v in DEFAULT_SETTINGS.items()])
    conn.execute("INSERT INTO guidelines (version, text, created_at) VALUES ('v1', 'g', '2026-01-01T00:00:00Z')")
    for rid, name in (("r-zed", "zed"), ("r-ben", "ben"), ("r-cy", "cy")):
        conn.execute("INSERT INTO raters VALUES (?, ?, 'annotator', NULL, NULL, '2026-01-01T00:00:00Z')", (rid, name))
    items = []
    for n in ("Q028", "Q030"):
        item_id = f"item-{n}"
        items.append(item_id)
        conn.execute("INSERT INTO items (id, kind, prompt, content_hash, created_at, candidates, n_raters) VALUES "
                     "(?, 'pairwise', ?, 0, '2026-01-01T00:00:00Z', '[{\"text\": \"a\"}, {\"text\": \"b\"}]', 2)",
                     (item_id, n))
        for label_id, rater, verdict, at in ((f"{n}-zed-1", "r-zed", "A", "2026-01-02T00:00:00Z"),
                                             (f"{n}-ben", "r-ben", "B", "2026-01-02T00:00:01Z"),
                                             (f"{n}-zed-2", "r-zed", "A", "2026-01-05T00:00:00Z"),
                                             *([("Q028-cy", "r-cy", "A", "2026-01-03T00:00:00Z")] if n == "Q028" else [])):
            conn.execute("INSERT INTO labels (id, item_id, rater_id, kind, payload, created_at, guideline_version, "
                         "app_version, source) VALUES (?, ?, ?, 'pairwise', ?, ?, 'v1', 'old', 'human')",
                         (label_id, item_id, rater, json.dumps({"verdict": verdict}), at))
    conn.execute("COMMIT")
    conn.close()
    return items[0], items[1]


def test_a_file_holding_double_votes_is_found_on_open_by_check_and_quality_and_repaired_with_nothing_deleted(
        tmp_path, cli, qtbot, qt_prefs):
    path = tmp_path / "old.prefdesk"
    q028, q030 = _schema_22_file(path)
    with Project.open(path) as project:  # migrated: the doubles it holds are found, the file opens
        assert [(d["item"], d["rater"], d["older"], d["keep"]) for d in project.double_votes] == [
            (q028, "zed", ["Q028-zed-1"], "Q028-zed-2"), (q030, "zed", ["Q030-zed-1"], "Q030-zed-2")]
        from prefdesk.ui.desk.window import MainWindow

        window = shown(qtbot, MainWindow(project, project.ensure_rater("lead")))
        assert "2 double vote(s)" in window.statusBar().currentMessage()
        window.close()
    code, out, _ = cli("check", "-p", path)
    assert code == 1 and f"item {q028}: zed (round 1), 2 current votes" in out and "--repair" in out
    assert "double votes: 2" in cli("stats", "-p", path)[1]
    assert len(json.loads(cli("quality", "-p", path, "--json")[1])["double_votes"]) == 2
    before = exported_raters(cli, Project.open(path), tmp_path / "before")
    assert sorted(sorted(r) for r in before) == [["cy", "zed", "zed"], ["zed", "zed"]]  # the defect: zed counted twice

    code, out, err = cli("check", "-p", path, "--repair", "--by", "lead")
    assert code == 0 and "repaired 2" in out, err
    with Project.open(path) as project:
        assert project.double_votes == [] and project.conn.execute("SELECT COUNT(*) FROM labels").fetchone() == (7,)
        assert project.conn.execute("SELECT label_id, kept_label, by FROM vote_repairs ORDER BY 1").fetchall() == [
            ("Q028-zed-1", "Q028-zed-2", "lead"), ("Q030-zed-1", "Q030-zed-2", "lead")]
        assert set(current_votes(project).values()) == {1}
        with pytest.raises(sqlite3.IntegrityError):  # the record of a repair is append-only
            project.conn.execute("DELETE FROM vote_repairs")
        after = exported_raters(cli, project, tmp_path / "after")
    assert sorted(sorted(r) for r in after) == [["cy", "zed"]]  # Q030 is zed A against ben B now: no majority
    assert cli("check", "-p", path)[0] == 0


def test_the_file_itself_refuses_a_second_vote_and_a_later_one_from_the_desk_supersedes(project, tmp_path):
    from prefdesk.store.votes import SecondVote

    project.set_settings({"gold_rate": 0.0})
    from prefdesk.formats.importer import import_file

    import_file(project, write_jsonl(tmp_path, [{"prompt": "p", "response_a": "a", "response_b": "b"}]))
    (item_id,) = project.conn.execute("SELECT id FROM items").fetchone()
    ana, ben = project.ensure_rater("ana"), project.ensure_rater("ben")
    first = project.commit_label(item_id, ana, LabelKind.PAIRWISE, {"verdict": "A"})
    row = project.conn.execute("SELECT * FROM labels WHERE id = ?", (first.id,)).fetchone()
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):  # a second root vote, written past the store
        project.conn.execute("INSERT INTO labels VALUES (" + ", ".join("?" * len(row)) + ")", ("x", *row[1:]))
    theirs = project.commit_label(item_id, ben, LabelKind.PAIRWISE, {"verdict": "B"})
    with pytest.raises(sqlite3.IntegrityError, match="one current vote"):  # superseding another rater's label
        project.conn.execute("INSERT INTO labels VALUES (" + ", ".join("?" * len(row)) + ")",
                             ("y", *row[1:-1], theirs.id))
    early = project.new_label(item_id, ana, LabelKind.PAIRWISE, {"verdict": "B"})._replace(
        created_at="2000-01-01T00:00:00Z")
    with pytest.raises(SecondVote, match="already holds a later current vote"):
        project.write_label(early)
    later = project.commit_label(item_id, ana, LabelKind.PAIRWISE, {"verdict": "tie"})  # another desk of ana's
    stored = project.labels(item_id)
    assert [(lab.rater_id, lab.payload["verdict"]) for lab in stored] == [(ben.id, "B"), (ana.id, "tie")]
    assert project.label(later.id).supersedes == first.id and len(project.labels(item_id, current_only=False)) == 3


def test_a_large_bulk_write_runs_without_the_trigger_and_is_checked_whole_before_it_commits(project, tmp_path):
    """A large import drops the supersede trigger for speed; the rows it wrote are checked against its rules in one
    query, so a breach still fails the whole write and leaves the project as it was."""
    from prefdesk.formats.importer import import_file

    project.set_settings({"gold_rate": 0.0})
    import_file(project, write_jsonl(tmp_path, [{"prompt": "p", "response_a": "a", "response_b": "b"}]))
    (item_id,) = project.conn.execute("SELECT id FROM items").fetchone()
    ana, ben = project.ensure_rater("ana"), project.ensure_rater("ben")
    theirs = project.commit_label(item_id, ben, LabelKind.PAIRWISE, {"verdict": "B"})
    columns = "id, item_id, rater_id, kind, payload, created_at, app_version, source, supersedes"
    with pytest.raises(sqlite3.IntegrityError, match="one current vote: label bad"):
        with project.bulk_write(large=True) as conn:
            conn.execute(f"INSERT INTO labels ({columns}) VALUES ('bad', ?, ?, 'pairwise', '{{}}', 'now', 'x', "
                         "'human', ?)", (item_id, ana.id, theirs.id))
    assert project.conn.execute("SELECT COUNT(*) FROM labels").fetchone() == (1,)
    assert project.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'labels_supersede_rules'").fetchone()
    with project.bulk_write(large=True) as conn:  # a good write goes through, and the trigger is back after it
        conn.execute(f"INSERT INTO labels ({columns}) VALUES ('edit', ?, ?, 'pairwise', '{{}}', 'now', 'x', 'human', ?)",
                     (item_id, ben.id, theirs.id))
    assert [lab.id for lab in project.labels(item_id)] == ["edit"]
    assert project.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'labels_supersede_rules'").fetchone()
