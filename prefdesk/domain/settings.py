"""Project settings: the keys a project may hold, their defaults, and the check each value must pass.

Settings live in the project file (`settings` table); this module only says what is valid, so the
desk's Settings dialog, `prefdesk config --set` and the store refuse the same values with the same words.
"""

from __future__ import annotations

import re
from typing import Any

RATIONALE_RULES = ("never", "high-risk", "always")


class SettingError(ValueError):
    """A setting refused: `key` names it, the message says what a valid value looks like."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


DEFAULT_SETTINGS: dict[str, Any] = {
    "overlap": 2,
    "gold_rate": 0.1,
    "dimensions": ["helpfulness", "correctness", "safety", "conciseness"],
    "reason_tags": [
        "factual error", "unsafe advice", "ignores instructions", "too verbose", "too terse",
        "better formatting", "asks to clarify", "refuses needlessly", "high-risk: triage first",
    ],
    "span_labels": ["factual error", "unsafe", "irrelevant", "missing info"],  # what a marked span says (H)
    "scale": [1, 5],
    "scale_anchors": {"1": "unusable: wrong, unsafe or off-topic", "5": "what a careful expert would send"},
    "rationale_required": "never",
    "guideline_version": "v1",
    # re-annotation: this share of a rater's first labels comes back to them (round 2) after the delay,
    # mixed into their queue unannounced; the flip rate is read from the pairs
    "reannotate_share": 0.05,
    "reannotate_after_hours": 24.0,
    # the lead's trust in each label source, used by the `weighted` aggregation (a source not named: 1)
    "source_trust": {"human": 1.0, "import": 1.0, "model-judge": 0.5, "rule": 0.5, "online-feedback": 0.3},
    # which items go to arbitration besides gold misses and any disagreement on a high-risk item:
    # "disagreement" (raters not unanimous) or "no-majority" (the top verdict shared)
    "arbitration_rule": "disagreement",
    # rule pre-filters (`domain.rules`), run on generation, on import and by `prefdesk rules run`
    "rules": [],
    # routing by a model judge: an item the judge is at least this confident about skips people when its risk
    # level is not high (off by default: people see every item)
    "judge_skips_people": False,
    "judge_skip_confidence": 0.9,
    # the license of exported datasets, as the Hugging Face Hub names them (e.g. "cc-by-4.0", "mit"); "other"
    # until the lead sets it. It goes into each export folder's dataset card.
    "license": "other",
    # online feedback's implicit signals (`prefdesk.feedback.signals.IMPLICIT`): each stored as an event, and made a
    # weak binary label only where the lead maps it to desirable or undesirable (off by default: a copy or a
    # follow-up question says little on its own)
    "feedback_implicit": {"copy": "off", "follow_up": "off", "handoff": "off", "abandon": "off", "accept": "off"},
}
IMPLICIT_SIGNALS = ("copy", "follow_up", "handoff", "abandon", "accept")
IMPLICIT_MEANINGS = ("off", "desirable", "undesirable")
ARBITRATION_RULES = ("disagreement", "no-majority")


def _names(key: str, value: Any, most: int) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SettingError(key, "expected a list of names, e.g. [\"helpfulness\", \"safety\"]")
    names = [v.strip() for v in value]
    if any(not n for n in names):
        raise SettingError(key, "a name is empty")
    if len(set(names)) != len(names):
        raise SettingError(key, "a name appears twice")
    if len(names) > most:
        raise SettingError(key, f"at most {most} (each needs a key), got {len(names)}")
    return names


def _overlap(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 50:
        raise SettingError("overlap", f"expected a whole number of raters per item, 1 to 50, got {value!r}")
    return value


def _gold_rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 0.5:
        raise SettingError("gold_rate", f"expected a share of items between 0 and 0.5, got {value!r}")
    return float(value)


def _scale(value: Any) -> list[int]:
    ok = (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in value))
    if not ok or not 0 <= value[0] < value[1] <= 9:
        raise SettingError("scale", f"expected [lowest, highest] whole numbers within 0..9 (one digit key each), got {value!r}")
    return list(value)


def _anchors(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise SettingError("scale_anchors", "expected an object of score: text, e.g. {\"1\": \"unusable\", \"5\": \"ideal\"}")
    bad = [k for k in value if not k.isdigit()]
    if bad:
        raise SettingError("scale_anchors", f"{bad[0]!r} is not a score")
    return {k: v.strip() for k, v in sorted(value.items(), key=lambda kv: int(kv[0])) if v.strip()}


def _rationale(value: Any) -> str:
    if value not in RATIONALE_RULES:
        raise SettingError("rationale_required", f"expected one of {', '.join(RATIONALE_RULES)}, got {value!r}")
    return value


def _version(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SettingError("guideline_version", "expected a version name")
    return value.strip()


def _share(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 0.5:
        raise SettingError("reannotate_share", f"expected a share of labels between 0 and 0.5, got {value!r}")
    return float(value)


def _hours(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 24 * 365:
        raise SettingError("reannotate_after_hours", f"expected hours between 0 and 8760, got {value!r}")
    return float(value)


def _trust(value: Any) -> dict[str, float]:
    from prefdesk.domain.enums import LabelSource

    sources = {s.value for s in LabelSource}
    if not isinstance(value, dict):
        raise SettingError("source_trust", "expected an object of source: weight, e.g. {\"model-judge\": 0.5}")
    for source, weight in value.items():
        if source not in sources:
            raise SettingError("source_trust", f"unknown source {source!r}; known: {', '.join(sorted(sources))}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 10:
            raise SettingError("source_trust", f"{source}: expected a weight between 0 and 10, got {weight!r}")
    return {k: float(v) for k, v in sorted(value.items())}


def _arbitration(value: Any) -> str:
    if value not in ARBITRATION_RULES:
        raise SettingError("arbitration_rule", f"expected one of {', '.join(ARBITRATION_RULES)}, got {value!r}")
    return value


def _rules(value: Any) -> list[dict]:
    from dataclasses import asdict

    from prefdesk.domain.rules import RuleError, parse_rules

    try:
        return [asdict(r) for r in parse_rules(value)]
    except RuleError as exc:
        raise SettingError(exc.field, str(exc).split(": ", 1)[1]) from None


def _flag(key: str):
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise SettingError(key, f"expected true or false, got {value!r}")
        return value
    return check


def _confidence(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.5 <= value <= 1:
        raise SettingError("judge_skip_confidence", f"expected a confidence between 0.5 and 1, got {value!r}")
    return float(value)


def _license(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.+-]{0,63}", value):
        raise SettingError("license", f"expected a license identifier as the Hugging Face Hub names it, e.g. "
                                      f"\"cc-by-4.0\", \"apache-2.0\", \"other\"; got {value!r}")
    return value


def _implicit(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise SettingError("feedback_implicit", "expected an object of signal: off|desirable|undesirable, e.g. "
                                                "{\"handoff\": \"undesirable\"}")
    for signal, meaning in value.items():
        if signal not in IMPLICIT_SIGNALS:
            raise SettingError("feedback_implicit", f"unknown signal {signal!r}; known: {', '.join(IMPLICIT_SIGNALS)}")
        if meaning not in IMPLICIT_MEANINGS:
            raise SettingError("feedback_implicit", f"{signal}: expected one of {', '.join(IMPLICIT_MEANINGS)}, "
                                                    f"got {meaning!r}")
    return {s: value.get(s, "off") for s in IMPLICIT_SIGNALS}


CHECKS = {
    "overlap": _overlap,
    "gold_rate": _gold_rate,
    "dimensions": lambda v: _names("dimensions", v, 12),
    "reason_tags": lambda v: _names("reason_tags", v, 9),
    "span_labels": lambda v: _names("span_labels", v, 9),
    "scale": _scale,
    "scale_anchors": _anchors,
    "rationale_required": _rationale,
    "guideline_version": _version,
    "reannotate_share": _share,
    "reannotate_after_hours": _hours,
    "source_trust": _trust,
    "arbitration_rule": _arbitration,
    "rules": _rules,
    "judge_skips_people": _flag("judge_skips_people"),
    "judge_skip_confidence": _confidence,
    "license": _license,
    "feedback_implicit": _implicit,
}


def check_setting(key: str, value: Any) -> Any:
    """The value as it will be stored, or SettingError saying what is wrong."""
    if key not in CHECKS:
        raise SettingError(key, f"unknown setting; known: {', '.join(CHECKS)}")
    return CHECKS[key](value)


def check_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Several settings checked together (an anchor must lie on the scale)."""
    out = {k: check_setting(k, v) for k, v in settings.items()}
    lo, hi = out.get("scale", DEFAULT_SETTINGS["scale"])
    for score in out.get("scale_anchors", {}):
        if not lo <= int(score) <= hi:
            raise SettingError("scale_anchors", f"score {score} is outside the scale {lo}..{hi}")
    return out
