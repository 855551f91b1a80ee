"""The items an export reads, each with its current labels (one query a kind, `store.snapshot.label_groups`)."""

from __future__ import annotations

from collections.abc import Iterator
from operator import attrgetter
from typing import NamedTuple

import orjson

from prefdesk.domain import LabelKind
from prefdesk.store.snapshot import L_ID, L_ITEM, L_KIND, L_PAYLOAD, Scope, label_groups


class ExportLabel(NamedTuple):
    """The parts of a label an export reads (reading the rest too made the scan ~1.8x slower)."""

    id: str
    kind: LabelKind
    payload: dict


class LabelledItem(NamedTuple):
    """An item with its current labels, oldest first (a NamedTuple: an export makes one per item)."""

    id: str
    kind: str
    prompt: str
    prompt_messages: list | None
    meta_json: str  # the stored metadata, passed through to the output without a parse
    candidates: list[tuple[str, list | None]]
    steps: list[tuple[str, str | None]]
    labels: list[ExportLabel]
    candidate_meta: list[dict | None]  # each candidate's provenance (a sampled answer's model, seed, ...) or None

    @property
    def meta(self) -> dict:
        return orjson.loads(self.meta_json)

    @property
    def meta_fragment(self) -> orjson.Fragment:
        return orjson.Fragment(self.meta_json)


_LABEL_KINDS = {k.value: k for k in LabelKind}


def labelled_item(group: list[tuple]) -> LabelledItem:
    """An item and its labels from its `label_groups` rows; labels oldest first (UUIDv7 ids sort by time:
    the index hands them over by rater)."""
    row = group[0]
    labels = [ExportLabel(r[L_ID], _LABEL_KINDS[r[L_KIND]], orjson.loads(r[L_PAYLOAD])) for r in group]
    if len(labels) > 1:
        labels.sort(key=attrgetter("id"))
    candidates = orjson.loads(row[4])
    return LabelledItem(
        row[L_ITEM], row[0], row[1], orjson.loads(row[2]) if row[2] else None, row[3],
        [(c["text"], c.get("messages")) for c in candidates],
        [(s["text"], s.get("state")) for s in orjson.loads(row[5])] if row[5] else [], labels,
        [c.get("meta") for c in candidates],
    )


def labelled_items(scope: Scope, kinds: tuple[str, ...]) -> Iterator[LabelledItem]:
    """Every item of the given kinds that has current labels, with its candidates, in id order."""
    return map(labelled_item, label_groups(scope, kinds))
