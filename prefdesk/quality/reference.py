"""The team against a public dataset's own labels (`LabelSource.REFERENCE`): how often each rater gives the
verdict the dataset gave. A reference is never a team member, so this stands beside the team's agreement,
not inside it."""

from __future__ import annotations

_AGAINST_REFERENCE = """
    SELECT r.name, COUNT(*), SUM(json_extract(l.payload, '$.verdict') = json_extract(ref.payload, '$.verdict'))
    FROM current_labels l
    JOIN raters r ON r.id = l.rater_id
    JOIN current_labels ref ON ref.item_id = l.item_id AND ref.source = 'reference' AND ref.kind = 'pairwise'
    WHERE l.kind = 'pairwise' AND l.source NOT IN ('reference', 'arbitration') AND l.round = 1
      AND json_extract(ref.payload, '$.verdict') IN ('A', 'B')
    GROUP BY r.name ORDER BY r.name
"""


def reference_agreement(project) -> dict:
    """Items with a decisive reference verdict; per rater and for the team, labels compared with it and the
    share that agree (ties and both-bad count as not agreeing: the reference chose a side)."""
    rows = project.conn.execute(_AGAINST_REFERENCE).fetchall()
    items = project.conn.execute(
        "SELECT COUNT(DISTINCT item_id) FROM current_labels WHERE source = 'reference' AND kind = 'pairwise' "
        "AND json_extract(payload, '$.verdict') IN ('A', 'B')").fetchone()[0]
    compared = sum(n for _, n, _ in rows)
    agreed = sum(a for _, _, a in rows)
    return {"items_with_reference": items,
            "team": {"compared": compared, "agreement": agreed / compared if compared else None},
            "raters": {name: {"compared": n, "agreement": a / n} for name, n, a in rows}}
