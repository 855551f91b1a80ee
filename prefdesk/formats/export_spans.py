"""Marked spans out (`--format fine-grained`): one row per labelled answer with spans, as Fine-Grained RLHF
(Wu et al. 2023) reads them: the answer, its errors with character offsets into it, the label and comment of
each, and the rater's corrected answer (their rewrite of that answer) when there is one. A rewrite also goes
out as a corrected-over-original preference pair in `trl-preference` (meta `from: rewrite`)."""

from __future__ import annotations

from collections.abc import Iterator

from prefdesk.formats.labelled_items import labelled_items

SPAN_KINDS = ("pairwise", "ranking", "scalar")


def fine_grained_rows(scope, agg, report) -> Iterator[dict]:
    for item in labelled_items(scope, SPAN_KINDS):
        corrected = {lab.payload["original"]: item.candidates[lab.payload["rewrite"]][0]
                     for lab in item.labels if lab.kind.value == "rewrite"}
        for lab in item.labels:
            spans = lab.payload.get("spans") if lab.kind.value != "rewrite" else None
            for cand in sorted({s["candidate"] for s in spans or ()}):
                errors = [{k: s[k] for k in ("start", "end", "text", "label", "comment")}
                          for s in spans if s["candidate"] == cand]
                yield {"prompt": item.prompt, "response": item.candidates[cand][0], "candidate": cand, "errors": errors,
                       "corrected": corrected.get(cand), "meta": {**item.meta, "label_kind": lab.kind.value},
                       "label_ids": [lab.id]}
