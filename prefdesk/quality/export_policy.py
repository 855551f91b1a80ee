"""Which aggregation policy an export, a dry count or a training job reads the labels under: the basic policies
(`quality.aggregate`), the reliability ones (`quality.reliability`, numpy: imported only for them), or a frozen
version's own decisions."""

from __future__ import annotations

from prefdesk.quality.aggregate import Policy


def policy_for(project, name: str, only: frozenset[str] | None = None) -> Policy:
    """The aggregation policy called `name` for this project; the reliability policies read the whole
    project first (numpy: imported only then), or only the labels `only` (a frozen version's)."""
    if name in ("weighted", "dawid-skene"):
        from prefdesk.quality.reliability import reliability_policy

        return reliability_policy(project, name, only=only)
    return Policy(name)


def export_policy(project, version=None, aggregate: str | None = None) -> Policy:
    """The one rule of which policy an export, a dry count or a training job reads the labels under: a frozen
    version's own (with the decisions frozen with it), else the policy named (majority when none is). It carries
    the project's source trust: an item that only a judge or a rule labelled is exported at that weight."""
    if version is None:
        policy = policy_for(project, aggregate or "majority")
    elif aggregate and aggregate != version.aggregate:
        raise ValueError(f"version {version.name!r} was frozen with --aggregate {version.aggregate}; its export "
                         "uses that policy (leave --aggregate out)")
    else:
        policy = policy_for_version(project, version)
    policy.trust = dict(project.settings["source_trust"])
    return policy


def policy_for_version(project, version) -> Policy:
    """The policy a frozen version's export uses: the decisions frozen with it (a reliability policy's), else
    its policy on its own labels (the other policies, and versions made before decisions were frozen)."""
    decisions = (version.frozen or {}).get("decisions")
    if decisions is None:
        return policy_for(project, version.aggregate, version.label_ids)
    from prefdesk.quality.reliability import ReliabilityPolicy, items_of

    return ReliabilityPolicy(version.aggregate, {lid: tuple(decisions[item])
                                                 for lid, item in items_of(project, version.label_ids).items()
                                                 if item in decisions})
