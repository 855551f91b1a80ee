"""LangSmith feedback with its runs, as `Client.list_feedback()` and `Client.list_runs()` give them.

A file holds both, in any order: `{"runs": [...], "feedback": [...]}` or JSON Lines mixing them. A run: `id, name,
run_type, inputs, outputs, start_time, trace_id, session_id, extra{metadata}, tags`; feedback: `id, run_id, key,
score, value, comment, correction, feedback_source{type, user_id}, created_at`.

A score that is a boolean, 0 or 1 is a thumbs; another number in 0..1 a rating on 0..1 (a larger one unscaled); a
`correction` (text or {output|content}) is a pair, the correction over the run's output; a categorical `value` is an
event. Feedback whose source type is `model` is an evaluator's, not a user's: an event, no online label.
"""

from __future__ import annotations

from prefdesk.feedback import signals as S
from prefdesk.feedback.sources.base import Source, as_answer, as_messages, joined
from prefdesk.formats.errors import FieldError

TOOL = "langsmith"


def matches(rec: dict) -> bool:
    return ("run_id" in rec and "key" in rec) or ("run_type" in rec and "inputs" in rec)


def _feedback(rec: dict, runs: dict[str, dict]) -> list[S.Signal]:
    fid = S.optional_text(rec.get("id"), "id")
    if fid is None:
        raise FieldError("id", "missing")
    run = runs.get(str(rec.get("run_id")))
    if run is None:
        raise FieldError("run_id", f"{rec.get('run_id')!r} points to no run in this file")
    score, scale = rec.get("score"), None
    if score is None:
        signal, value = ("category" if rec.get("value") is not None else "comment"), None
    elif score is True or score is False or score in (0, 1):
        signal, value = "thumbs", 1.0 if score else -1.0
    elif isinstance(score, (int, float)) and not isinstance(score, bool):
        scale = (0.0, 1.0) if 0 <= score <= 1 else None
        signal, value = "rating", S.rating(score, "score", *scale) if scale else float(score)
    else:
        raise FieldError("score", f"expected a number, a boolean or null, got {score!r}")
    source = rec.get("feedback_source") if isinstance(rec.get("feedback_source"), dict) else {}
    prompt = as_messages(run.get("inputs"), "run.inputs") if run.get("inputs") else None
    answer = as_answer(run.get("outputs"), "run.outputs") if run.get("outputs") else None
    common = dict(
        tool=TOOL, at=S.when(rec.get("created_at") or run.get("start_time"), "created_at"), prompt=prompt,
        conversation_id=str(run.get("session_id") or run.get("trace_id") or run["id"]), message_id=str(run["id"]),
        parent_id=S.optional_text(run.get("parent_run_id"), "run.parent_run_id"),
        model_version=S.optional_text(((run.get("extra") or {}).get("metadata") or {}).get("revision_id"),
                                      "run.extra.metadata.revision_id"),
        user_id=S.optional_text(source.get("user_id"), "feedback_source.user_id"),
        comment=S.optional_text(rec.get("comment"), "comment"), models=(run.get("name"),))
    is_model = source.get("type") == "model"
    out = [S.Signal(external_id=fid, signal="category" if is_model else signal, answers=(answer,) if answer else (),
                    value=value, scale=scale, value_text=S.optional_text(
                        rec.get("value") if isinstance(rec.get("value"), str) else None, "value"),
                    meta={"key": rec.get("key"), "source": source.get("type")}, **common)]
    correction = rec.get("correction")
    if correction is not None and not is_model:
        fixed = as_answer(correction, "correction")
        if not fixed.strip() or not answer:
            raise FieldError("correction", "a correction needs its text and the run's output it corrects")
        out.append(S.Signal(external_id=f"{fid}#correction", signal="correction", answers=(answer, fixed),
                            verdict="B", **{**common, "models": (run.get("name"), None)}))
    return out


SOURCE = Source(TOOL, "LangSmith feedback with its runs: user scores and corrections", matches,
                joined(lambda rec: "run_id" in rec and "key" in rec, _feedback, "run"))
