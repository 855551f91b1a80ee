"""What two dataset versions export, item by item: the aggregated verdicts compared, not only the label sets.

Two versions can freeze the very same labels and still train different models: a `majority` version and an
`arbitrated` one differ exactly where a decision overturned the raters. `compare` exports both versions'
preference pairs in memory (each with its own policy, as `export --version` does) and says, per item,
whether the exported answer flipped, changed, appeared or went.
"""

from __future__ import annotations

from prefdesk.formats.export_rows import ExportReport, preference_rows
from prefdesk.quality.export_policy import export_policy
from prefdesk.store.project import Project
from prefdesk.store.rows import rows_in
from prefdesk.store.snapshot import Scope

EXAMPLES = 5


def exported_pairs(project: Project, version) -> dict[str, set[tuple[str, str]]]:
    """Item id -> the (chosen, rejected) texts a version's preference export holds for it."""
    scope = Scope(project.conn, Scope.whole(project.conn).last_label, only=version.label_ids,
                  items=version.frozen["items"] if version.frozen else None)
    report = ExportReport("trl-preference", "")
    rows = list(preference_rows(scope, export_policy(project, version), report))
    first = [row["label_ids"][0] for row in rows]
    item_of = dict(rows_in(project.conn, "SELECT id, item_id FROM labels WHERE id IN ({marks})", first))
    out: dict[str, set[tuple[str, str]]] = {}
    for row, label_id in zip(rows, first):
        out.setdefault(item_of[label_id], set()).add((_text(row["chosen"]), _text(row["rejected"])))
    return out


def _text(value) -> str:
    return value if isinstance(value, str) else str(value)


def compare(project: Project, va, vb) -> dict:
    """Per item, how the exported verdict moved from version a to version b (see module)."""
    a, b = exported_pairs(project, va), exported_pairs(project, vb)
    moved = {"flipped": [], "changed": [], "now_exported": [], "no_longer_exported": []}
    for item in sorted(set(a) | set(b)):
        pa, pb = a.get(item), b.get(item)
        if pa == pb:
            continue
        if pa is None:
            moved["now_exported"].append(item)
        elif pb is None:
            moved["no_longer_exported"].append(item)
        elif {(r, c) for c, r in pa} == pb:
            moved["flipped"].append(item)
        else:
            moved["changed"].append(item)
    return {"items_exported_a": len(a), "items_exported_b": len(b),
            "items_unchanged": sum(1 for i in set(a) & set(b) if a[i] == b[i]),
            **{k: len(v) for k, v in moved.items()}, "examples": {k: v[:EXAMPLES] for k, v in moved.items() if v}}


def compare_text(c: dict) -> str:
    """The comparison as a line a lead reads."""
    return (f"  exported verdicts: {c['items_exported_a']} -> {c['items_exported_b']} items; "
            f"{c['flipped']} flipped, {c['changed']} changed, {c['now_exported']} now exported, "
            f"{c['no_longer_exported']} no longer exported, {c['items_unchanged']} unchanged")


def diff(project: Project, a: str, b: str) -> dict:
    """`store.versions.diff` (labels, sources, raters, win rates) with the exported verdicts compared."""
    from prefdesk.store import versions

    out = versions.diff(project, a, b)
    out["verdicts"] = compare(project, versions.get(project, a), versions.get(project, b))
    return out


def diff_text(d: dict) -> str:
    from prefdesk.store import versions

    return versions.diff_text(d) + "\n" + compare_text(d["verdicts"])
