"""Open WebUI's feedback export (Admin > Evaluations > Export: a JSON array of feedback rows).

A row: `id, user_id, version, type, data{rating: 1|-1, model_id, sibling_model_ids, reason, comment, tags,
details{rating: 1-10}}, meta{chat_id, message_id, message_index, arena, base_models}, snapshot{chat{id, title,
chat{history{messages{id: {parentId, childrenIds, role, content, model, timestamp}}, currentId}}}}, created_at`.
The history is found in `snapshot.chat.chat`, `snapshot.chat` or `snapshot` (versions differ).

Each row gives: the thumbs on the rated message; its 1-10 detail rating when set; in arena mode, the rated answer
against each sibling of another model (won with a thumbs up, lost with a thumbs down); and where the user
regenerated the answer (siblings under one parent), the sibling the conversation continues from (on the path to
`currentId`) over each other one.
"""

from __future__ import annotations

from prefdesk.feedback import signals as S
from prefdesk.feedback.sources.base import Source, per_record
from prefdesk.formats.errors import FieldError

TOOL = "open-webui"


def matches(rec: dict) -> bool:
    return isinstance(rec.get("data"), dict) and isinstance(rec.get("meta"), dict) and "snapshot" in rec


def _history(rec: dict) -> tuple[dict, str, str | None]:
    snap = rec.get("snapshot")
    if not isinstance(snap, dict):
        raise FieldError("snapshot", "missing: the row has no snapshot of its conversation")
    for place, holder in (("snapshot.chat.chat", (snap.get("chat") or {}).get("chat") if isinstance(
            snap.get("chat"), dict) else None), ("snapshot.chat", snap.get("chat")), ("snapshot", snap)):
        if isinstance(holder, dict) and isinstance(holder.get("history"), dict):
            history = holder["history"]
            messages = history.get("messages")
            if isinstance(messages, list):  # some versions keep them as a list
                messages = {m.get("id"): m for m in messages if isinstance(m, dict)}
            if not isinstance(messages, dict):
                raise FieldError(f"{place}.history.messages", "expected the messages by id")
            return messages, f"{place}.history.messages", history.get("currentId")
    raise FieldError("snapshot", "has no chat history (looked in snapshot.chat.chat, snapshot.chat, snapshot)")


def _path(messages: dict, mid: str, where: str) -> list[dict]:
    """The messages from the root to `mid`, each checked; a parentId pointing nowhere is refused."""
    out, seen = [], set()
    while mid is not None:
        if mid in seen:
            raise FieldError(f"{where}.{mid}.parentId", "the parent links loop")
        seen.add(mid)
        msg = messages.get(mid)
        if not isinstance(msg, dict):
            raise FieldError(f"{where}.{mid}", "points to no message of the snapshot")
        if msg.get("role") not in ("user", "assistant", "system") or not isinstance(msg.get("content"), str):
            raise FieldError(f"{where}.{mid}", "expected a message with role user|assistant|system and text content")
        out.append(msg)
        mid = msg.get("parentId")
    return out[::-1]


def convert(rec: dict) -> list[S.Signal]:
    rid = S.optional_text(rec.get("id"), "id")
    if rid is None:
        raise FieldError("id", "missing")
    data, meta = rec["data"], rec["meta"]
    mid = meta.get("message_id")
    if not isinstance(mid, str):
        raise FieldError("meta.message_id", "missing: which message was rated")
    messages, where, current = _history(rec)
    if mid not in messages:
        raise FieldError("meta.message_id", f"{mid!r} is not in the snapshot's messages: the rated message is missing")
    path = _path(messages, mid, where)
    rated = path[-1]
    if rated["role"] != "assistant":
        raise FieldError("meta.message_id", f"{mid!r} is a {rated['role']} message, not an answer")
    prompt = [{"role": m["role"], "content": m["content"]} for m in path[:-1]]
    at = S.when(rec.get("created_at"), "created_at")
    common = dict(tool=TOOL, at=at, prompt=prompt, conversation_id=S.optional_text(meta.get("chat_id"), "meta.chat_id"),
                  message_id=mid, parent_id=rated.get("parentId"), user_id=S.optional_text(rec.get("user_id"), "user_id"),
                  model_version=_version(meta, rated))
    model = rated.get("model") or data.get("model_id")
    reason, tags = data.get("reason"), data.get("tags") or []
    comment = data.get("comment") or None
    out = [S.Signal(external_id=rid, signal="thumbs", answers=(rated["content"],), value=S.thumb(data.get("rating"),
                    "data.rating"), models=(model,), comment=comment, meta={"reason": reason, "tags": tags}, **common)]
    details = data.get("details") if isinstance(data.get("details"), dict) else rec.get("details")
    if isinstance(details, dict) and details.get("rating") is not None:
        out.append(S.Signal(external_id=f"{rid}#rating", signal="rating", answers=(rated["content"],),
                            value=S.rating(details["rating"], "data.details.rating", 1, 10), scale=(1.0, 10.0),
                            models=(model,), comment=comment, **common))
    siblings = _siblings(messages, rated, where)
    won = out[0].value > 0
    if meta.get("arena"):
        others = set(data.get("sibling_model_ids") or [])
        for sib in siblings:
            if sib.get("model") in others or not others:
                out.append(S.Signal(external_id=f"{rid}#arena:{sib.get('id')}", signal="arena",
                                    answers=(rated["content"], sib["content"]), verdict="A" if won else "B",
                                    models=(model, sib.get("model")), **common))
    elif siblings:
        kept = _on_current_path(messages, current, [rated] + siblings)
        for sib in [rated] + siblings:
            if kept is not None and sib is not kept:
                pair = sorted((sib, kept), key=lambda m: m.get("timestamp") or 0)  # in the order they were written
                out.append(S.Signal(external_id=f"{rid}#kept:{kept.get('id')}>{sib.get('id')}", signal="regenerate",
                                    answers=tuple(m["content"] for m in pair), verdict="A" if pair[0] is kept else "B",
                                    models=tuple(m.get("model") for m in pair), **common))
    return out


def _siblings(messages: dict, rated: dict, where: str) -> list[dict]:
    parent = messages.get(rated.get("parentId"))
    ids = parent.get("childrenIds") if isinstance(parent, dict) else None
    out = []
    for cid in ids if isinstance(ids, list) else []:
        sib = messages.get(cid)
        if cid == rated.get("id"):
            continue
        if not isinstance(sib, dict):
            raise FieldError(f"{where}.{rated.get('parentId')}.childrenIds", f"{cid!r} points to no message")
        if sib.get("role") == "assistant" and isinstance(sib.get("content"), str) and sib["content"].strip():
            out.append(sib)
    return out


def _on_current_path(messages: dict, current: str | None, candidates: list[dict]) -> dict | None:
    """The candidate the conversation went on from: an ancestor of (or) the current message."""
    ids, seen = {id(m): m for m in candidates}, set()
    mid = current
    while isinstance(mid, str) and mid not in seen and mid in messages:
        seen.add(mid)
        msg = messages[mid]
        if id(msg) in ids:
            return msg
        mid = msg.get("parentId")
    return None


def _version(meta: dict, rated: dict) -> str | None:
    base = meta.get("base_models")
    if isinstance(base, dict) and isinstance(base.get(rated.get("model")), str):
        return base[rated["model"]]
    return None


SOURCE = Source(TOOL, "Open WebUI's feedback export: thumbs, 1-10 ratings, arena votes, regenerations",
                matches, per_record(convert), convert)
