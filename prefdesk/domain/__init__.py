"""Plain data shared by every layer: enums and frozen dataclasses, stdlib only."""

from prefdesk.domain.enums import ItemKind, LabelKind, LabelSource, RaterRole, Strength, Verdict
from prefdesk.domain.models import (
    Candidate,
    Item,
    Label,
    NewItem,
    NewLabel,
    Rater,
    Session,
    Step,
)

__all__ = [
    "Candidate", "Item", "ItemKind", "Label", "LabelKind", "LabelSource", "NewItem", "NewLabel",
    "Rater", "RaterRole", "Session", "Step", "Strength", "Verdict",
]
