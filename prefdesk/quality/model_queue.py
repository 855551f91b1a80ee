"""Queue orders that use a reward model's scores: the pairs it is least sure about first (`uncertain`),
and the labelled items whose aggregated human verdict it contradicts most strongly (`disagreement`, a
label-noise finder for review)."""

from __future__ import annotations

from dataclasses import dataclass

from prefdesk.quality.aggregate import Policy
from prefdesk.store.project import Project
from prefdesk.store.queue import open_items_for
from prefdesk.store.runs import labelled_pairwise_items, latest_scored_run, scores_of

ORDERS = ("default", "uncertain", "uncertain-judge", "disagreement")
ORDER_HELP = {"default": "the project's priority order",
              "uncertain": "pairs the reward model is least sure about first",
              "uncertain-judge": "items a model judge is least sure about first (then those it has not judged)",
              "disagreement": "labelled pairs the model contradicts most strongly (a review of label noise)"}


@dataclass(frozen=True)
class QueueEntry:
    item_id: str
    prompt: str
    scores: list[float | None]
    key: float | None  # the order's measure: the score gap (uncertain), the contradiction (disagreement)

    def as_json(self) -> dict:
        return {"item_id": self.item_id, "prompt": self.prompt, "scores": self.scores, "order_key": self.key}


def queue_in_order(project: Project, rater_name: str, order: str = "default", limit: int | None = None,
                   run_id: str | None = None) -> list[QueueEntry]:
    """The next items for a rater in `order`. `uncertain` and `disagreement` use a scored run (the newest
    one unless named); a rater with no labels, or not known yet, gets the whole open queue."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; choose one of {', '.join(ORDERS)}")
    if order == "uncertain-judge":  # the judge's verdicts order the queue; annotators are never shown them
        return _judge_uncertain(project, rater_name)[:limit] if limit else _judge_uncertain(project, rater_name)
    run_id = run_id or latest_scored_run(project)
    if order != "default" and run_id is None:
        raise ValueError(f"the {order!r} order needs reward-model scores: run `prefdesk score -p P --run ID` first")
    rater = project.rater(rater_name)
    if order == "disagreement":
        entries = _disagreements(project, run_id)
    else:
        entries = []
        for item_id, prompt in open_items_for(project, rater.id if rater else None):
            scores = scores_of(project, item_id, run_id) if run_id else []
            gap = abs(scores[0] - scores[1]) if len(scores) >= 2 and None not in scores[:2] else None
            entries.append(QueueEntry(item_id, prompt, scores, gap))
        if order == "uncertain":
            entries = sorted((e for e in entries if e.key is not None), key=lambda e: e.key)
    return entries[:limit] if limit else entries


def _judge_uncertain(project: Project, rater_name: str) -> list[QueueEntry]:
    """Open items by the lowest confidence of a model judge's current label on them; unjudged ones after, in the
    project's order."""
    confidence = dict(project.conn.execute(
        "SELECT item_id, MIN(confidence) FROM current_labels WHERE source = 'model-judge' GROUP BY item_id"))
    rater = project.rater(rater_name)
    entries = [QueueEntry(item_id, prompt, [], confidence.get(item_id))
               for item_id, prompt in open_items_for(project, rater.id if rater else None)]
    return sorted(entries, key=lambda e: (e.key is None, e.key or 0.0))


def _disagreements(project: Project, run_id: str) -> list[QueueEntry]:
    """Labelled pairwise items where the model prefers the candidate the humans' majority did not."""
    policy = Policy("majority")
    out = []
    for item_id, prompt in labelled_pairwise_items(project):
        labels = [lab for lab in project.labels(item_id) if lab.kind.value == "pairwise"]
        verdict, _ = policy.pairwise(labels)
        scores = scores_of(project, item_id, run_id)
        if verdict is None or verdict["verdict"] not in ("A", "B") or len(scores) < 2 or None in scores[:2]:
            continue
        margin = scores[0] - scores[1]  # > 0: the model prefers A
        against = -margin if verdict["verdict"] == "A" else margin
        if against > 0:
            out.append(QueueEntry(item_id, prompt, scores, round(against, 6)))
    return sorted(out, key=lambda e: -e.key)
