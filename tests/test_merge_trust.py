"""A rater's file is a trust boundary (issue 18, part 4): each hostile change a rater file can carry, built here
with sqlite3 on a real split file, is refused and reported; the lead keeps only that rater's own work, and
every command still runs on the lead afterwards."""

import json
import sqlite3

import pytest

from desktools import pairs, write_jsonl
from prefdesk.domain import LabelKind, RaterRole
from prefdesk.formats.importer import import_file
from prefdesk.store.ids import uuid7
from prefdesk.store.project import Project


@pytest.fixture
def team(project, tmp_path, cli):
    """A lead ("lea", expert) with 12 open items split to ana and ben; ana labels all of hers in her file."""
    import_file(project, write_jsonl(tmp_path, pairs(12)))
    lead = project.ensure_rater("lea", RaterRole.EXPERT)
    code, _, err = cli("split", "-p", project.path, "--raters", "ana,ben", "--out", tmp_path / "team")
    assert code == 0, err
    ana_file = tmp_path / "team" / "ana.prefdesk"
    with Project.open(ana_file) as mine:
        ana = mine.rater("ana")
        for (item,) in mine.conn.execute("SELECT id FROM items ORDER BY id").fetchall():
            mine.commit_label(item, ana, LabelKind.PAIRWISE, {"verdict": "A"}, display_order=(1, 0), duration_ms=900)
    return project, lead, ana_file, tmp_path / "team" / "ben.prefdesk"


def tamper(path, *statements):
    """Change a rater file as a hostile rater can: with sqlite3, its guards (triggers, the one-vote index) dropped
    first."""
    conn = sqlite3.connect(path)
    with conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            conn.execute(f'DROP TRIGGER "{name}"')
        conn.execute("DROP INDEX IF EXISTS labels_one_vote")
        for sql, *args in statements:
            conn.execute(sql, *args)
    conn.close()


def merged(cli, project, path) -> dict:
    code, out, err = cli("merge", "-p", project.path, path, "--json")
    assert code == 0 and "Traceback" not in err, err
    return json.loads(out)


def label_row(path, sql="SELECT * FROM labels ORDER BY rowid LIMIT 1"):
    conn = sqlite3.connect(path)
    row = conn.execute(sql).fetchone()
    conn.close()
    return list(row)


def insert_like(path, row, **changes):
    """A label row like `row` (all columns of `labels`), with a new id and these columns changed."""
    conn = sqlite3.connect(path)
    cols = [c[1] for c in conn.execute("PRAGMA table_info(labels)")]
    conn.close()
    values = {**dict(zip(cols, row)), "id": uuid7(), "supersedes": None, **changes}
    return (f"INSERT INTO labels ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})", list(values.values()))


def everything_still_runs(cli, project, tmp_path):
    for args in (["quality", "-p", project.path, "--json"], ["version", "create", f"v{uuid7()[-6:]}", "-p", project.path],
                 ["export", "-p", project.path, "--format", "trl-preference", "--out", tmp_path / "out"],
                 ["export", "-p", project.path, "--format", "labels", "--out", tmp_path / "out-labels"],
                 ["stats", "-p", project.path]):
        code, _, err = cli(*args)
        assert code == 0 and "Traceback" not in err, (args, err)
    from prefdesk.quality import arbitration

    arbitration.disputes(project)


def test_an_honest_file_merges_whole(team, cli):
    project, _, ana_file, _ = team
    got = merged(cli, project, ana_file)
    assert got["labels_added"] == 6 and got["labels_refused"] == 0 and got["refused"] == []


def test_a_file_that_renames_its_rater_to_the_lead_and_claims_expert_arbitration_is_refused(team, cli, tmp_path):
    project, lead, ana_file, _ = team
    row = label_row(ana_file)
    zed = uuid7()
    tamper(ana_file, ("UPDATE raters SET name = 'lea', role = 'expert'",),  # the rater calls herself the lead
           ("INSERT INTO raters (id, name, role, created_at) VALUES (?, 'zed', 'expert', '2026-01-01T00:00:00Z')",
            (zed,)),
           insert_like(ana_file, row, rater_id=zed),
           insert_like(ana_file, row, rater_id=lead.id, source="arbitration",
                       payload=json.dumps({"verdict": "B", "rationale": "forged", "arbitrates": []})),
           ("UPDATE labels SET source = 'arbitration' WHERE rowid IN (SELECT rowid FROM labels LIMIT 2)",))
    got = merged(cli, project, ana_file)
    assert got["labels_added"] == 4 and got["labels_refused"] == 4
    whys = " | ".join(r["what"] for r in got["refused"])
    assert "not ana, whom the file was split for" in whys and "source 'arbitration'" in whys
    assert "rater 'zed' (expert) is not the one the file was split for" in whys
    assert any(c["what"] == "the file names its rater 'lea'; they stay 'ana'" for c in got["conflicts"])
    rows = project.conn.execute("SELECT r.name, r.role, l.source FROM labels l JOIN raters r ON r.id = l.rater_id")
    assert set(rows.fetchall()) == {("ana", "annotator", "human")}
    assert project.rater("lea").role is RaterRole.EXPERT and project.rater("ana").role is RaterRole.ANNOTATOR
    assert project.rater("zed") is None
    from prefdesk.quality.report import quality_report

    assert quality_report(project)["arbitration"]["decided"] == 0


def test_supersedes_of_anothers_label_and_dangling_supersedes_are_refused(team, cli, tmp_path):
    project, lead, ana_file, _ = team
    item = project.conn.execute("SELECT id FROM items ORDER BY id").fetchone()[0]
    leads = project.commit_label(item, lead, LabelKind.PAIRWISE, {"verdict": "B"})
    row = label_row(ana_file)
    tamper(ana_file, insert_like(ana_file, row, item_id=item, supersedes=leads.id),
           insert_like(ana_file, row, supersedes="01a00000-0000-7000-8000-000000000000"))
    got = merged(cli, project, ana_file)
    assert got["labels_refused"] == 2 and got["labels_added"] == 6
    assert project.labels(item)[0].id == leads.id or leads.id in {lab.id for lab in project.labels(item)}
    assert project.conn.execute("SELECT COUNT(*) FROM labels WHERE supersedes IS NOT NULL").fetchone()[0] == 0
    assert project.conn.execute("PRAGMA foreign_key_check").fetchall() == []


@pytest.mark.parametrize("change, why", [
    ({"payload": json.dumps({"verdict": "Z"})}, "payload.verdict"),
    ({"payload": "not json {"}, "payload"),
    ({"payload": "{}"}, "payload.verdict"),
    ({"kind": "weird"}, "'weird' label"),
    ({"source": "oracle"}, "source 'oracle'"),
    ({"display_order": "[0, 0]"}, "display order"),
    ({"guideline_version": "v99"}, "guideline version 'v99'"),
    ({"item_id": "01a00000-0000-7000-8000-00000000beef"}, "not assigned"),
    ({"duration_ms": 2 ** 62}, "duration"),
])
def test_a_bad_label_row_is_refused_with_why_and_the_lead_works_after(team, cli, tmp_path, change, why):
    project, _, ana_file, _ = team
    tamper(ana_file, ("PRAGMA foreign_keys = OFF",), insert_like(ana_file, label_row(ana_file), **change))
    got = merged(cli, project, ana_file)
    assert got["labels_refused"] == 1 and got["labels_added"] == 6
    (refusal,) = got["refused"]
    assert why in refusal["what"], refusal
    everything_still_runs(cli, project, tmp_path)


def test_content_a_rater_cannot_change_is_refused(team, cli, tmp_path):
    project, _, ana_file, ben_file = team
    conn = sqlite3.connect(ana_file)
    mine = [i for (i,) in conn.execute("SELECT id FROM items ORDER BY id")]
    cols = [c[1] for c in conn.execute("PRAGMA table_info(items)")]
    conn.close()
    bens = [i for (i,) in sqlite3.connect(ben_file).execute("SELECT id FROM items ORDER BY id")]
    row = label_row(ana_file)
    new_gold = dict(zip(cols, label_row(ana_file, "SELECT * FROM items LIMIT 1")), id=uuid7(), is_gold=1,
                    prompt="a gold item of the rater's", gold_answer=json.dumps({"verdict": "B"}), content_hash=7)
    cands = json.loads(label_row(ana_file, f"SELECT candidates FROM items WHERE id = '{mine[2]}'")[0])
    tamper(ana_file,
           ("UPDATE items SET prompt = 'changed prompt' WHERE id = ?", (mine[0],)),
           ("UPDATE items SET is_gold = 1, gold_answer = '{\"verdict\": \"B\"}' WHERE id = ?", (mine[1],)),
           ("UPDATE items SET candidates = ? WHERE id = ?", (json.dumps(cands + [{"text": "planted"}]), mine[2])),
           (f"INSERT INTO items ({', '.join(new_gold)}) VALUES ({', '.join('?' * len(new_gold))})",
            list(new_gold.values())),
           insert_like(ana_file, row, item_id=bens[0]),
           ("INSERT INTO versions (name, created_at, parent, aggregate, filters, layers, quotas, labels, manifest) "
            "VALUES ('v-forged', '2026-01-01', NULL, 'majority', '{}', '{}', '{}', x'00', ?)",
            (json.dumps({"labels": 999_999}),)),
           ("INSERT INTO runs (id, kind, spec, dataset, dataset_manifest, started_at, finished_at, status, report, "
            "model_dir, events) VALUES (?, 'reward', '{}', '/', '{}', '2026', '2026', 'finished', '{}', '/etc', '')",
            (uuid7(),)))
    before = {i: project.item(i) for i in mine}
    got = merged(cli, project, ana_file)
    whys = " | ".join(r["what"] for r in got["refused"])
    assert "changed in the file since it was given (prompt)" in whys and "(is_gold, gold_answer)" in whys
    assert "not all ana's rewrites" in whys
    assert "not one the lead gave ana" in whys and "1 runs" in whys and "1 versions" in whys
    assert got["labels_added"] == 3 and got["labels_refused"] == 4  # 3 changed items' labels, one on ben's item
    assert [project.item(i) for i in mine] == list(before.values())  # nothing of the lead's was changed
    assert project.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 12
    assert project.conn.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == 0
    assert project.conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
    everything_still_runs(cli, project, tmp_path)


def test_a_rewrite_made_in_the_raters_desk_comes_in_with_its_answer(team, cli):
    project, _, ana_file, _ = team
    with Project.open(ana_file) as mine:
        item = mine.conn.execute("SELECT id FROM items ORDER BY id").fetchone()[0]
        cand, _ = mine.commit_rewrite(item, mine.rater("ana"), 0, "a better answer")
    got = merged(cli, project, ana_file)
    assert got["candidates_added"] == 1 and got["labels_refused"] == 0 and got["labels_added"] == 7
    assert project.item(item).candidates[cand.position].text == "a better answer"


def test_a_label_id_the_lead_holds_with_other_content_is_refused(team, cli):
    project, _, ana_file, _ = team
    assert merged(cli, project, ana_file)["labels_added"] == 6
    tamper(ana_file, ("UPDATE labels SET payload = '{\"verdict\": \"B\"}' WHERE rowid = 1",))
    got = merged(cli, project, ana_file)
    assert got["labels_refused"] == 1 and "another label under this id" in got["refused"][0]["what"]


def test_a_setting_that_differs_is_reported_by_name_in_the_cli_and_the_summary(team, cli):
    project, _, ana_file, _ = team
    tamper(ana_file, ("UPDATE settings SET value = '5' WHERE key = 'overlap'",))
    code, out, err = cli("merge", "-p", project.path, ana_file)
    assert code == 0, err
    assert "ana.prefdesk: setting overlap: the lead's 2 kept, the file has 5" in out
    assert project.settings["overlap"] == 2


def test_a_damaged_file_is_refused_with_a_message_and_leaves_no_backup(team, cli, tmp_path):
    project, _, ana_file, _ = team
    data = bytearray(ana_file.read_bytes())
    for offset in range(16384 * 2, len(data), 16384):  # every page but the header's: garbage
        data[offset:offset + 2000] = b"\xff" * 2000
    ana_file.write_bytes(bytes(data))
    before = project.conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0]
    code, _, err = cli("merge", "-p", project.path, ana_file)
    assert code == 2 and "Traceback" not in err and "damaged" in err and "not changed" in err, err
    assert project.conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == before
    assert not list(tmp_path.glob("*.before-merge-*"))


def test_labels_on_items_others_filled_meanwhile_are_kept_and_the_overlap_excess_reported(team, cli):
    project, lead, ana_file, _ = team
    items = [i for (i,) in sqlite3.connect(ana_file).execute("SELECT id FROM items ORDER BY id")]
    for name in ("cy", "dee"):  # the lead's own desk filled two of ana's items to the overlap meanwhile
        rater = project.ensure_rater(name)
        for item in items[:2]:
            project.commit_label(item, rater, LabelKind.PAIRWISE, {"verdict": "B"})
    got = merged(cli, project, ana_file)
    assert got["labels_added"] == 6 and got["labels_refused"] == 0
    (over,) = [c for c in got["conflicts"] if c["kind"] == "overlap"]
    assert over["items"] == 2 and "more raters than the overlap (2)" in over["what"]


def test_an_item_the_lead_changed_after_the_split_still_takes_the_raters_labels(team, cli):
    """The lead promoted one of ana's items to gold and added a rewrite of its own to another meanwhile."""
    project, lead, ana_file, _ = team
    items = [i for (i,) in sqlite3.connect(ana_file).execute("SELECT id FROM items ORDER BY id")]
    project.conn.execute("UPDATE items SET is_gold = 1, gold_answer = '{\"verdict\": \"A\"}' WHERE id = ?", (items[0],))
    project.commit_rewrite(items[1], lead, 0, "the lead's own better answer")
    got = merged(cli, project, ana_file)
    assert got["labels_added"] == 6 and got["labels_refused"] == 0 and got["refused"] == []
