"""One view per label kind. A view renders a draft and turns actions into draft calls; no SQL here."""

from prefdesk.ui.desk.views.base import ItemView
from prefdesk.ui.desk.views.pairwise import PairwiseView
from prefdesk.ui.desk.views.process import ProcessView
from prefdesk.ui.desk.views.ranking import RankingView
from prefdesk.ui.desk.views.scalar import ScalarView

__all__ = ["ItemView", "PairwiseView", "ProcessView", "RankingView", "ScalarView"]
