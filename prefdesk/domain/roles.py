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


def role_change_refused(by_role: RaterRole | None, by_self: bool, target: RaterRole, new: RaterRole,
                        leads: int) -> str | None:
    """Why this change of a rater's role is refused, or None when it may be made. `by_role`: the role of the
    rater making it (None: someone who is not a rater of the project, such as its owner at the command line);
    `leads`: how many reviewers and experts the project has now.

    A lead changes any role. While a project has no lead, its owner names the first (nobody else could); an
    annotator never changes a role, their own least of all. The last lead is never demoted: the project would
    be left with no one to arbitrate or manage roles."""
    if new not in PEOPLE:
        return f"{new.value!r} is a label source, not a role a person works in (roles: " \
               f"{', '.join(r.value for r in PEOPLE)})"
    if by_role is not None and by_role not in LEADS:
        return ("an annotator cannot change their own role" if by_self else "an annotator cannot change roles") + \
            "; a reviewer or expert does (--by NAME)"
    if by_role is None and leads:
        return "only a reviewer or expert of this project changes roles once it has one (--by NAME)"
    if target in LEADS and new not in LEADS and leads <= 1:
        return "this is the project's last reviewer or expert: name another lead first"
    return None
