"""Rates of online feedback over time: per day or week, and per model version, model, bucket or scenario.

Each point has its events behind it and a 95% Wilson interval:
- thumbs-down rate: thumbs down / thumbs given;
- retry rate: conversations with a regenerate / conversations with any event;
- handoff rate: conversations with a handoff to a human / conversations with any event.
Online signals are selection-biased (who bothers to click): a trend, never a label's confidence.
"""

from __future__ import annotations

import math
import sqlite3

RATES = ("thumbs_down", "retry", "handoff")
GROUPS = ("model_version", "model", "bucket", "scenario", "tool")
PERIODS = {"day": 10, "week": None}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float | None, float | None]:
    if n == 0:
        return None, None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _period(period: str) -> str:
    if period not in PERIODS:
        raise ValueError(f"--per: expected day or week, got {period!r}")
    # a week is named by its Monday (strftime %w: 0 Sunday): sorted as dates
    return "substr(at, 1, 10)" if period == "day" else \
        "date(substr(at, 1, 10), '-' || ((CAST(strftime('%w', substr(at, 1, 10)) AS INTEGER) + 6) % 7) || ' days')"


def trends(conn: sqlite3.Connection, period: str = "day", by: str | None = "model_version",
           since: str | None = None) -> list[dict]:
    """One row per (period, group): the events and each rate with its interval."""
    if by is not None and by not in GROUPS:
        raise ValueError(f"--by: expected one of {', '.join(GROUPS)}, got {by!r}")
    group = f"COALESCE({by}, '(none)')" if by else "'all'"
    when = _period(period)
    rows = conn.execute(
        f"SELECT {when} AS p, {group} AS g, COUNT(*), "
        "SUM(signal = 'thumbs' AND value IS NOT NULL), SUM(signal = 'thumbs' AND value < 0), "
        "COUNT(DISTINCT tool || '/' || COALESCE(conversation_id, id)), "
        "COUNT(DISTINCT CASE WHEN signal = 'regenerate' THEN tool || '/' || COALESCE(conversation_id, id) END), "
        "COUNT(DISTINCT CASE WHEN signal = 'handoff' THEN tool || '/' || COALESCE(conversation_id, id) END) "
        f"FROM feedback_events WHERE (? IS NULL OR at >= ?) GROUP BY p, g ORDER BY p, g", (since, since)).fetchall()
    out = []
    for p, g, events, thumbs, down, conversations, retried, handed in rows:
        point = {"period": p, "group": g, "events": events, "thumbs": thumbs, "conversations": conversations}
        for name, k, n in (("thumbs_down", down, thumbs), ("retry", retried, conversations),
                           ("handoff", handed, conversations)):
            lo, hi = wilson(k, n)
            point[name] = {"rate": k / n if n else None, "low": lo, "high": hi, "k": k, "n": n}
        out.append(point)
    return out


def summary(conn: sqlite3.Connection) -> dict:
    """What the project holds: events by tool and signal, the time they span, the online labels made of them."""
    by = conn.execute("SELECT tool, signal, COUNT(*) FROM feedback_events GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    span = conn.execute("SELECT MIN(at), MAX(at), COUNT(*) FROM feedback_events").fetchone()
    labels = conn.execute("SELECT COUNT(*) FROM labels WHERE source = 'online-feedback'").fetchone()[0]
    return {"events": span[2], "first": span[0], "last": span[1], "online_labels": labels,
            "by_tool": [{"tool": t, "signal": s, "events": n} for t, s, n in by]}
