"""Langfuse scores with their traces (and observations), as the public API returns them.

A file holds both kinds, in any order: a JSON object `{"traces": [...], "observations": [...], "scores": [...]}` (the
API's pages saved side by side) or JSON Lines mixing them. A trace: `id, timestamp, name, input, output, sessionId,
userId, release, version, metadata, tags`; an observation: `id, traceId, type, input, output, model`; a score:
`id, name, value, stringValue, dataType NUMERIC|CATEGORICAL|BOOLEAN, source API|ANNOTATION|EVAL, comment, traceId,
observationId, timestamp`. A score names the trace (or observation) whose input is the prompt and output the answer.

BOOLEAN scores are thumbs (1 up, 0 down); NUMERIC ones a rating (0..1 when `minValue`/`maxValue` are absent and the
value lies there; otherwise unscaled), except a score named like user feedback (`THUMBS_NAMES`) with a value of 1, 0
or -1, which is a thumbs; CATEGORICAL ones an event (`category`). An EVAL score is a model's, not a user's: kept as an
event, no online label.
"""

from __future__ import annotations

from prefdesk.feedback import signals as S
from prefdesk.feedback.sources.base import Source, as_answer, as_messages, joined
from prefdesk.formats.errors import FieldError

TOOL = "langfuse"
THUMBS_NAMES = {"user-feedback", "user_feedback", "feedback", "thumbs", "thumbs_up", "user-thumbs"}


def matches(rec: dict) -> bool:
    return ("traceId" in rec and "dataType" in rec) or ("input" in rec and "output" in rec and
                                                        ("sessionId" in rec or "htmlPath" in rec or "release" in rec))


def _score(rec: dict, targets: dict[str, dict]) -> list[S.Signal]:
    sid = S.optional_text(rec.get("id"), "id")
    if sid is None:
        raise FieldError("id", "missing")
    trace_id = rec.get("traceId")
    trace = targets.get(str(trace_id))
    if trace is None:
        raise FieldError("traceId", f"{trace_id!r} points to no trace in this file")
    target = trace
    if rec.get("observationId") is not None:
        target = targets.get(str(rec["observationId"]))
        if target is None:
            raise FieldError("observationId", f"{rec['observationId']!r} points to no observation in this file")
    kind, value = rec.get("dataType"), rec.get("value")
    name = S.optional_text(rec.get("name"), "name") or ""
    signal, scale = "category", None
    if kind == "BOOLEAN":
        if value not in (0, 1, True, False):
            raise FieldError("value", f"a BOOLEAN score is 0 or 1, got {value!r}")
        signal, value = "thumbs", 1.0 if value else -1.0
    elif kind == "NUMERIC":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FieldError("value", f"a NUMERIC score needs a number, got {value!r}")
        if name.lower() in THUMBS_NAMES and value in (1, 0, -1):
            signal, value = "thumbs", 1.0 if value == 1 else -1.0
        else:
            lo, hi = rec.get("minValue"), rec.get("maxValue")
            scale = (float(lo), float(hi)) if lo is not None and hi is not None else (0.0, 1.0) if 0 <= value <= 1 \
                else None
            signal, value = "rating", S.rating(value, "value", *scale) if scale else float(value)
    elif kind == "CATEGORICAL":
        value = None
    else:
        raise FieldError("dataType", f"expected NUMERIC, CATEGORICAL or BOOLEAN, got {kind!r}")
    source = rec.get("source")
    if source == "EVAL":
        signal = "category"  # a model's score: an event, never a user's label
    prompt = as_messages(target.get("input"), "trace.input") if target.get("input") is not None else None
    answer = as_answer(target.get("output"), "trace.output") if target.get("output") is not None else None
    meta = trace.get("metadata") if isinstance(trace.get("metadata"), dict) else {}
    return [S.Signal(
        tool=TOOL, external_id=sid, signal=signal, at=S.when(rec.get("timestamp") or trace.get("timestamp"), "timestamp"),
        answers=(answer,) if answer else (), prompt=prompt, value=value, scale=scale,
        value_text=S.optional_text(rec.get("stringValue"), "stringValue"), models=(target.get("model"),),
        conversation_id=S.optional_text(trace.get("sessionId"), "trace.sessionId") or trace_id,
        message_id=rec.get("observationId") or trace_id, model_version=S.optional_text(
            trace.get("release") or trace.get("version"), "trace.release"),
        user_id=S.optional_text(rec.get("authorUserId") or trace.get("userId"), "trace.userId"),
        bucket=S.optional_text(meta.get("bucket"), "trace.metadata.bucket"),
        scenario=S.optional_text(meta.get("scenario"), "trace.metadata.scenario"),
        comment=S.optional_text(rec.get("comment"), "comment"), meta={"name": name, "source": source})]


SOURCE = Source(TOOL, "Langfuse scores with their traces: boolean and numeric user scores", matches,
                joined(lambda rec: "dataType" in rec or "stringValue" in rec, _score, "trace or observation"))
