"""One view per label kind. A view shows an item and turns actions into label payloads; no SQL here."""

from prefdesk.ui.views.base import Commit, ItemView
from prefdesk.ui.views.pairwise import PairwiseView
from prefdesk.ui.views.process import ProcessView
from prefdesk.ui.views.ranking import RankingView
from prefdesk.ui.views.scalar import ScalarView

__all__ = ["Commit", "ItemView", "PairwiseView", "ProcessView", "RankingView", "ScalarView"]
