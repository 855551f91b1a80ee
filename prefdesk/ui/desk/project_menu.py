"""The Project menu: the panels beside the desk (train, quality, versions, items, arbitration), the queue
order and the project settings. Each is a registry action on the desk window (`ui.actions`); a panel is
made once per project and raised when asked again."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from prefdesk.domain import roles
from prefdesk.ui.actions import GLOBAL, action
from prefdesk.ui.operations import Change


@action("train", GLOBAL, "Ctrl+T", "Train a reward model, DPO or PRM on the labels…", menu="Pro&ject")
def open_train_panel(window) -> None:
    from prefdesk.ui.train.panel import TrainPanel

    window.raise_panel("train_panel", TrainPanel)


@action("quality", GLOBAL, "Ctrl+Shift+Q", "Quality: agreement, gold, bias, drift, arbitration…", menu="Pro&ject")
def open_quality_panel(window) -> None:
    from prefdesk.ui.quality.panel import QualityPanel

    window.raise_panel("quality_panel", QualityPanel)


@action("versions", GLOBAL, "Ctrl+Shift+V", "Dataset versions: freeze, compare, export, Pareto…", menu="Pro&ject")
def open_versions(window) -> None:
    from prefdesk.ui.versions.panel import VersionsPanel

    window.raise_panel("versions_panel", VersionsPanel)


@action("items", GLOBAL, "Ctrl+Shift+I", "Items: browse, search, filter and edit the project's items…", menu="Pro&ject")
def open_items(window) -> None:
    from prefdesk.ui.items.panel import ItemsPanel

    window.raise_panel("items_panel", ItemsPanel)


@action("arbitrate", GLOBAL, "Ctrl+Shift+A", "Arbitrate disputed items (reviewers and experts)…", menu="Pro&ject")
def open_arbitration(window) -> None:
    from prefdesk.ui.arbitration.panel import ArbitrationPanel

    if not roles.can_arbitrate(window.rater.role):
        window.statusBar().showMessage("Arbitration is for reviewers and experts: a lead sets your role.", 6000)
        return
    window.raise_panel("arbitration_panel", ArbitrationPanel)


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
