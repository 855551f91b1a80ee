"""What every feedback source is made of: `Source`, the two ways to convert records (`per_record`, `joined`), and
reading a prompt and an answer as the tools log them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prefdesk.feedback.signals import Signal
from prefdesk.formats.errors import FieldError
from prefdesk.formats.fields import ROLES

Numbered = Iterable[tuple[int, dict]]
Outcomes = Iterator[tuple[int, "list[Signal] | FieldError"]]


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    matches: Callable[[dict], bool]
    convert: Callable[[Numbered], Outcomes]
    record: Callable[[dict], list[Signal]] | None = None  # a record alone to signals (None: records are read together)


def per_record(fn: Callable[[dict], list[Signal]]) -> Callable[[Numbered], Outcomes]:
    """A source that needs no other record: each converted alone, its FieldError its own."""
    def convert(records: Numbered) -> Outcomes:
        for number, rec in records:
            try:
                yield number, fn(rec)
            except FieldError as exc:
                yield number, exc
    return convert


def joined(is_score: Callable[[dict], bool], score: Callable[[dict, dict], list[Signal]],
           target: str) -> Callable[[Numbered], Outcomes]:
    """A source whose score records point at target records by id (a Langfuse score at its trace, LangSmith feedback
    at its run), in any order: the targets are read first; each score then converts against them (`score(rec,
    targets by id)`)."""
    def convert(records: Numbered) -> Outcomes:
        targets: dict[str, dict] = {}
        scores = []
        for number, rec in records:
            if is_score(rec):
                scores.append((number, rec))
            elif rec.get("id") is None:
                yield number, FieldError("id", f"a {target} needs its id")
            else:
                targets[str(rec["id"])] = rec
                yield number, []
        for number, rec in scores:
            try:
                yield number, score(rec, targets)
            except FieldError as exc:
                yield number, exc
    return convert


def user_turn(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def as_messages(value: Any, field: str) -> list[dict]:
    """A prompt as a tool logs it: text, a message list, {messages: [...]}, or {input|question|query|prompt: text}."""
    if isinstance(value, str) and value.strip():
        return user_turn(value)
    if isinstance(value, dict):
        if isinstance(value.get("messages"), list):
            return as_messages(value["messages"], f"{field}.messages")
        for key in ("input", "question", "query", "prompt", "text"):
            if isinstance(value.get(key), str) and value[key].strip():
                return user_turn(value[key])
    if isinstance(value, list) and value:
        if all(type(m) is dict and m.get("role") in ROLES and type(m.get("content")) is str for m in value):
            return value  # chat messages already (the usual case): as logged
        out = []
        for i, m in enumerate(value):
            if not isinstance(m, dict) or m.get("role") not in ROLES and m.get("type") not in ("human", "ai", "system"):
                raise FieldError(f"{field}[{i}]", "expected a message with a role and content")
            role = {"human": "user", "ai": "assistant"}.get(m.get("type"), m.get("role") or m.get("type"))
            content = m.get("content")
            if not isinstance(content, str):
                raise FieldError(f"{field}[{i}].content", "expected text")
            out.append({"role": role, "content": content})
        return out
    raise FieldError(field, f"expected the prompt as text or chat messages, got {type(value).__name__}")


def as_answer(value: Any, field: str) -> str:
    """An answer as a tool logs it: text, {content|output|text|answer}, an assistant message, a message list (its
    last assistant turn), OpenAI's {choices: [{message}]} or LangChain's {generations: [[{text}]]}."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("content", "output", "text", "answer", "completion", "response"):
            if key in value and value[key] is not None:
                return as_answer(value[key], f"{field}.{key}")
        if isinstance(value.get("choices"), list) and value["choices"]:
            return as_answer(value["choices"][0].get("message", value["choices"][0]), f"{field}.choices[0]")
        if isinstance(value.get("generations"), list) and value["generations"]:
            first = value["generations"][0]
            return as_answer(first[0] if isinstance(first, list) and first else first, f"{field}.generations[0]")
        if isinstance(value.get("messages"), list):
            return as_answer(value["messages"], f"{field}.messages")
    if isinstance(value, list) and value:
        said = [m.get("content") for m in value if isinstance(m, dict) and m.get("role") in ("assistant", "ai")
                or isinstance(m, dict) and m.get("type") == "ai"]
        if said and isinstance(said[-1], str):
            return said[-1]
    raise FieldError(field, f"expected the answer as text or an assistant message, got {type(value).__name__}")
