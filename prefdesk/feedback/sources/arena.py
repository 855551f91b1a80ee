"""Chatbot Arena conversations and MT-Bench human judgments: two models' conversations and a person's vote.

    {"question_id", "model_a", "model_b", "winner": "model_a"|"model_b"|"tie"|"tie (bothbad)", "judge", "turn",
     "conversation_a": [{role, content}, ...], "conversation_b": [...], "tstamp", "anony", "language"}

The vote is on turn `turn` (1 when absent). Where both conversations agree up to that turn's question, the item is
that context and the two answers to it; where earlier answers differ (an arena conversation of several turns), the
item is the first question and each side's whole conversation after it, as its candidate.
"""

from __future__ import annotations

from prefdesk.feedback import signals as S
from prefdesk.feedback.sources.base import Source, per_record
from prefdesk.formats.errors import FieldError
from prefdesk.formats.fields import messages as check_messages, render_messages

TOOL = "arena"
WINNERS = {"model_a": "A", "model_b": "B", "tie": "tie", "tie (bothbad)": "both_bad"}


def matches(rec: dict) -> bool:
    return "model_a" in rec and "model_b" in rec and "winner" in rec


def convert(rec: dict) -> list[S.Signal]:
    verdict = WINNERS.get(rec.get("winner"))
    if verdict is None:
        raise FieldError("winner", f"expected one of {', '.join(WINNERS)}, got {rec.get('winner')!r}")
    a = check_messages(rec.get("conversation_a"), "conversation_a")
    b = check_messages(rec.get("conversation_b"), "conversation_b")
    turn = rec.get("turn", 1)
    if isinstance(turn, bool) or not isinstance(turn, int) or turn < 1:
        raise FieldError("turn", f"expected a turn number from 1, got {turn!r}")
    prompt, answers, whole = _judged(a, b, turn)
    judge = S.optional_text(rec.get("judge"), "judge")
    qid = S.optional_text(rec.get("question_id"), "question_id")
    model_a, model_b = S.optional_text(rec.get("model_a"), "model_a"), S.optional_text(rec.get("model_b"), "model_b")
    at = S.when(rec["tstamp"], "tstamp") if rec.get("tstamp") is not None else S.when(0, "tstamp")
    rid = S.optional_text(rec.get("id"), "id") or f"{qid}/{judge}/{model_a}/{model_b}/{turn}/{rec.get('tstamp')}"
    return [S.Signal(tool=TOOL, external_id=rid, signal="arena", at=at, answers=answers, prompt=prompt,
                     verdict=verdict, models=(model_a, model_b), conversation_id=qid, user_id=judge,
                     bucket=S.optional_text(rec.get("category"), "category"),
                     meta={"turn": turn, "language": rec.get("language"), "anony": rec.get("anony"),
                           "whole_conversations": whole})]


def _judged(a: list[dict], b: list[dict], turn: int) -> tuple[list[dict], tuple[str, str], bool]:
    """(prompt, the two answers, whether they are each side's whole conversation after the first question)."""
    def upto(conv: list[dict], side: str) -> tuple[list[dict], str]:
        users = [i for i, m in enumerate(conv) if m["role"] == "user"]
        if len(users) < turn:
            raise FieldError(f"conversation_{side}", f"has {len(users)} question(s), the vote is on turn {turn}")
        q = users[turn - 1]
        answer = next((m["content"] for m in conv[q + 1:] if m["role"] == "assistant"), None)
        if answer is None:
            raise FieldError(f"conversation_{side}", f"turn {turn} has no answer")
        return conv[:q + 1], answer
    ctx_a, ans_a = upto(a, "a")
    ctx_b, ans_b = upto(b, "b")
    if ctx_a == ctx_b:
        return [dict(role=m["role"], content=m["content"]) for m in ctx_a], (ans_a, ans_b), False
    first = next(i for i, m in enumerate(a) if m["role"] == "user")
    side_a, side_b = a[first + 1:], b[first + 1:]
    return ([{"role": "user", "content": a[first]["content"]}],
            (render_messages(side_a), render_messages(side_b)), True)


SOURCE = Source(TOOL, "Chatbot Arena / MT-Bench judgments: two models' answers and the winner, ties and both bad",
                matches, per_record(convert), convert)
