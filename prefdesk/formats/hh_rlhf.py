"""Anthropic HH-RLHF: two transcripts sharing every turn but the last assistant reply."""

from __future__ import annotations

import re

from prefdesk.domain import ItemKind, LabelKind, NewLabel, Verdict
from prefdesk.formats import fields as F
from prefdesk.formats.base import Converted, Format, candidates, item
from prefdesk.formats.errors import FieldError

_TURN = re.compile(r"\n\n(Human|Assistant):")
_MARK = "\n\nAssistant:"


def matches(rec: dict) -> bool:
    chosen, rejected = rec.get("chosen"), rec.get("rejected")
    return isinstance(chosen, str) and isinstance(rejected, str) and chosen.lstrip(" ").startswith("\n\nHuman:") \
        and "prompt" not in rec


def split_transcript(chosen: str, rejected: str) -> tuple[str, str, str]:
    """(shared dialogue ending with 'Assistant:', chosen reply, rejected reply)."""
    n = 0
    limit = min(len(chosen), len(rejected))
    while n < limit and chosen[n] == rejected[n]:
        n += 1
    cut = chosen.rfind(_MARK, 0, n)
    if cut < 0:
        raise FieldError("chosen", "no shared '\\n\\nAssistant:' turn before the two transcripts differ")
    end = cut + len(_MARK)
    return chosen[:end], chosen[end:].strip(), rejected[end:].strip()


def to_messages(dialogue: str) -> list[dict]:
    parts = _TURN.split(dialogue)
    msgs = []
    for role, content in zip(parts[1::2], parts[2::2]):
        if content.strip():
            msgs.append({"role": "user" if role == "Human" else "assistant", "content": content.strip()})
    return msgs


def convert(rec: dict) -> Converted:
    chosen, rejected = F.text(rec, "chosen"), F.text(rec, "rejected")
    shared, good, bad = split_transcript(chosen, rejected)
    msgs = to_messages(shared)
    if not msgs or msgs[-1]["role"] != "user":
        raise FieldError("chosen", "the shared dialogue does not end with a Human turn")
    meta = F.meta_of(rec, {"chosen", "rejected"})
    payload = {"verdict": Verdict.A.value, "strength": None, "dims": {}, "reason_tags": [], "rationale": None}
    new = item(ItemKind.PAIRWISE, (F.render_messages(msgs), msgs), candidates(good, bad), meta, source="hh-rlhf")
    return [(new, [NewLabel(LabelKind.PAIRWISE, payload, "hh-rlhf")])]


FORMAT = Format("hh-rlhf", "Anthropic HH-RLHF chosen/rejected transcripts", matches, convert, public=True)
