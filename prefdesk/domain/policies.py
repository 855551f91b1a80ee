"""The names of the aggregation policies (how an item's labels become one training row), for every layer that
offers a choice of them: the store records a version's, the CLI and the panels list them. What each does is
`quality.aggregate` (majority, latest, arbitrated) and `quality.reliability` (weighted, dawid-skene)."""

BASIC_POLICIES = ("majority", "latest", "arbitrated")
POLICY_NAMES = (*BASIC_POLICIES, "weighted", "dawid-skene")
