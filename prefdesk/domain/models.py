"""Immutable records for items, candidates, steps, raters, sessions and labels.

The records made by the million (Candidate, Step, NewItem, NewLabel, Label: one or more per imported
or exported record) are NamedTuples: as immutable as a frozen dataclass and four times cheaper to
build (0.7 us against 3 us a record, and an import of a million pairs builds four million of them).
The rest are frozen dataclasses.

Label payloads are plain dicts with one documented shape per `LabelKind`:

- pairwise: ``{"verdict": Verdict, "strength": "slight"|"clear"|None, "dims": {dim: Verdict},
  "reason_tags": [str], "rationale": str|None}`` -- verdicts name candidate positions (A = 0).
- ranking: ``{"order": [[pos, ...], ...]}`` best tier first; a tier of several positions is a tie.
- scalar: ``{"score": float, "dims": {dim: float}}``.
- process: ``{"ratings": [1|0|-1, ...], "first_error": int|None, "final_correct": bool|None,
  "cannot_judge": bool, "replacement": {"step": int, "text": str}|None}``.
- rewrite: ``{"original": pos, "rewrite": pos}`` (the rewrite is preferred to the original).
- binary: ``{"desirable": bool, "signal": str, "event": str}`` -- one answer (candidate 0) judged desirable or not,
  as a production thumbs is (`prefdesk.feedback`); KTO's unpaired label.

A label from online feedback (source ``online-feedback``) also names its ``signal`` and its ``event`` (the
tool's own id: `feedback_events.tool` + ``:`` + `external_id`), whatever its kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from prefdesk.domain.enums import ItemKind, LabelKind, LabelSource, RaterRole


class Candidate(NamedTuple):
    position: int
    text: str
    messages: list[dict] | None = None
    model: str | None = None
    gen_params: dict | None = None
    source: str | None = None
    meta: dict | None = None  # where it came from, for a sampled answer (`training.generate`): model and its hash,
    # adapter, backend, every sampling parameter, its own seed, template, token counts, finish reason, time


class Step(NamedTuple):
    position: int
    text: str
    state: str | None = None


class NewItem(NamedTuple):
    """An item as read from a file, before it gets ids."""

    kind: ItemKind
    prompt: str
    candidates: tuple[Candidate, ...]
    prompt_messages: list[dict] | None = None
    steps: tuple[Step, ...] = ()
    meta: dict[str, Any] | None = None  # None reads as {}: a NamedTuple default cannot be a fresh dict
    is_gold: bool = False
    priority: float = 0.0
    source: str | None = None


MAX_DURATION_MS = 10 ** 10  # ~115 days: more is a broken clock or a sentinel (PRM800K has 2^64-1), not time spent


class NewLabel(NamedTuple):
    """A label that arrives with imported data (source = import unless said otherwise)."""

    kind: LabelKind
    payload: dict[str, Any]
    rater_name: str = "import"
    source: LabelSource = LabelSource.IMPORT
    confidence: float | None = None
    created_at: str | None = None
    duration_ms: int | None = None


@dataclass(frozen=True)
class Item:
    id: str
    kind: ItemKind
    prompt: str
    candidates: tuple[Candidate, ...]
    prompt_messages: list[dict] | None = None
    steps: tuple[Step, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    scenario: str | None = None
    risk_level: str | None = None
    bucket: str | None = None
    is_gold: bool = False
    priority: float = 0.0
    source: str | None = None
    gold_answer: dict[str, Any] | None = None  # the expected label of a gold item; never shown to raters


@dataclass(frozen=True)
class Rater:
    id: str
    name: str
    role: RaterRole = RaterRole.ANNOTATOR
    level: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class Session:
    id: str
    rater_id: str
    started_at: str
    guideline_version: str | None = None


class Label(NamedTuple):
    id: str
    item_id: str
    rater_id: str
    kind: LabelKind
    payload: dict[str, Any]
    created_at: str
    source: LabelSource
    session_id: str | None = None
    duration_ms: int | None = None
    guideline_version: str | None = None
    app_version: str | None = None
    round: int = 1
    display_order: tuple[int, ...] | None = None
    confidence: float | None = None
    supersedes: str | None = None
