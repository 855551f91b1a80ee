"""`prefdesk new | config | stats`: make a project file, read and change its settings, count what it holds."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from prefdesk.cli.common import key_values


def cmd_new(args: argparse.Namespace) -> int:
    from prefdesk.store.project import Project

    Project.create(args.project).close()
    print(f"created {args.project}")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Print the settings as JSON, or check and store changes (all of them or none)."""
    from prefdesk.domain.settings import SettingError
    from prefdesk.store.project import Project

    from prefdesk.domain.key_values import pairs

    changes = {}
    for key, raw in pairs(args.set, "--set", "KEY=JSON", joined=False):  # e.g. overlap=3 'dimensions=["helpfulness"]'
        if key in changes:
            raise SettingError(key, "set twice in one command; give each setting once")
        try:
            changes[key] = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SettingError(key, f"the value is not JSON ({exc.msg}); quote text: 'scale_anchors={{\"1\": \"bad\"}}'")
    if bool(args.guidelines) != bool(args.guideline_version):
        raise SettingError("guideline_version", "give both: --guidelines FILE.md --guideline-version V")
    text = Path(args.guidelines).read_text(encoding="utf-8") if args.guidelines else None
    with Project.open(args.project) as project:
        with project.transaction():
            if changes:
                project.set_settings(changes)
            if text is not None:
                project.set_guidelines(args.guideline_version, text)
        version, guidelines = project.guidelines()
        out = {**project.settings, "guideline_version": version, "guidelines": guidelines,
               "guideline_versions": project.guideline_versions()}
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from prefdesk.store.project import Project
    from prefdesk.store.stats import project_stats

    with Project.open(args.project) as project:
        stats = project_stats(project)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"items: {sum(stats['items'].values())} ({', '.join(f'{k} {v}' for k, v in stats['items'].items())}); gold {stats['gold_items']}")
    print("labels by source: " + (", ".join(f"{k} {v}" for k, v in stats["labels_by_source"].items()) or "none"))
    print("labels by rater:  " + (", ".join(f"{k} {v}" for k, v in stats["labels_by_rater"].items()) or "none"))
    print(f"superseded labels: {stats['superseded_labels']}; flagged items: {stats['flagged_items']}")
    print(f"items short of overlap ({stats['overlap_target']} raters): {stats['items_short_of_overlap']}; "
          f"over it: {stats['items_over_overlap']}")
    gen = stats["generation"]
    if gen["runs"]:
        unfit = ", ".join(f"{n} {why}" for why, n in gen["unfit_prompts"].items()) or "none"
        print(f"generation: {gen['runs']} runs, {gen['resampled']} answers resampled; prompts held back: "
              f"{gen['duplicate_prompts']} near-duplicate, {unfit}")
    if stats["double_votes"]:
        print(f"double votes: {stats['double_votes']} (a rater with two current votes on an item; prefdesk check)")
    return 0


def add_commands(command, sub) -> None:
    p = command("new", cmd_new, "create an empty project", project=False)
    p.add_argument("project")
    p = command("config", cmd_config, "show the project settings as JSON, or change them")
    key_values(p, "--set", "KEY=JSON", "e.g. overlap=3 'reason_tags=[\"too long\"]'")
    p.add_argument("--guidelines", metavar="FILE.md", help="add a guideline version from a Markdown file and put it in force")
    p.add_argument("--guideline-version", metavar="V", help="the name of that version")
    p = command("stats", cmd_stats, "counts of items and labels")
    p.add_argument("--json", action="store_true")
