"""TRL preference datasets: standard or conversational, explicit or implicit prompt."""

from __future__ import annotations

from prefdesk.domain import ItemKind, LabelKind, NewLabel, Verdict
from prefdesk.formats import fields as F
from prefdesk.formats.base import Converted, Format, candidates, item
from prefdesk.formats.errors import FieldError


def matches(rec: dict) -> bool:
    return "chosen" in rec and "rejected" in rec


def split_conversations(chosen: list[dict], rejected: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    """Shared leading messages are the prompt; the rest of each list is its response."""
    n = 0
    while n < min(len(chosen), len(rejected)) and chosen[n] == rejected[n]:
        n += 1
    while n > 0 and chosen[n - 1]["role"] == "assistant":  # a response starts at an assistant turn
        n -= 1
    return chosen[:n], chosen[n:], rejected[n:]


def _common_text_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    while n > 0 and not a[n - 1].isspace():  # back to a word boundary
        n -= 1
    return n


def pair_from(rec: dict) -> tuple[tuple[str, list | None], tuple[str, str], tuple]:
    """(prompt, (chosen text, rejected text), (chosen messages, rejected messages))."""
    chosen, rejected = rec.get("chosen"), rec.get("rejected")
    if isinstance(chosen, list) or isinstance(rejected, list):
        chosen, rejected = F.messages(chosen, "chosen"), F.messages(rejected, "rejected")
        if "prompt" in rec:
            prompt = F.prompt(rec)
            plen = len(prompt[1]) if prompt[1] else 0
            if prompt[1] and chosen[:plen] == prompt[1]:
                chosen, rejected = chosen[plen:], rejected[plen:]
            elif prompt[1] is None and chosen and chosen[0]["role"] == "user" and chosen[0]["content"] == prompt[0]:
                chosen, rejected = chosen[1:], rejected[1:]
        else:
            shared, chosen, rejected = split_conversations(chosen, rejected)
            if not shared:
                raise FieldError("chosen", "implicit prompt: chosen and rejected share no leading messages")
            prompt = (F.render_messages(shared), shared)
        if not chosen or not rejected:
            raise FieldError("chosen", "no response messages after the prompt")
        text = lambda msgs: "\n\n".join(m["content"] for m in msgs)  # noqa: E731
        return prompt, (text(chosen), text(rejected)), (chosen, rejected)
    chosen, rejected = F.text(rec, "chosen"), F.text(rec, "rejected")
    if "prompt" in rec:
        return F.prompt(rec), (chosen, rejected), ()
    n = _common_text_prefix(chosen, rejected)
    if n == 0:
        raise FieldError("prompt", "missing, and chosen/rejected share no leading text to take it from")
    return (chosen[:n].rstrip(), None), (chosen[n:], rejected[n:]), ()


def convert(rec: dict) -> Converted:
    prompt, (good, bad), msgs = pair_from(rec)
    meta = F.meta_of(rec, {"prompt", "chosen", "rejected", "margin"})
    payload = {"verdict": Verdict.A.value, "strength": None, "dims": {}, "reason_tags": [], "rationale": None}
    if "margin" in rec:
        payload["margin"] = F.number(rec, "margin")
    return [(item(ItemKind.PAIRWISE, prompt, candidates(good, bad, messages=msgs), meta),
             [NewLabel(LabelKind.PAIRWISE, payload, "import")])]


FORMAT = Format("trl-preference", "TRL preference: prompt?, chosen, rejected (text or messages)", matches, convert, public=True)
