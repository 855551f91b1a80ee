"""`prefdesk --smoke-test`: the built app opens the demo project, commits one label, quits.

Used by CI on the PyInstaller bundle; runs offscreen in a throw-away data folder.
"""

from __future__ import annotations

import os
import sys
import tempfile


def smoke_test() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["PREFDESK_DATA"] = tempfile.mkdtemp(prefix="prefdesk-smoke-")
    from PySide6.QtWidgets import QApplication

    from prefdesk.demo import ensure_demo
    from prefdesk.store.project import Project
    from prefdesk.store.stats import labels_by
    from prefdesk.ui.desk.window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    project = Project.open(ensure_demo())
    window = MainWindow(project, project.ensure_rater("smoke"))
    window.show()
    app.processEvents()
    kind = window.item.kind.value
    action = {"pairwise": "left_better", "scalar": "score_4"}.get(kind)
    if action is None:
        print(f"smoke: unexpected first item kind {kind}", file=sys.stderr)
        return 1
    window.side.rationale.setPlainText("smoke test")  # the demo asks for one on high-risk items
    window.run_named(action)  # the same path a key press takes
    app.processEvents()
    n = labels_by(project, window.rater.id)
    window.close()
    print(f"smoke ok: {n} label committed on a {kind} item" if n == 1 else f"smoke FAILED: {n} labels")
    quality = _quality_report(project)
    project.close()
    return 0 if n == 1 and quality and _import_with_a_worker() else 1


def _quality_report(project) -> bool:
    """The statistics libraries (scipy, scikit-learn, krippendorff) load and work in the bundle."""
    from prefdesk.quality.report import quality_report

    report = quality_report(project)
    print(f"smoke: quality report on {report['labels']} labels, Krippendorff alpha "
          f"{report['agreement']['krippendorff_alpha']}")
    return report["labels"] > 0


def _import_with_a_worker() -> bool:
    """A big import converts in worker processes; in a bundle they start through freeze_support."""
    from prefdesk.formats.importer import import_file
    from prefdesk.paths import resources_dir
    from prefdesk.store.project import Project

    with Project.create(os.path.join(os.environ["PREFDESK_DATA"], "workers.prefdesk")) as project:
        report = import_file(project, resources_dir() / "demo" / "items.jsonl", workers=1)
    print(f"smoke: {report.summary()}")
    return report.items_added > 0
