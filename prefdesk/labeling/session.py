"""The desk session: a rater at work in a project, without Qt (napari's `components/dims.py`, whose Qt widget
only draws it). The window lays out and renders; this decides.

State: the draft on screen, the earlier label being re-done (`back`) and the item to return to, when the item
was shown, the labels today and the queue's remaining count, labels held on disk while another program writes
the file (`store.pending`), the reward run whose scores a lead chose to see, the queue order. Actions: `commit`,
`back`, `skip`, `toggle_flag`, `rewrite`, `toggle_scores`, `order_queue`. Events (plain callbacks): `item_shown`
(item, draft or None), `progress` (today, median seconds, remaining or None), `message` (text, milliseconds),
`labelled` (a label acknowledged), `held` (a label now waits on disk).

The drafts stay domain-only; this module is the one in `labeling` that reads and writes the project.
"""

from __future__ import annotations

import bisect
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from prefdesk.domain import Item, ItemKind, Label, LabelKind, Rater, Verdict, roles
from prefdesk.labeling import Draft, ProcessDraft, ReadyLabel, draft_for
from prefdesk.store import pending
from prefdesk.store import runs as store_runs
from prefdesk.store.project import Project, ProjectBusy, ProjectError
from prefdesk.store.queue import Queue

ITEM_SHOWN, PROGRESS, MESSAGE, LABELLED, HELD = "item_shown", "progress", "message", "labelled", "held"


class DeskSession:
    def __init__(self, project: Project, rater: Rater, queue_order: str = "default",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.project = project
        self.rater = rater  # of this project (`Project.ensure_rater`)
        self.session = project.start_session(self.rater)
        self.clock = clock
        self._subscribers: dict[str, list[Callable[..., None]]] = defaultdict(list)
        self.draft: Draft | None = None  # the label being made on the item shown (None: nothing shown)
        self.editing: Label | None = None  # the earlier label being re-done after `back`
        self.return_to: Item | None = None  # the item the rater was on before going back
        self.shown_at = clock()
        self.remaining: int | None = None
        self.durations = sorted(project.durations_today(self.rater))
        self.held = len(pending.waiting(project))  # labels waiting on disk for the project file
        self.scores_run: str | None = None  # the reward run whose scores a lead chose to see (None: hidden)
        self.judges_shown = False  # a lead asked to see the model judges' verdicts too (M, with the scores)
        self.last_label: Label | None = None
        self.queue_order = queue_order
        self.queue = Queue(project, self.rater)

    # -- events ---------------------------------------------------------------------------------------
    def connect(self, event: str, callback: Callable[..., None]) -> None:
        self._subscribers[event].append(callback)

    def _emit(self, event: str, *args: Any) -> None:
        for callback in self._subscribers[event]:
            callback(*args)

    def _say(self, text: str, ms: int = 5000) -> None:
        self._emit(MESSAGE, text, ms)

    # -- what is shown --------------------------------------------------------------------------------
    @property
    def item(self) -> Item | None:
        return self.draft.item if self.draft is not None else None

    def elapsed_ms(self) -> int:
        return int((self.clock() - self.shown_at) * 1000)

    def renew_queue(self) -> None:
        """A new queue (items arrived): the order is put on it again and the remaining count is to be redone."""
        self.queue = Queue(self.project, self.rater)
        self.order_queue(self.queue_order, announce=False)
        self.remaining = None

    def remaining_counted(self, queue: Queue, count: int) -> None:
        """The count made off the GUI thread for `queue`; one for an older queue is dropped."""
        if queue is self.queue:
            self.remaining = count
            self.report_progress()

    def report_progress(self) -> None:
        median = self.durations[len(self.durations) // 2] / 1000 if self.durations else None
        self._emit(PROGRESS, len(self.durations), median, self.remaining)

    def show_next(self) -> None:
        self.show(self.queue.next_item())

    def show(self, item: Item | None, draft: Draft | None = None) -> None:
        """Show `item` with `draft` (default: a fresh one under the project's settings now), or nothing."""
        if item is None:
            self.draft = None
        else:
            round_ = self.queue.round_of(item.id)  # a re-annotation gets a display order of its own
            seed = self.rater.id if round_ == 1 else f"{self.rater.id}:round{round_}"
            self.draft = draft or draft_for(item, self.project.settings, seed=seed)
        self._emit(ITEM_SHOWN, item, self.draft)
        self.shown_at = self.clock()

    def model_scores(self, item: Item) -> list[float | None] | None:
        return store_runs.scores_of(self.project, item.id, self.scores_run) if self.scores_run else None

    def judge_verdicts(self, item: Item) -> list[tuple[str, str, float | None]]:
        """(judge, verdict A/B/tie/both_bad, confidence) of each model judge's current label on the item, for a
        lead who shows model signals (never an annotator: `roles.sees_model_scores`)."""
        if not self.judges_shown:
            return []
        return self.project.conn.execute(
            "SELECT r.name, json_extract(l.payload, '$.verdict'), l.confidence FROM current_labels l "
            "JOIN raters r ON r.id = l.rater_id WHERE l.item_id = ? AND l.source = 'model-judge' ORDER BY r.name",
            (item.id,)).fetchall()

    # -- actions --------------------------------------------------------------------------------------
    def commit(self, ready: ReadyLabel) -> Label:
        """Store the label (fsynced; held on disk if another program has the file), then show the next item
        (or the one the rater went back from). A ProjectError or OSError means it was NOT stored."""
        duration = self.elapsed_ms()
        label = self.project.new_label(self.item.id, self.rater, ready.kind, ready.payload, session=self.session,
                                       duration_ms=duration, display_order=ready.display_order,
                                       supersedes=self.editing, round=self.queue.round_of(self.item.id))
        if self.held:  # the lock is known to be taken: no wait
            self._hold(label)
        else:
            try:
                self.project.write_label(label)
            except ProjectBusy:  # an import holds the file: the label waits on disk, the rater goes on
                self._hold(label)
        self.last_label = label  # acknowledged: in the project, or held on disk for it
        self._emit(LABELLED, label)
        if self.editing is None:
            if self.remaining:
                self.remaining -= 1
            bisect.insort(self.durations, duration)  # an edit is not one more label today
        self.report_progress()
        was_editing, self.editing = self.editing, None
        if was_editing is not None and self.return_to is not None:
            item, self.return_to = self.return_to, None
            self.show(self.project.item(item.id))
        else:
            self.show_next()
        agreement = self.model_agreement(label)
        if agreement:
            self._say(agreement, 6000)
        if self.held:
            self._say(f"Saved on this machine ({self.held} waiting): another program is writing the project; your "
                      "labels go in as soon as it is done.", 8000)
        return label

    def _hold(self, label: Label) -> None:
        pending.hold(self.project, label)
        self.queue.done(label.item_id)
        self.held += 1
        self._emit(HELD)

    def write_held(self) -> bool:
        """Write the held labels in if the file is free; True once none waits."""
        if pending.write_waiting_if_free(self.project) or not pending.waiting(self.project):
            self.held = 0
            self._say("Your waiting labels are now in the project.", 4000)
            return True
        return False

    def back(self) -> None:
        """The rater's previous label, shown as given: what they give now supersedes it."""
        if self.held:
            self._say("Back works again once your waiting labels are in the project.")
            return
        label = self.project.previous_label(self.rater, before=self.editing)
        if label is None:
            self._say("No earlier label of yours in this project.", 3000)
            return
        if self.editing is None:
            self.return_to = self.item
        self.editing = label
        item = self.project.item(label.item_id)
        draft = draft_for(item, self.project.settings, seed=self.rater.id)
        draft.restore(label.payload, label.display_order)
        self.show(item, draft)
        self._say("Your earlier label is shown: what you give now supersedes it.")

    def skip(self) -> None:
        """Skip the item (it comes back later); while re-doing an earlier label, leave it as it was."""
        if self.editing is not None:
            self.editing = None
            item, self.return_to = self.return_to, None
            self.show(self.project.item(item.id) if item else self.queue.next_item())
        elif self.item:
            self.queue.skip(self.item.id)
            self.show_next()

    def toggle_flag(self, note: str | None) -> bool:
        """Flag the item for review (with the rationale so far as its note), or take the flag back; True if
        anything changed."""
        if not self.item:
            return False
        if self.project.flag_note(self.item.id, self.rater) is not None:
            self.project.unflag(self.item.id, self.rater)
            self._say("Flag taken back.", 3000)
        else:
            self.project.flag(self.item.id, self.rater, note or None)
            self._say("Flagged for review; your rationale so far is kept.", 3000)
        return True

    def rewrite_choices(self) -> list[tuple[str, str, int]]:
        """What can be rewritten: (name on screen, text, candidate position or step index)."""
        item, draft = self.item, self.draft
        if isinstance(draft, ProcessDraft):
            return [(f"Step {draft.cursor + 1}", item.steps[draft.cursor].text, draft.cursor)]
        order = draft.display_order or tuple(range(len(item.candidates)))
        names = ["Left", "Right"] if item.kind is ItemKind.PAIRWISE else \
            [f"Candidate [{s + 1}]" for s in range(len(order))]
        return [(name, item.candidates[p].text, p) for name, p in zip(names, order)]

    def rewrite(self, position: int, text: str) -> None:
        """A rewrite of candidate `position` (a process item: of the step under the cursor) by the rater."""
        if not text.strip():
            return
        if isinstance(self.draft, ProcessDraft):
            self.draft.replace_step(text)
            return
        self.project.commit_rewrite(self.item.id, self.rater, position, text, session=self.session,
                                    duration_ms=self.elapsed_ms())
        self.draft.item = self.project.item(self.item.id)
        self._say("Rewrite saved as a new candidate, preferred to the original. Now give your verdict on the pair.")

    # -- the reward model's view (leads only) ----------------------------------------------------------
    def model_agreement(self, label: Label) -> str:
        """For a lead who shows the model's scores: whether the model agreed with the verdict just given."""
        if not self.scores_run or label.kind is not LabelKind.PAIRWISE:
            return ""
        verdict = label.payload["verdict"]
        if verdict not in (Verdict.A.value, Verdict.B.value):
            return ""
        scores = store_runs.scores_of(self.project, label.item_id, self.scores_run)
        if len(scores) < 2 or None in scores[:2] or scores[0] == scores[1]:
            return ""
        model = Verdict.A.value if scores[0] > scores[1] else Verdict.B.value
        return "The reward model agreed with you." if model == verdict else \
            "The reward model preferred the other answer: a pair worth a second look."

    def toggle_scores(self) -> None:
        if not roles.sees_model_scores(self.rater.role):
            self._say("Model scores are hidden from annotators: they would bias the labels.")
            return
        showing = self.scores_run is not None or self.judges_shown
        run = None if showing else store_runs.latest_scored_run(self.project)
        judged = not showing and self.project.conn.execute(
            "SELECT 1 FROM labels WHERE source = 'model-judge' LIMIT 1").fetchone() is not None
        if not showing and run is None and not judged:
            self._say("No scores or judge verdicts yet: score the project with a reward run (prefdesk score) or "
                      "run a judge (prefdesk judge).")
            return
        self.scores_run, self.judges_shown = run, judged
        if self.item is not None:
            self.show(self.item, self.draft)

    def scores_stored(self, run_id: str | None) -> None:
        """A reward run's scores are in the project: a lead sees them at once (annotators never)."""
        if roles.sees_model_scores(self.rater.role) and run_id:
            self.scores_run = run_id
            if self.item is not None:
                self.show(self.item, self.draft)
            self._say("The reward model's scores are shown (M hides them).")
        if self.queue_order != "default":
            self.order_queue(self.queue_order, announce=False)

    def order_queue(self, order: str, announce: bool = True) -> None:
        """The rater's queue in the project's priority order ("default") or a reward model's order."""
        self.queue_order = order
        if order == "default":
            self.queue.order(None)
        else:
            from prefdesk.quality.model_queue import queue_in_order

            try:
                entries = queue_in_order(self.project, self.rater.name, order)
            except ValueError as exc:  # no scores yet
                self._say(str(exc), 6000)
                self.queue.order(None)
                return
            self.queue.order([e.item_id for e in entries], review=order == "disagreement")
        if announce and self.editing is None:
            if self.item is not None:
                self.queue.skip(self.item.id)
            self.show_next()

    def end(self) -> None:
        try:
            self.project.end_session(self.session)
        except ProjectError:
            pass  # busy at close: the session stays open-ended rather than blocking the close
