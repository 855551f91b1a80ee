"""Qt-free drafts of the label being made, one small model per label kind.

A draft holds what the rater has given so far on one item (verdict, dimensions, tags, rationale,
ranking, step ratings), validates it, and produces the `ReadyLabel` to commit, in candidate terms
(A = the item's first candidate), never screen sides. The desk's widgets only render a draft; going
back to an earlier label restores a draft from that label's payload. Imports only `domain`.
"""

from prefdesk.labeling.base import Draft, Incomplete, ReadyLabel, Side, rationale_needed
from prefdesk.labeling.pairwise import PairwiseDraft
from prefdesk.labeling.process import ProcessDraft
from prefdesk.labeling.ranking import RankingDraft
from prefdesk.labeling.scalar import ScalarDraft
from prefdesk.domain.payloads import payload_problems

__all__ = ["Draft", "Incomplete", "PairwiseDraft", "ProcessDraft", "RankingDraft", "ReadyLabel", "ScalarDraft",
           "Side", "payload_problems", "rationale_needed", "draft_for"]


def draft_for(item, settings: dict, seed: str) -> Draft:
    """A fresh draft for `item` under the project's settings; `seed` (the rater) fixes the display order."""
    kinds = {"pairwise": PairwiseDraft, "ranking": RankingDraft, "scalar": ScalarDraft, "process": ProcessDraft}
    return kinds[item.kind.value](item, settings, seed)
