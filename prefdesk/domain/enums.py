"""Enumerations used across layers. Values are the strings stored in the project file."""

from enum import Enum


class ItemKind(str, Enum):
    PAIRWISE = "pairwise"
    RANKING = "ranking"
    SCALAR = "scalar"
    PROCESS = "process"


class LabelKind(str, Enum):
    PAIRWISE = "pairwise"
    RANKING = "ranking"
    SCALAR = "scalar"
    PROCESS = "process"
    REWRITE = "rewrite"
    # one answer judged desirable or not: a production thumbs (`prefdesk.feedback`), KTO's unpaired label
    BINARY = "binary"


class Verdict(str, Enum):
    """A pairwise verdict in terms of the item's candidates (A = position 0), never screen sides."""

    A = "A"
    B = "B"
    TIE = "tie"
    BOTH_BAD = "both_bad"

    @property
    def is_decisive(self) -> bool:
        return self in (Verdict.A, Verdict.B)


class Strength(str, Enum):
    SLIGHT = "slight"
    CLEAR = "clear"


class LabelSource(str, Enum):
    HUMAN = "human"
    MODEL_JUDGE = "model-judge"
    RULE = "rule"
    ONLINE_FEEDBACK = "online-feedback"
    IMPORT = "import"
    ARBITRATION = "arbitration"  # a reviewer's or expert's decision on a disputed item (`quality.arbitration`)
    # a public dataset's own label (HH-RLHF's chosen side, say): a reference the team is compared with, never a
    # team member: no overlap, no dispute, no vote; exported only where the team has not labelled the item
    REFERENCE = "reference"


class RaterRole(str, Enum):
    EXPERT = "expert"
    ANNOTATOR = "annotator"
    REVIEWER = "reviewer"
    MODEL_JUDGE = "model-judge"
    RULE = "rule"
    END_USERS = "end-users"  # a product's users, through their feedback (`prefdesk.feedback`): a source, not a person
