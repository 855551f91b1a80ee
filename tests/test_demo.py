"""The demo project builds on first run, with two raters who disagree on a few items."""

from prefdesk.store.stats import project_stats
from prefdesk.demo import ensure_demo
from prefdesk.formats.export import export_dataset
from prefdesk.quality.aggregate import Policy
from prefdesk.store.project import Project


def test_demo_is_built_once_in_the_user_data_folder_and_exports(user_data, tmp_path):
    path = ensure_demo()
    assert path.parent == user_data and path.exists()
    mtime = path.stat().st_mtime_ns
    assert ensure_demo().stat().st_mtime_ns == mtime  # not rebuilt
    with Project.open(path) as project:
        stats = project_stats(project)
        assert stats["items"] == {"pairwise": 90, "process": 15, "ranking": 15, "scalar": 30}
        assert set(stats["labels_by_rater"]) == {"maya", "tom"}
        scenarios = {r[0] for r in project.conn.execute("SELECT DISTINCT scenario FROM items")}
        assert {"medical", "legal", "finance", "customer-service", "coding"} <= scenarios
        disagreements = project.conn.execute(
            "SELECT COUNT(*) FROM (SELECT item_id FROM current_labels WHERE kind = 'pairwise' "
            "GROUP BY item_id HAVING COUNT(DISTINCT json_extract(payload, '$.verdict')) > 1)").fetchone()[0]
        assert 1 <= disagreements <= 10
        report = export_dataset(project, "trl-preference", tmp_path, Policy())
        assert report.written > 20 and report.left_out["no majority"] == disagreements
