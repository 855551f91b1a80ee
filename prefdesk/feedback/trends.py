"""Rates of online feedback over time: per day or week, and per model version, model, bucket or scenario.

They are read from each conversation's counts (`feedback_conversations`, kept by the import), never from the
events one by one: a million events give their trends in milliseconds. Each point has its events behind it and a
95% Wilson interval:
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
PERIODS = ("day", "week")


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
    day = "substr(first_at, 1, 10)"
    return day if period == "day" else f"date({day}, '-' || ((CAST(strftime('%w', {day}) AS INTEGER) + 6) % 7) || ' days')"


def add_counts(conn: sqlite3.Connection, after_event: int) -> None:
    """Add the events past rowid `after_event` (an import's) to their conversations' counts (`feedback_conversations`,
    what `trends` reads) and to their tool's and signal's (`feedback_counts`, what `summary` reads). A conversation
    keeps its first event's time, model, version, bucket and scenario."""
    conn.execute(
        "INSERT INTO feedback_conversations SELECT tool, COALESCE(conversation_id, '#' || external_id), MIN(at), "
        "MIN(model), MIN(model_version), MIN(bucket), MIN(scenario), COUNT(*), SUM(signal = 'thumbs' AND value IS NOT "
        "NULL), SUM(signal = 'thumbs' AND value < 0), SUM(signal = 'regenerate'), SUM(signal = 'handoff') "
        "FROM feedback_events WHERE id > ? GROUP BY 1, 2 ORDER BY 1, 2 "
        "ON CONFLICT (tool, conversation) DO UPDATE SET first_at = MIN(first_at, excluded.first_at), "
        "model = COALESCE(model, excluded.model), model_version = COALESCE(model_version, excluded.model_version), "
        "bucket = COALESCE(bucket, excluded.bucket), scenario = COALESCE(scenario, excluded.scenario), "
        "events = events + excluded.events, thumbs = thumbs + excluded.thumbs, "
        "thumbs_down = thumbs_down + excluded.thumbs_down, regenerates = regenerates + excluded.regenerates, "
        "handoffs = handoffs + excluded.handoffs", (after_event,))
    conn.execute(
        "INSERT INTO feedback_counts SELECT tool, signal, COUNT(*), MIN(at), MAX(at) FROM feedback_events WHERE id > ? "
        "GROUP BY 1, 2 ORDER BY 1, 2 ON CONFLICT (tool, signal) DO UPDATE SET events = events + excluded.events, "
        "first_at = MIN(first_at, excluded.first_at), last_at = MAX(last_at, excluded.last_at)", (after_event,))


def trends(conn: sqlite3.Connection, period: str = "day", by: str | None = "model_version",
           since: str | None = None) -> list[dict]:
    """One row per (period, group): the events and each rate with its interval. A conversation counts in the period
    and group of its first event (its thumbs too), so the rates add up over periods."""
    if by is not None and by not in GROUPS:
        raise ValueError(f"--by: expected one of {', '.join(GROUPS)}, got {by!r}")
    group = f"COALESCE({by}, '(none)')" if by else "'all'"
    when = _period(period)
    rows = conn.execute(
        f"SELECT {when} AS p, {group} AS g, SUM(events), SUM(thumbs), SUM(thumbs_down), COUNT(*), "
        "SUM(regenerates > 0), SUM(handoffs > 0) "
        f"FROM feedback_conversations WHERE (? IS NULL OR first_at >= ?) GROUP BY p, g ORDER BY p, g",
        (since, since)).fetchall()
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
    """What the project holds: events by tool and signal, the time they span, the online labels made of them (read
    from the counts the imports keep, and the labels of the end-users' raters by their index)."""
    by = conn.execute("SELECT tool, signal, events, first_at, last_at FROM feedback_counts ORDER BY 1, 2").fetchall()
    labels = conn.execute("SELECT COUNT(*) FROM labels WHERE rater_id IN (SELECT id FROM raters WHERE role = "
                          "'end-users')").fetchone()[0]
    return {"events": sum(r[2] for r in by), "first": min((r[3] for r in by), default=None),
            "last": max((r[4] for r in by), default=None), "online_labels": labels,
            "by_tool": [{"tool": t, "signal": s, "events": n} for t, s, n, _, _ in by]}
