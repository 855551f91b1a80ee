"""The Qt-free drafts: what a rater's keys do to the label being made, and the label they produce."""

import pytest

from prefdesk.domain import Candidate, Item, ItemKind, LabelKind, Step, Strength, Verdict
from prefdesk.domain.settings import DEFAULT_SETTINGS
from prefdesk.labeling import Incomplete, PairwiseDraft, ProcessDraft, RankingDraft, ScalarDraft, Side, draft_for

SETTINGS = {**DEFAULT_SETTINGS, "dimensions": ["helpfulness", "safety"], "reason_tags": ["too long", "unsafe"]}


def item(kind, n=2, steps=0, risk=None):
    return Item(id=f"item-{kind.value}-{n}", kind=kind, prompt="p", candidates=tuple(Candidate(i, f"c{i}") for i in range(n)),
                steps=tuple(Step(i, f"s{i}") for i in range(steps)), risk_level=risk)


def test_pairwise_sides_become_candidate_verdicts_through_the_display_order():
    draft = PairwiseDraft(item(ItemKind.PAIRWISE), SETTINGS, seed="ana")
    left = draft.display_order[0]
    draft.enter_dimensions()
    draft.set_dimension(Side.LEFT)
    draft.set_dimension(Side.TIE)
    assert not draft.in_dimensions  # past the last one
    draft.toggle_tag(1)
    ready = draft.decide(draft.verdict_for(Side.RIGHT), Strength.CLEAR)
    a_or_b = {0: "A", 1: "B"}
    assert ready.kind is LabelKind.PAIRWISE and ready.display_order == draft.display_order
    assert ready.payload == {"verdict": a_or_b[1 - left], "strength": "clear",
                             "dims": {"helpfulness": a_or_b[left], "safety": "tie"}, "reason_tags": ["unsafe"],
                             "rationale": None}


def test_display_order_is_random_per_rater_and_stable_for_one():
    orders = {PairwiseDraft(item(ItemKind.PAIRWISE), SETTINGS, seed=f"r{i}").display_order for i in range(20)}
    assert orders == {(0, 1), (1, 0)}
    assert RankingDraft(item(ItemKind.RANKING, 5), SETTINGS, "ana").display_order == \
        RankingDraft(item(ItemKind.RANKING, 5), SETTINGS, "ana").display_order


def test_a_restored_pairwise_label_keeps_its_answers_and_a_removed_dimension():
    draft = PairwiseDraft(item(ItemKind.PAIRWISE), SETTINGS, seed="ana")
    draft.restore({"verdict": "A", "strength": "slight", "dims": {"tone": "B"}, "reason_tags": ["too long"],
                   "rationale": "why"}, (1, 0))
    assert draft.display_order == (1, 0) and draft.restored and draft.verdict is Verdict.A
    assert draft.resubmit().payload == {"verdict": "A", "strength": "slight", "dims": {"tone": "B"},
                                        "reason_tags": ["too long"], "rationale": "why"}


def test_the_rationale_rule_holds_for_every_kind():
    rules = {**SETTINGS, "rationale_required": "high-risk"}
    draft = ScalarDraft(item(ItemKind.SCALAR, 1, risk="high"), rules, "ana")
    with pytest.raises(Incomplete, match="rationale"):
        draft.give(4)
    draft.rationale = "checked the dose"
    assert draft.give(4).payload == {"score": 4, "dims": {}, "rationale": "checked the dose"}
    always = ProcessDraft(item(ItemKind.PROCESS, 0, steps=1), {**SETTINGS, "rationale_required": "always"}, "ana")
    always.rate(1)
    with pytest.raises(Incomplete):
        always.ready()


def test_ranking_places_by_screen_slot_ties_and_the_last_place_fills_itself():
    draft = RankingDraft(item(ItemKind.RANKING, 4), SETTINGS, seed="ana")
    shown = draft.display_order
    draft.place_shown(2)
    draft.tie_with_previous()
    draft.place_shown(0)
    with pytest.raises(Incomplete, match="2 of 4"):
        draft.ready()
    draft.place_shown(3)
    assert draft.ready().payload["order"] == [[shown[2], shown[0]], [shown[3]], [shown[1]]]


def test_scalar_refuses_a_score_off_the_scale():
    draft = ScalarDraft(item(ItemKind.SCALAR, 1), {**SETTINGS, "scale": [1, 3]}, "ana")
    with pytest.raises(Incomplete, match="off the scale"):
        draft.give(5)


def test_process_stops_at_the_first_error_and_keeps_the_replacement():
    draft = draft_for(item(ItemKind.PROCESS, 0, steps=4), SETTINGS, "ana")
    draft.rate(1)
    draft.rate(-1)
    draft.move(-1)
    draft.replace_step("fixed")
    draft.set_final(False)
    assert draft.ready().payload == {"ratings": [1, -1], "first_error": 1, "final_correct": False,
                                     "cannot_judge": False, "replacement": {"step": 1, "text": "fixed"}, "rationale": None}
    fresh = ProcessDraft(item(ItemKind.PROCESS, 0, steps=2), SETTINGS, "ana")
    with pytest.raises(Incomplete):
        fresh.ready()
    fresh.toggle_cannot_judge()
    assert fresh.ready().payload["cannot_judge"] is True
