"""Project > Settings: dimensions, reason tags, the scalar scale and its anchors, guidelines (each save a
new version), overlap, gold rate and when a rationale is required. Saved in one transaction, checked by
the same rules as `prefdesk config` (`prefdesk.domain.settings`)."""

from __future__ import annotations

import json

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QFormLayout, QLineEdit, QPlainTextEdit,
                               QSpinBox, QWidget)

from prefdesk.domain.settings import ARBITRATION_RULES, RATIONALE_RULES, SettingError
from prefdesk.store.project import Project, ProjectError
from prefdesk.ui import forms
from prefdesk.ui.forms import dialog_buttons


def _rules(text: str) -> list:
    if not text.strip():
        return []
    try:
        return json.loads(text)
    except ValueError as exc:
        raise SettingError("rules", f"not JSON ({exc})") from None


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _trust(text: str) -> dict:
    """"model-judge: 0.5, rule: 0.2" -> {"model-judge": 0.5, "rule": 0.2}; a weight that is not a number is
    kept as text, for the setting's own check to name."""
    out: dict = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        source, _, weight = part.partition(":")
        try:
            out[source.strip()] = float(weight)
        except ValueError:
            out[source.strip()] = weight.strip()
    return out


class SettingsDialog(QDialog):
    def __init__(self, parent: QWidget, project: Project) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Project settings — {project.path.name}")
        self.project = project
        self.saved = False
        s = project.settings
        self.dimensions = QPlainTextEdit("\n".join(s["dimensions"]))
        self.dimensions.setTabChangesFocus(True)
        self.tags = QPlainTextEdit("\n".join(s["reason_tags"]))
        self.tags.setTabChangesFocus(True)
        self.scale_lo, self.scale_hi = QSpinBox(), QSpinBox()
        for box, value in ((self.scale_lo, s["scale"][0]), (self.scale_hi, s["scale"][1])):
            box.setRange(0, 9)
            box.setValue(value)
        self.anchors = QPlainTextEdit("\n".join(f"{k}: {v}" for k, v in (s.get("scale_anchors") or {}).items()))
        self.anchors.setTabChangesFocus(True)
        self.overlap = QSpinBox()
        self.overlap.setRange(1, 50)
        self.overlap.setValue(int(s["overlap"]))
        self.gold_rate = QDoubleSpinBox()
        self.gold_rate.setRange(0, 0.5)
        self.gold_rate.setSingleStep(0.05)
        self.gold_rate.setValue(float(s["gold_rate"]))
        self.rationale = QComboBox()
        self.rationale.addItems(RATIONALE_RULES)
        self.rationale.setCurrentText(s["rationale_required"])
        self.reannotate_share = QDoubleSpinBox()
        self.reannotate_share.setRange(0, 0.5)
        self.reannotate_share.setSingleStep(0.01)
        self.reannotate_share.setValue(float(s["reannotate_share"]))
        self.reannotate_after = QDoubleSpinBox()
        self.reannotate_after.setRange(0, 24 * 365)
        self.reannotate_after.setSuffix(" h")
        self.reannotate_after.setValue(float(s["reannotate_after_hours"]))
        self.arbitration = QComboBox()
        self.arbitration.addItems(ARBITRATION_RULES)
        self.arbitration.setCurrentText(s["arbitration_rule"])
        self.trust = QLineEdit(", ".join(f"{k}: {v:g}" for k, v in s["source_trust"].items()))
        self.trust.setToolTip("The weight of each label source in the `weighted` aggregation (a source not named: 1)")
        self.rules = QPlainTextEdit(json.dumps(s["rules"], indent=1) if s["rules"] else "")
        self.rules.setTabChangesFocus(True)
        self.rules.setPlaceholderText('[{"name": "no-ai", "check": "not_contains", "value": "as an AI", "action": "reject"}]')
        self.rules.setToolTip("Rule pre-filters: checks regex, not_regex, min_chars, max_chars, json_valid, json_schema, "
                              "contains, not_contains; actions flag, reject, drop (see the README)")
        self.judge_skips = QCheckBox("items a judge is sure about skip people (never high-risk ones)")
        self.judge_skips.setChecked(bool(s["judge_skips_people"]))
        self.judge_confidence = QDoubleSpinBox()
        self.judge_confidence.setRange(0.5, 1.0)
        self.judge_confidence.setSingleStep(0.05)
        self.judge_confidence.setValue(float(s["judge_skip_confidence"]))
        version, text = project.guidelines()
        self.guideline_text = QPlainTextEdit(text)
        self.guideline_text.setTabChangesFocus(True)
        self.guideline_version = QLineEdit()
        self.guideline_version.setPlaceholderText(f"new version name (in force now: {version}); "
                                                  "needed only when the text changed")
        self._old_guidelines = text
        form = QFormLayout(self)
        form.addRow("&Dimensions (one a line)", self.dimensions)
        form.addRow("Reason &tags (one a line, at most 9)", self.tags)
        form.addRow("Scale &lowest", self.scale_lo)
        form.addRow("Scale &highest", self.scale_hi)
        form.addRow("Scale &anchors (score: meaning)", self.anchors)
        form.addRow("&Overlap (raters per item)", self.overlap)
        form.addRow("&Gold rate (share of items)", self.gold_rate)
        form.addRow("&Rationale required", self.rationale)
        form.addRow("Re-annotate (share of &first labels)", self.reannotate_share)
        form.addRow("Re-annotate &after", self.reannotate_after)
        form.addRow("Arbitrate &when raters…", self.arbitration)
        form.addRow("Source tru&st (source: weight, …)", self.trust)
        form.addRow("Ru&les (JSON list)", self.rules)
        form.addRow("Judge routin&g", self.judge_skips)
        form.addRow("…at judge &confidence", self.judge_confidence)
        form.addRow("G&uidelines (Markdown)", self.guideline_text)
        form.addRow("Guideline &version", self.guideline_version)
        form.addRow(dialog_buttons(self, "save", self.save))
        self.resize(640, 760)

    def changes(self) -> dict:
        anchors = {}
        for line in _lines(self.anchors.toPlainText()):
            score, _, text = line.partition(":")
            anchors[score.strip()] = text.strip()
        return {"dimensions": _lines(self.dimensions.toPlainText()), "reason_tags": _lines(self.tags.toPlainText()),
                "scale": [self.scale_lo.value(), self.scale_hi.value()], "scale_anchors": anchors,
                "overlap": self.overlap.value(), "gold_rate": round(self.gold_rate.value(), 4),
                "rationale_required": self.rationale.currentText(),
                "reannotate_share": round(self.reannotate_share.value(), 4),
                "reannotate_after_hours": self.reannotate_after.value(), "arbitration_rule": self.arbitration.currentText(),
                "source_trust": _trust(self.trust.text()), "rules": _rules(self.rules.toPlainText()),
                "judge_skips_people": self.judge_skips.isChecked(),
                "judge_skip_confidence": round(self.judge_confidence.value(), 4)}

    def save(self) -> None:
        """Store everything or nothing; a refused value is named and the dialog stays open."""
        text = self.guideline_text.toPlainText()
        new_guidelines = text.strip() != self._old_guidelines.strip()
        try:
            if new_guidelines and not self.guideline_version.text().strip():
                raise SettingError("guideline_version", "the guidelines changed: name the new version")
            with self.project.transaction():
                self.project.set_settings(self.changes())
                if new_guidelines:
                    self.project.set_guidelines(self.guideline_version.text(), text)
        except (SettingError, ProjectError) as exc:
            forms.tell(self, "Settings not saved", str(exc))
            return
        self.saved = True
        self.accept()
