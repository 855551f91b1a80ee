"""Roles and what each may do or see, in one place (the desk, the panels and the store ask here).

Reviewers and experts lead: they arbitrate disputes, see a reward model's scores beside an item (to an
annotator they would be a hint that biases the label), edit items' metadata and see every rater's work.
Annotators label. Model judges and rules are label sources, never people at a desk.
"""

from __future__ import annotations

from prefdesk.domain.enums import RaterRole

LEADS = (RaterRole.REVIEWER, RaterRole.EXPERT)
PEOPLE = (RaterRole.EXPERT, RaterRole.ANNOTATOR, RaterRole.REVIEWER)


def can_arbitrate(role: RaterRole) -> bool:
    return role in LEADS


def sees_model_scores(role: RaterRole) -> bool:
    return role in LEADS


def can_edit_items(role: RaterRole) -> bool:
    return role in LEADS


def sees_others_labels(role: RaterRole) -> bool:
    """Whether the item browser shows who labelled an item and how (annotators see their own labels only)."""
    return role in LEADS
