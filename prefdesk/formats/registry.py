"""Every importable format, in the order detection tries them (most specific first)."""

from __future__ import annotations

from prefdesk.formats import (conversation, helpsteer2, hh_rlhf, labels, prm800k, seed, trl_preference, trl_stepwise,
                              ultrafeedback, unlabelled)
from prefdesk.formats.base import Format

FORMATS: list[Format] = [
    labels.FORMAT,
    seed.FORMAT,
    prm800k.FORMAT,
    ultrafeedback.RAW,
    ultrafeedback.BINARIZED,
    helpsteer2.PREFERENCE,
    helpsteer2.SCALAR,
    hh_rlhf.FORMAT,
    trl_stepwise.FORMAT,
    trl_preference.FORMAT,
    conversation.FORMAT,
    unlabelled.FORMAT,
]
BY_NAME = {f.name: f for f in FORMATS}


def detect(record: dict) -> Format | None:
    """The first format whose test accepts this record."""
    return next((f for f in FORMATS if f.matches(record)), None)
