"""One view per label kind. A view renders a draft and turns actions into draft calls; no SQL here."""

from prefdesk.ui.views.base import ItemView
from prefdesk.ui.views.pairwise import PairwiseView
from prefdesk.ui.views.process import ProcessView
from prefdesk.ui.views.ranking import RankingView
from prefdesk.ui.views.scalar import ScalarView

__all__ = ["ItemView", "PairwiseView", "ProcessView", "RankingView", "ScalarView"]
