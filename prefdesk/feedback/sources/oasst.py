"""OpenAssistant message trees, as the oasst1 / oasst2 message rows: one message a record.

    {"message_id", "parent_id", "user_id", "created_date", "text", "role": "prompter"|"assistant", "lang", "rank",
     "emojis": {"name": ["+1", "-1", ...], "count": [3, 1, ...]}, "labels": {"name": [...], "value": [...],
     "count": [...]}, "message_tree_id", "deleted", "review_result"}

Replies of one parent with a `rank` (0 the best) become a ranking; an assistant reply's "+1" / "-1" emojis a thumbs
(their balance; none where they cancel out), the counts and its quality labels kept with the event. The prompt of
a reply is the thread from the tree's root. A `parent_id` that points to no message of the file is refused.
"""

from __future__ import annotations

from prefdesk.feedback import signals as S
from prefdesk.feedback.sources.base import Numbered, Outcomes, Source
from prefdesk.formats.errors import FieldError

TOOL = "openassistant"
_ROLES = {"prompter": "user", "assistant": "assistant"}


def matches(rec: dict) -> bool:
    return "message_id" in rec and "parent_id" in rec and rec.get("role") in _ROLES


def _pairs(value, field: str, key: str = "count") -> dict:
    """oasst's {name: [...], count: [...]} (or a plain {name: count}) as a dict."""
    if value is None:
        return {}
    if isinstance(value, dict) and isinstance(value.get("name"), list):
        values = value.get(key)
        if not isinstance(values, list) or len(values) != len(value["name"]):
            raise FieldError(field, f"expected name and {key} lists of one length")
        return dict(zip(value["name"], values))
    if isinstance(value, dict):
        return value
    raise FieldError(field, "expected {name: [...], count: [...]}")


def convert(records: Numbered) -> Outcomes:
    rows: dict[str, tuple[int, dict]] = {}
    order = []
    for number, rec in records:
        mid = rec.get("message_id")
        if not isinstance(mid, str) or not isinstance(rec.get("text"), str):
            yield number, FieldError("message_id" if not isinstance(mid, str) else "text", "missing")
            continue
        rows[mid] = (number, rec)
        order.append(mid)
    children: dict[str, list[str]] = {}
    for mid in order:
        children.setdefault(rows[mid][1].get("parent_id"), []).append(mid)
    for mid in order:
        number, rec = rows[mid]
        try:
            yield number, _signals(mid, rec, rows, children)
        except FieldError as exc:
            yield number, exc


def _thread(mid: str, rows: dict) -> list[dict]:
    out, seen = [], set()
    while mid is not None:
        if mid in seen or mid not in rows:
            raise FieldError("parent_id", f"{mid!r} points to no message in this file" if mid not in rows
                             else "the parent links loop")
        seen.add(mid)
        rec = rows[mid][1]
        out.append({"role": _ROLES[rec["role"]], "content": rec["text"]})
        mid = rec.get("parent_id")
    return out[::-1]


def _signals(mid: str, rec: dict, rows: dict, children: dict) -> list[S.Signal]:
    if rec.get("role") not in _ROLES:
        raise FieldError("role", f"expected prompter or assistant, got {rec.get('role')!r}")
    thread = _thread(mid, rows)
    common = dict(tool=TOOL, at=S.when(rec.get("created_date") or 0, "created_date"),
                  conversation_id=S.optional_text(rec.get("message_tree_id"), "message_tree_id"), message_id=mid,
                  parent_id=rec.get("parent_id"), user_id=S.optional_text(rec.get("user_id"), "user_id"),
                  bucket=S.optional_text(rec.get("lang"), "lang"))
    out = []
    emojis = _pairs(rec.get("emojis"), "emojis")
    labels = _pairs(rec.get("labels"), "labels", "value")
    if rec["role"] == "assistant":
        up, down = emojis.get("+1", 0), emojis.get("-1", 0)
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in (up, down)):
            raise FieldError("emojis", f"expected counts, got +1: {up!r}, -1: {down!r}")
        if up or down:
            out.append(S.Signal(external_id=mid, signal="thumbs", answers=(rec["text"],), prompt=thread[:-1],
                                value=(up > down) - (up < down) or None, models=(rec.get("model_name"),),
                                meta={"+1": up, "-1": down, "labels": labels}, **common))
    ranked = [c for c in children.get(mid, []) if rows[c][1].get("role") == "assistant"
              and rows[c][1].get("rank") is not None and not rows[c][1].get("deleted")]
    if len(ranked) >= 2:
        ranks = sorted({rows[c][1]["rank"] for c in ranked})
        if any(isinstance(r, bool) or not isinstance(r, int) for r in ranks):
            raise FieldError("rank", "expected whole-number ranks on the replies")
        out.append(S.Signal(external_id=f"{mid}#rank", signal="rank", prompt=thread,
                            answers=tuple(rows[c][1]["text"] for c in ranked),
                            order=[[i for i, c in enumerate(ranked) if rows[c][1]["rank"] == r] for r in ranks],
                            models=tuple(rows[c][1].get("model_name") for c in ranked), **common))
    return out


SOURCE = Source(TOOL, "OpenAssistant message trees: ranked replies and +1 / -1 emojis", matches, convert)
