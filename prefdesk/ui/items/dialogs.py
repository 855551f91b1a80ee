"""The Items panel's dialogs: one item opened (prompt, answers, every label with who, when, in which display
order and why; the metadata edits), and the bulk edit of a selection."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                               QFormLayout,
                               QHeaderView, QLabel, QPlainTextEdit, QPushButton, QSplitter, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from prefdesk.domain import Label, roles
from prefdesk.quality import browse
from prefdesk.store import item_meta
from prefdesk.ui import forms
from prefdesk.ui.actions import keys_text

LABEL_HEADERS = ("Rater", "Source", "Given (UTC)", "Round", "Shown left | right", "Label", "Rationale", "Guidelines",
                 "Seconds", "State")
UNCHANGED = "(unchanged)"


def shown_order(label: Label, n_candidates: int) -> str:
    """Which candidate the rater saw where: "B | A" (pairwise) or "C, A, B" (a ranking's screen order)."""
    if not label.display_order:
        return ""
    names = [chr(ord("A") + p) if p < 26 else str(p) for p in label.display_order]
    return " | ".join(names) if n_candidates == 2 else ", ".join(names)


def payload_text(label: Label) -> str:
    """A label's content in a line: the verdict and strength, dimensions, tags; other kinds as their JSON."""
    p = dict(label.payload)
    if "verdict" in p:
        parts = [p["verdict"] + (f" ({p['strength']})" if p.get("strength") else "")]
        parts += [f"{d}: {v}" for d, v in (p.get("dims") or {}).items()]
        parts += [f"#{t}" for t in p.get("reason_tags") or []]
        return "  ".join(parts)
    p.pop("rationale", None)
    return json.dumps(p, ensure_ascii=False)


class ItemDialog(QDialog):
    """One item, read-only. Annotators see their own labels only; reviewers and experts see everyone's and can
    go on to arbitrate."""

    def __init__(self, parent: QWidget, desk, item_id: str) -> None:
        super().__init__(parent)
        project = desk.project
        self.item = project.item(item_id)
        lead = roles.sees_others_labels(desk.rater.role)
        names = {r.id: r.name for r in project.raters()}
        self.labels = [lab for lab in project.labels(item_id, current_only=False)
                       if lead or lab.rater_id == desk.rater.id]
        superseded = {lab.supersedes for lab in self.labels if lab.supersedes}
        item = self.item
        held, hits = browse.prefilter_of(project, item_id)
        facts = [item.kind.value, f"scenario {item.scenario or '—'}", f"risk {item.risk_level or '—'}",
                 f"bucket {item.bucket or '—'}", f"priority {item.priority:g}"] + (["gold"] if item.is_gold else []) \
            + ([f"held back from people ({held})"] if held else [])
        self.setWindowTitle(f"Item {item.id}")
        head = QLabel(" · ".join(facts))
        head.setTextInteractionFlags(Qt.TextSelectableByMouse)
        texts = QTabWidget()
        texts.addTab(self._text(item.prompt), "&Prompt")
        for cand in item.candidates:
            origin = f" ({cand.source})" if cand.source else ""
            texts.addTab(self._text(cand.text), f"&{chr(ord('A') + cand.position)}{origin}")
            if cand.meta:  # a sampled answer: where it came from
                m = cand.meta
                texts.setTabToolTip(texts.count() - 1, f"{m.get('model')} · seed {m.get('seed')} · temperature "
                                                       f"{m.get('temperature')} · top-p {m.get('top_p')} · "
                                                       f"{m.get('answer_tokens')} tokens, {m.get('finish')}")
        if item.steps:
            texts.addTab(self._text("\n\n".join(f"Step {s.position + 1}: {s.text}" for s in item.steps)), "S&teps")
        self.table = QTableWidget(len(self.labels), len(LABEL_HEADERS))
        self.table.setHorizontalHeaderLabels(LABEL_HEADERS)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        for column in (5, 6):  # the label and the rationale wrap in the room there is: no sideways scrolling
            header.setSectionResizeMode(column, QHeaderView.Stretch)
        self.table.setWordWrap(True)
        for r, lab in enumerate(self.labels):
            state = "superseded" if lab.id in superseded else "edit of an earlier one" if lab.supersedes else "current"
            cells = (names.get(lab.rater_id, lab.rater_id), lab.source.value, lab.created_at[:19].replace("T", " "),
                     str(lab.round), shown_order(lab, len(item.candidates)), payload_text(lab),
                     lab.payload.get("rationale") or "", lab.guideline_version or "",
                     "" if lab.duration_ms is None else f"{lab.duration_ms / 1000:.1f}", state)
            for c, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)
                self.table.setItem(r, c, cell)
        edits = item_meta.edits(project, item_id)
        lines = [f"{e['at'][:19].replace('T', ' ')} {e['by']}: {e['field']} {e['old'] or '—'} → {e['new'] or '—'}"
                 for e in edits] or ["No metadata edits."]
        lines += [f"rule {rule} ({action}, {version}): {'the prompt' if pos is None else f'answer {pos + 1}'} {reason}"
                  for rule, pos, action, reason, version in hits]
        history = QLabel("\n".join(lines))  # imported and generated text: plain, never HTML
        history.setTextFormat(Qt.PlainText)
        whose = "every label on it" if lead else "your labels on it (other raters' stay hidden from annotators)"
        split = QSplitter(Qt.Vertical)
        split.addWidget(texts)
        lower = QWidget()
        column = QVBoxLayout(lower)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(QLabel(f"{len(self.labels)} labels: {whose}"))
        column.addWidget(self.table, 1)
        column.addWidget(history)
        split.addWidget(lower)
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(split, 1)
        if roles.can_arbitrate(desk.rater.role):
            arbitrate = QPushButton(f"&Arbitrate disputed items… ({keys_text(desk.bindings, 'arbitrate', 1)})")
            arbitrate.clicked.connect(lambda: (self.accept(), desk.run_named("arbitrate")))
            layout.addWidget(arbitrate)
        close = QDialogButtonBox(QDialogButtonBox.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        forms.fit_to_screen(self, 1100, 760)
        self.table.resizeRowsToContents()

    @staticmethod
    def _text(text: str) -> QPlainTextEdit:
        from prefdesk.ui.desk.dialogs import whole_text_box

        return whole_text_box(text)


class BulkEditDialog(QDialog):
    """Scenario, risk level, bucket, priority and gold for the selected items; what is left (unchanged) stays."""

    def __init__(self, parent: QWidget, count: int, known: dict[str, list[str]]) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Edit {count:,} items")
        self.changes: dict = {}
        self.boxes: dict[str, QComboBox] = {}
        form = QFormLayout(self)
        form.addRow(QLabel(f"Each change is recorded with your name and the time, field by field, on {count:,} items."))
        for field, title, values in (("scenario", "&Scenario", known.get("scenario", [])),
                                     ("risk_level", "&Risk level", ["low", "medium", "high"]),
                                     ("bucket", "&Bucket", known.get("bucket", []))):
            box = QComboBox()
            box.setEditable(field != "risk_level")
            box.addItems([UNCHANGED, "(clear)", *values])
            self.boxes[field] = box
            form.addRow(title, box)
        self.set_priority = QCheckBox("Set &priority to")
        self.priority = QDoubleSpinBox()
        self.priority.setRange(-1e6, 1e6)
        form.addRow(self.set_priority, self.priority)
        self.not_gold = QCheckBox("Not &gold (an item becomes gold with its answer, by arbitration)")
        form.addRow(self.not_gold)
        form.addRow(forms.dialog_buttons(self, "ok", self._check))

    def _check(self) -> None:
        parts = []
        for field, box in self.boxes.items():
            text = box.currentText().strip()
            if text and text != UNCHANGED:
                parts.append(f"{field}={'-' if text == '(clear)' else text}")
        if self.set_priority.isChecked():
            parts.append(f"priority={self.priority.value()}")
        if self.not_gold.isChecked():
            parts.append("is_gold=0")
        if not parts:
            self.reject()
            return
        self.changes = item_meta.parse_assignments(parts)
        self.accept()
