"""Regenerate-then-keep across events: the answers a user asked for again, paired with the one they kept.

Siblings are answers under one parent (`parent_id`) in one conversation. The kept one is the sibling the
conversation continues from (its text is an assistant turn of a later event's prompt) or, failing that, the only one
thumbed up; each other sibling that a `regenerate` event is on is paired with it, kept over regenerated. Where no
sibling is kept, or two are, no pair is made: the events stay events.
"""

from __future__ import annotations

import json
import sqlite3

import orjson

from prefdesk.feedback import signals
from prefdesk.store.ingest import Ingest, prepare


def pair_regenerations(conn: sqlite3.Connection, ingest: Ingest, conversations: set[tuple[str, str]]) -> int:
    """Add the pairs of these (tool, conversation) (events written already) to `ingest`; returns how many."""
    made = 0
    by_conversation: dict[tuple[str, str], list[tuple]] = {}
    wanted = sorted(conversations)
    for start in range(0, len(wanted), 5000):  # one query a chunk: a million events may touch 100,000 conversations
        chunk = json.dumps([list(c) for c in wanted[start:start + 5000]])
        for row in conn.execute(
                "SELECT external_id, message_id, parent_id, signal, value, at, model, prompt_messages, answer, bucket, "
                "scenario, model_version, user_id, tool, conversation_id FROM feedback_events WHERE (tool, "
                "conversation_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?)) ORDER BY at", (chunk,)):
            by_conversation.setdefault((row[13], row[14]), []).append(row)
    for (tool, conversation), events in sorted(by_conversation.items()):
        said = {m["content"] for e in events if e[7] for m in orjson.loads(e[7]) if m.get("role") == "assistant"}
        groups: dict[str, dict[str, list]] = {}
        for e in events:
            if e[2] is not None and e[1] is not None and e[8]:
                groups.setdefault(e[2], {}).setdefault(e[1], []).append(e)
        for parent, answers in groups.items():
            if len(answers) < 2 or not any(e[3] == "regenerate" for es in answers.values() for e in es):
                continue
            kept = _kept(answers, said)
            if kept is None:
                continue
            keeper = answers[kept][0]
            for mid, es in answers.items():
                regen = next((e for e in es if e[3] == "regenerate"), None)
                if mid == kept or regen is None or es[0][8] == keeper[8]:
                    continue
                first, second = sorted((es[0], keeper), key=lambda e: e[5])
                sig = signals.Signal(
                    tool=tool, external_id=regen[0], signal="regenerate", at=keeper[5], answers=(first[8], second[8]),
                    prompt=json.loads(keeper[7]) if keeper[7] else None, verdict="A" if first is keeper else "B",
                    models=(first[6], second[6]), conversation_id=conversation, message_id=kept, parent_id=parent,
                    bucket=keeper[9], scenario=keeper[10], model_version=keeper[11])
                weak = signals.weak_label(sig, {})
                if weak is not None:
                    ingest.add_prepared(prepare(*weak))
                    made += 1
    return made


def _kept(answers: dict[str, list], said: set[str]) -> str | None:
    continued = [mid for mid, es in answers.items() if es[0][8] in said]
    if len(continued) == 1:
        return continued[0]
    if continued:
        return None
    liked = [mid for mid, es in answers.items() if any(e[3] == "thumbs" and (e[4] or 0) > 0 for e in es)]
    return liked[0] if len(liked) == 1 else None
