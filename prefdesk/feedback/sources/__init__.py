"""The tools online feedback comes from, each auto-detected from its records (most specific first).

A source converts a file's records, in order, into signals: `convert` takes every (record number, record) and yields
(record number, signals) or (record number, FieldError) for each. Sources whose records point at one another (a
Langfuse score at its trace, an OpenAssistant reply at its parent) read them all first; the others go a record at a
time, so a file of a million events streams.
"""

from __future__ import annotations

from prefdesk.feedback.sources.base import Source


def registry():
    from prefdesk.feedback.sources import arena, langfuse, langsmith, native, oasst, openwebui  # each imports `base`

    return [openwebui.SOURCE, langfuse.SOURCE, langsmith.SOURCE, arena.SOURCE, oasst.SOURCE, native.SOURCE]


def detect(first: list[dict]) -> Source | None:
    """The source whose test accepts the first records (a file's first few)."""
    return next((s for s in registry() if any(s.matches(r) for r in first)), None)
