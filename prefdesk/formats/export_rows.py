"""The rows of each export format, built from a scope of labels under an aggregation policy: preference pairs
(with margins, weights, dimensions and rationales), process steps, scalar ratings, the seed shapes and the
`labels` exchange format. Writing them to a folder whole, in parallel for big projects, is `formats.export`."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from prefdesk.formats.export_rewardbench import rewardbench2_rows, rewardbench_rows
from prefdesk.formats.export_spans import SPAN_KINDS, fine_grained_rows
from prefdesk.formats.labelled_items import ExportLabel, LabelledItem, labelled_item, labelled_items
from prefdesk.quality.aggregate import Vote, margin_of
from prefdesk.store.snapshot import L_ID, L_KIND, L_PAYLOAD, L_SOURCE, WEAK, Scope, every_label, label_groups


FILES = {"trl-preference": "preference.jsonl", "trl-stepwise": "stepwise.jsonl", "scalar": "scalar.jsonl",
         "seed": "seed.jsonl", "labels": "labels.jsonl"}
_DIM_SIGN = {"A": 1, "B": -1, "tie": 0, "both_bad": 0}


class Aggregation(Protocol):
    name: str

    def pairwise(self, labels: list[Vote]) -> tuple[dict | None, str]: ...
    def ranking(self, labels: list[Vote]) -> list: ...
    def scalar(self, labels: list[Vote]) -> dict: ...
    def process(self, labels: list[Vote]) -> tuple[list[int] | None, str]: ...


@dataclass
class ExportReport:
    format: str
    path: str
    written: int = 0
    left_out: Counter = field(default_factory=Counter)
    test_rows: int = 0  # rows of the held-out split (export --test-fraction), beside the `written` train rows

    def summary(self) -> str:
        text = f"{self.format}: {self.written} rows written to {self.path}"
        if self.test_rows:
            text += f" and {self.test_rows} held-out rows to its test split"
        if self.left_out:
            text += "; left out: " + ", ".join(f"{n} {why}" for why, n in self.left_out.most_common())
        return text


def _prompt(item: LabelledItem, conversational: bool) -> Any:
    if not conversational:
        return item.prompt
    return item.prompt_messages or [{"role": "user", "content": item.prompt}]


def _response(item: LabelledItem, pos: int, conversational: bool) -> Any:
    text, msgs = item.candidates[pos]
    if not conversational:
        return text
    return msgs or [{"role": "assistant", "content": text}]


def preference_rows(scope: Scope, agg: Aggregation, report: ExportReport, conversational: bool = False) -> Iterator[dict]:
    """(prompt, chosen, rejected) rows from pairwise, ranking and rewrite labels."""
    trust = getattr(agg, "trust", {})
    for group in label_groups(scope, ("pairwise", "ranking", "scalar", "process")):
        if group[0][L_SOURCE] in WEAK:  # only a judge or a rule labelled it (`label_groups`): at their trust
            scale = min(trust.get(row[L_SOURCE], 1.0) for row in group)
            for row in _preference_rows(group, agg, report, conversational):
                yield {**row, "weight": round(row["weight"] * scale, 4)}
            continue
        yield from _preference_rows(group, agg, report, conversational)


def _preference_rows(group: list[tuple], agg: Aggregation, report: ExportReport, conversational: bool) -> Iterator[dict]:
    """The preference rows of one item's labels."""
    if len(group) == 1 and not conversational and group[0][L_KIND] == "pairwise":
        row = _one_pairwise_label(group[0])  # most items; the same row the general path makes, built directly
        if row is not None:
            yield row
            return
    item = labelled_item(group)
    by_kind: dict[str, list[ExportLabel]] = {}
    for lab in item.labels:
        by_kind.setdefault(lab.kind.value, []).append(lab)
    base = {"prompt": _prompt(item, conversational)}
    pairwise = by_kind.get("pairwise", [])
    if pairwise and len(item.candidates) >= 2:
        out, why = agg.pairwise(pairwise)
        if out is None:
            report.left_out[why] += 1
        elif out["verdict"] in ("tie", "both_bad"):
            report.left_out[out["verdict"].replace("_", "-")] += 1
        else:
            good, bad = (0, 1) if out["verdict"] == "A" else (1, 0)
            yield {**base, "chosen": _response(item, good, conversational), "rejected": _response(item, bad, conversational),
                   "chosen_meta": item.candidate_meta[good], "rejected_meta": item.candidate_meta[bad],
                   "margin": out["margin"], "weight": out["weight"], "dims": _signed(out["dims"], out["verdict"]),
                   "reason_tags": out["reason_tags"], "rationales": out["rationales"], "meta": item.meta_fragment,
                   "label_ids": out["label_ids"]}
    if by_kind.get("ranking"):
        pairs = agg.ranking(by_kind["ranking"])
        if not pairs:
            report.left_out["ranking without a majority pair"] += 1
        for better, worse, weight, margin, ids in pairs:
            yield {**base, "chosen": _response(item, better, conversational), "rejected": _response(item, worse, conversational),
                   "chosen_meta": item.candidate_meta[better], "rejected_meta": item.candidate_meta[worse],
                   "margin": margin, "weight": weight, "dims": {}, "reason_tags": [],
                   "rationales": _rationales(by_kind["ranking"], ids),
                   "meta": {**item.meta, "pair": [better, worse], "from": "ranking"}, "label_ids": ids}
    for lab in by_kind.get("rewrite", []):
        orig, new = lab.payload["original"], lab.payload["rewrite"]
        yield {**base, "chosen": _response(item, new, conversational), "rejected": _response(item, orig, conversational),
               "chosen_meta": item.candidate_meta[new], "rejected_meta": item.candidate_meta[orig],
               "margin": 1.0, "weight": 1.0, "dims": {}, "reason_tags": ["human rewrite"], "rationales": [],
               "meta": {**item.meta, "from": "rewrite"}, "label_ids": [lab.id]}


def _rationales(labels: list[ExportLabel], ids: list[str] | None = None) -> list[str]:
    """The rationales written on these labels (those among `ids` when given), oldest first."""
    return [lab.payload["rationale"] for lab in labels if lab.payload.get("rationale") and (ids is None or lab.id in ids)]


def _annotator_work(labels: list[ExportLabel]) -> dict:
    """What process raters gave beyond step ratings: the final-answer verdict (majority of those given; a
    split gives null), their replacement steps, rationales and reason tags per step (how many raters gave each)."""
    finals = [lab.payload.get("final_correct") for lab in labels if lab.payload.get("final_correct") is not None]
    top = Counter(finals).most_common(2)
    final = top[0][0] if top and (len(top) == 1 or top[0][1] > top[1][1]) else None
    replacements = [{**lab.payload["replacement"], "label_id": lab.id} for lab in labels if lab.payload.get("replacement")]
    tags: dict[str, Counter] = defaultdict(Counter)
    for lab in labels:
        for step, given in (lab.payload.get("step_tags") or {}).items():
            tags[step].update(given)
    return {"final_correct": final, "replacements": replacements, "rationales": _rationales(labels),
            **({"step_tags": {s: dict(c) for s, c in sorted(tags.items(), key=lambda kv: int(kv[0]))}} if tags else {})}


def _signed(dims: dict[str, str], verdict: str) -> dict[str, int]:
    """Per-dimension verdicts as +1 (the chosen response better), -1 (the rejected one), 0 (tie, both bad)."""
    sign = 1 if verdict == "A" else -1
    return {d: _DIM_SIGN[v] * sign for d, v in dims.items()}


def _one_pairwise_label(row: tuple) -> dict | None:
    """The preference row of an item whose only current label is a decisive pairwise verdict, or None
    (tie, both bad, fewer than two candidates: the general path reports why it is left out).
    Any policy gives one label weight 1; tests hold this equal to the general path's row."""
    payload = orjson.loads(row[L_PAYLOAD])
    verdict = payload["verdict"]
    if verdict != "A" and verdict != "B" or "arbitrates" in payload:
        return None
    candidates = orjson.loads(row[4])
    if len(candidates) < 2:
        return None
    good, bad = (0, 1) if verdict == "A" else (1, 0)
    dims = payload.get("dims")
    return {"prompt": row[1], "chosen": candidates[good]["text"], "rejected": candidates[bad]["text"],
            "chosen_meta": candidates[good].get("meta"), "rejected_meta": candidates[bad].get("meta"),
            "margin": margin_of(payload), "weight": 1.0, "dims": _signed(dict(sorted(dims.items())) if dims else {}, verdict),
            "reason_tags": sorted(payload.get("reason_tags") or []),
            "rationales": [payload["rationale"]] if payload.get("rationale") else [], "meta": orjson.Fragment(row[3]),
            "label_ids": [row[L_ID]]}


def stepwise_rows(scope: Scope, agg: Aggregation, report: ExportReport) -> Iterator[dict]:
    """TRL stepwise rows; a step rated 0 counts as correct, and steps after the first error are cut."""
    for item in labelled_items(scope, ("process",)):
        labels = [lab for lab in item.labels if lab.kind.value == "process"]
        if not labels:
            continue
        ratings, why = agg.process(labels)
        if ratings is None:
            report.left_out[why] += 1
            continue
        # a step's context (the user's turns before an assistant turn, an agent's observation) goes with it: the
        # prompt and the completions up to step k are then the whole conversation up to turn k
        steps = [f"{state}\n\n{text}" if state else text for text, state in item.steps][: len(ratings)]
        if -1 in ratings and not item.meta.get("per_turn"):  # a conversation's turns are each rated: none cut
            cut = ratings.index(-1) + 1
            steps, ratings = steps[:cut], ratings[:cut]
        yield {"prompt": item.prompt, "completions": steps, "labels": [r >= 0 for r in ratings],
               "meta": {**item.meta, "ratings": ratings, **_annotator_work(labels)},
               "label_ids": [lab.id for lab in labels]}


def unpaired_rows(scope, agg, report, conversational: bool = False) -> Iterator[dict]:
    """TRL's unpaired preference rows (KTO: `prompt, completion, label`): each answer with binary labels (a
    production thumbs: `side` single), its label the majority of them; and each aggregated pair split into its two
    sides, the chosen answer desirable, the rejected one undesirable."""
    yield from binary_rows(scope, agg, report, conversational)
    for row in preference_rows(scope, agg, report, conversational):
        for side, label in (("chosen", True), ("rejected", False)):
            yield {"prompt": row["prompt"], "completion": row[side], "label": label, "side": side,
                   "weight": row["weight"], "meta": row["meta"], "label_ids": row["label_ids"]}


def binary_rows(scope, agg, report, conversational: bool = False) -> Iterator[dict]:
    """One row per answer with binary labels: desirable when more of them say so (a split is left out). The weight
    is the majority's share of the votes, at the source's trust for the weak layers (online feedback's 0.3)."""
    trust = getattr(agg, "trust", {})
    for group in label_groups(scope, ("scalar",)):
        rows = [r for r in group if r[L_KIND] == "binary"]
        if not rows:
            continue
        item = labelled_item(rows)
        up = sum(bool(lab.payload["desirable"]) for lab in item.labels)
        down = len(item.labels) - up
        if up == down:
            report.left_out["binary labels split evenly"] += 1
            continue
        scale = min(trust.get(r[L_SOURCE], 1.0) for r in rows) if rows[0][L_SOURCE] in WEAK else 1.0
        yield {"prompt": _prompt(item, conversational), "completion": _response(item, 0, conversational),
               "label": up > down, "side": "single", "weight": round(max(up, down) / len(item.labels) * scale, 4),
               "meta": item.meta_fragment, "label_ids": [lab.id for lab in item.labels]}


def scalar_rows(scope: Scope, agg: Aggregation, report: ExportReport) -> Iterator[dict]:
    for item in labelled_items(scope, ("scalar",)):
        labels = [lab for lab in item.labels if lab.kind.value == "scalar"]
        if not labels:
            continue
        out = agg.scalar(labels)
        yield {"prompt": item.prompt, "response": item.candidates[0][0], "score": out["score"], "dims": out["dims"],
               "rationales": _rationales(labels), "meta": item.meta_fragment, "label_ids": out["label_ids"]}


def seed_rows(scope: Scope, agg: Aggregation, report: ExportReport) -> Iterator[dict]:
    """The spec's four shapes; pairwise labels with dimensions or tags become pairwise_multi_dim."""
    for item in labelled_items(scope, ("pairwise", "scalar", "process")):
        prompt = item.prompt_messages or item.prompt
        labels = [lab for lab in item.labels if lab.kind.value == item.kind]
        if not labels:
            continue
        if item.kind == "pairwise":
            out, why = agg.pairwise(labels)
            if out is None:
                report.left_out[why] += 1
                continue
            (a, _), (b, _) = item.candidates[:2]
            if out["dims"] or out["reason_tags"] or out["verdict"] not in ("A", "B"):
                judgement = {"overall_winner": out["verdict"], "dims": out["dims"], "reason_tags": out["reason_tags"]}
                yield {"type": "pairwise_multi_dim", "prompt": prompt, "candidates": {"A": a, "B": b},
                       "judgement": judgement, "meta": item.meta}
            else:
                winner, loser = (a, b) if out["verdict"] == "A" else (b, a)
                yield {"type": "pairwise", "prompt": prompt, "winner": winner, "loser": loser, "meta": item.meta}
        elif item.kind == "scalar":
            score = agg.scalar(labels)["score"]
            yield {"type": "scalar", "prompt": prompt, "response": item.candidates[0][0],
                   "score": int(score) if float(score).is_integer() else score, "meta": item.meta}
        else:
            ratings, why = agg.process(labels)
            if ratings is None:
                report.left_out[why] += 1
                continue
            steps = item.steps
            yield {"type": "process", "prompt": prompt,
                   "steps": [{"state": state, "output": text, "reward": r} for (text, state), r in zip(steps, ratings)],
                   "meta": item.meta}


def exchange_rows(scope: Scope, agg: Aggregation, report: ExportReport) -> Iterator[dict]:
    """The `labels` exchange format: every label ever written (superseded ones too), with its item."""
    from prefdesk.formats.labels import exchange_row

    rows = every_label(scope)
    if scope.only is not None:
        rows = (row for row in rows if row[_LABEL_ID] in scope.only)
    return map(exchange_row, rows)


_LABEL_ID = 9  # the label id's column in an `every_label` row


# The label kinds each format is made from (None: every kind), for the manifest's guideline-version counts.
LABEL_KINDS: dict[str, tuple[str, ...] | None] = {"trl-preference": ("pairwise", "ranking", "rewrite"),
                                                  "trl-stepwise": ("process",), "scalar": ("scalar",),
                                                  "seed": None, "labels": None}
ROWS: dict[str, Callable[..., Iterator[dict]]] = {
    "trl-preference": preference_rows, "trl-stepwise": stepwise_rows, "scalar": scalar_rows, "seed": seed_rows,
    "labels": exchange_rows,
}

FILES.update({"fine-grained": "fine_grained.jsonl", "trl-unpaired": "unpaired.jsonl",
              "rewardbench": "rewardbench.jsonl", "rewardbench-2": "rewardbench_2.jsonl"})
LABEL_KINDS.update({"fine-grained": (*SPAN_KINDS, "rewrite"), "trl-unpaired": (*LABEL_KINDS["trl-preference"], "binary"),
                    "rewardbench": ("pairwise",), "rewardbench-2": ("ranking",)})
ROWS.update({"fine-grained": fine_grained_rows, "trl-unpaired": unpaired_rows, "rewardbench": rewardbench_rows,
             "rewardbench-2": rewardbench2_rows})
EXPORT_FORMATS = tuple(ROWS)  # the one list of export format names (CLI, desk)
