"""The Project menu: the panels beside the desk (train, quality, versions, items, generate, evaluate, feedback,
arbitration), the queue order and the project settings. Each is a registry action on the desk window (`ui.actions`); a panel is
made once per project and raised when asked again."""

from __future__ import annotations

import importlib

from PySide6.QtCore import QSettings

from prefdesk.domain import roles
from prefdesk.ui.actions import GLOBAL, action
from prefdesk.ui.operations import Change


def _opener(attribute: str, module: str, cls: str, leads_only: bool = False):
    """The action that raises a panel (imported when first opened: the desk starts without them)."""
    def open_panel(window) -> None:
        if leads_only and not roles.can_arbitrate(window.rater.role):
            window.statusBar().showMessage("Arbitration is for reviewers and experts: a lead sets your role.", 6000)
            return
        window.raise_panel(attribute, getattr(importlib.import_module(module), cls))
    return open_panel


PANELS = (  # (action, keys, menu text, the window's attribute, module under prefdesk.ui, class)
        ("train", "Ctrl+T", "Train a reward model, DPO or PRM on the labels…", "train_panel", "train.panel", "TrainPanel"),
        ("quality", "Ctrl+Shift+Q", "Quality: agreement, gold, bias, drift, arbitration…", "quality_panel",
         "quality.panel", "QualityPanel"),
        ("versions", "Ctrl+Shift+V", "Dataset versions: freeze, compare, export, Pareto…", "versions_panel",
         "versions.panel", "VersionsPanel"),
        ("items", "Ctrl+Shift+I", "Items: browse, search, filter and edit the project's items…", "items_panel",
         "items.panel", "ItemsPanel"),
        ("generate", "Ctrl+Shift+G", "Generate: sample answers from your model for prompts, pre-filtered…",
         "generate_panel", "generate.panel", "GeneratePanel"),
        ("evaluate", "Ctrl+Shift+E", "Evaluate: the trained policy against its reference, arena, leaderboard…",
         "evaluate_panel", "evaluate.panel", "EvaluatePanel"),
        ("feedback", "Ctrl+Shift+F", "Feedback: online signals, their trends, backflow to the pool…", "feedback_panel",
         "feedback.panel", "FeedbackPanel"),
        ("arbitrate", "Ctrl+Shift+A", "Arbitrate disputed items (reviewers and experts)…", "arbitration_panel",
         "arbitration.panel", "ArbitrationPanel"))
for _name, _keys, _help, _attribute, _module, _cls in PANELS:
    action(_name, GLOBAL, _keys, _help, menu="Pro&ject")(
        _opener(_attribute, f"prefdesk.ui.{_module}", _cls, leads_only=_name == "arbitrate"))


@action("queue_order", GLOBAL, "Ctrl+Shift+O", "Queue order: default, or by the reward model…", menu="Pro&ject")
def choose_queue_order(window) -> None:
    from PySide6.QtWidgets import QInputDialog

    from prefdesk.quality.model_queue import ORDER_HELP, ORDERS

    names = [f"{order}: {ORDER_HELP[order]}" for order in ORDERS]
    chosen, ok = QInputDialog.getItem(window, "Queue order", f"Order of {window.rater.name}'s queue in this project",
                                      names, ORDERS.index(window.work.queue_order), False)
    if ok:
        QSettings().setValue(window.order_key(), ORDERS[names.index(chosen)])
        window.work.order_queue(ORDERS[names.index(chosen)])


@action("settings", GLOBAL, "Ctrl+Shift+P", "Project settings: dimensions, tags, scale, guidelines, overlap…",
        menu="Pro&ject")
def project_settings(window) -> None:
    from prefdesk.ui.desk.settings_dialog import SettingsDialog

    dialog = SettingsDialog(window, window.project)
    if dialog.exec() and dialog.saved:
        window.ops.changed.emit(Change.SETTINGS)
        window.statusBar().showMessage("Settings saved: they apply from the next item.", 5000)
