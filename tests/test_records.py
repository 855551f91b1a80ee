"""Records a new user found wrong (issue 18, part 3): each stored or reported value read back."""

import json

from desktools import pairs, write_jsonl
from prefdesk.domain import LabelKind
from prefdesk.formats.importer import import_file
from prefdesk.store.project import Project


def test_config_applies_every_set_flag_and_refuses_a_setting_given_twice(cli, tmp_path):
    path = tmp_path / "p.prefdesk"
    Project.create(path).close()
    code, out, err = cli("config", "-p", path, "--set", 'dimensions=["accuracy", "safety"]', "--set", "overlap=3",
                         "--set", "gold_rate=0.1")
    assert code == 0, err
    with Project.open(path) as p:
        assert p.settings["dimensions"] == ["accuracy", "safety"] and p.settings["overlap"] == 3
        assert p.settings["gold_rate"] == 0.1
    code, _, err = cli("config", "-p", path, "--set", "overlap=2", "--set", "overlap=4")
    assert code != 0 and "overlap" in err and "twice" in err
    with Project.open(path) as p:
        assert p.settings["overlap"] == 3


def test_a_prm800k_record_with_an_impossible_total_time_is_refused_with_its_line(cli, tmp_path, fixtures):
    lines = (fixtures / "prm800k-format-sample.jsonl").read_text().splitlines()
    bad = json.loads(lines[1])
    bad["label"]["total_time"] = 2 ** 64 - 1
    path = tmp_path / "prm.jsonl"
    path.write_text("\n".join([lines[0], json.dumps(bad), *lines[2:]]) + "\n")
    project = tmp_path / "p.prefdesk"
    Project.create(project).close()
    code, out, err = cli("import", path, "-p", project)
    assert code != 0 and "Traceback" not in err
    assert f"{path}:2: label.total_time:" in err
    with Project.open(project) as p:
        assert p.count("items") == 0 and p.count("labels") == 0


def test_the_export_manifest_lists_the_guideline_versions_of_the_labels_it_holds(project, tmp_path, cli):
    import_file(project, write_jsonl(tmp_path, pairs(5)))
    ana = project.ensure_rater("ana")
    items = [i for (i,) in project.conn.execute("SELECT id FROM items ORDER BY id")]
    for item in items[:3]:
        project.commit_label(item, ana, LabelKind.PAIRWISE, {"verdict": "A"})
    project.set_guidelines("v2", "# v2\nStricter.")
    for item in items[3:]:
        project.commit_label(item, ana, LabelKind.PAIRWISE, {"verdict": "B"})
    project.set_guidelines("v3", "# v3\nNo labels yet under this one.")
    code, _, err = cli("export", "-p", project.path, "--format", "trl-preference", "--out", tmp_path / "out")
    assert code == 0, err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["files"]["preference.jsonl"]["labels_by_guideline_version"] == {"v1": 3, "v2": 2}
    assert manifest["guideline_version_in_force"] == "v3" and "guideline_version" not in manifest
