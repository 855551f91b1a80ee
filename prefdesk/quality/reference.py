"""The team against a public dataset's own labels (`LabelSource.REFERENCE`): how often each rater gives the
verdict the dataset gave. A reference is never a team member, so this stands beside the team's agreement,
not inside it."""

from __future__ import annotations

from prefdesk.store.votes import SUPERSEDED

# The references first (few, read by their own index), then each one's item's labels (by `labels_item_rater`).
_REFERENCES = f"""
    WITH ref AS MATERIALIZED (
        SELECT item_id, json_extract(payload, '$.verdict') AS verdict FROM labels INDEXED BY labels_reference
        WHERE source = 'reference' AND kind = 'pairwise' AND json_extract(payload, '$.verdict') IN ('A', 'B')
          AND id NOT IN ({SUPERSEDED}))
"""
_AGAINST_REFERENCE = _REFERENCES + f"""
    SELECT r.name, COUNT(*), SUM(json_extract(l.payload, '$.verdict') = ref.verdict)
    FROM ref
    JOIN labels l ON l.item_id = ref.item_id
    JOIN raters r ON r.id = l.rater_id
    WHERE l.kind = 'pairwise' AND l.source NOT IN ('reference', 'arbitration') AND l.round = 1
      AND l.id NOT IN ({SUPERSEDED})
    GROUP BY r.name ORDER BY r.name
"""


def reference_agreement(project) -> dict:
    """Items with a decisive reference verdict; per rater and for the team, labels compared with it and the
    share that agree (ties and both-bad count as not agreeing: the reference chose a side)."""
    rows = project.conn.execute(_AGAINST_REFERENCE).fetchall()
    items = project.conn.execute(_REFERENCES + "SELECT COUNT(DISTINCT item_id) FROM ref").fetchone()[0]
    compared = sum(n for _, n, _ in rows)
    agreed = sum(a for _, _, a in rows)
    return {"items_with_reference": items,
            "team": {"compared": compared, "agreement": agreed / compared if compared else None},
            "raters": {name: {"compared": n, "agreement": a / n} for name, n, a in rows}}
