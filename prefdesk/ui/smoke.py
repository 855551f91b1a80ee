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
    from prefdesk.domain import RaterRole
    from prefdesk.store.project import Project
    from prefdesk.store.stats import labels_by
    from prefdesk.ui.desk.window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    project = Project.open(ensure_demo())
    window = MainWindow(project, project.ensure_rater("smoke", RaterRole.REVIEWER))
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
    print(f"smoke ok: {n} label committed on a {kind} item" if n == 1 else f"smoke FAILED: {n} labels", flush=True)
    panels = _panels(window, app)
    window.close()
    quality = _quality_report(project)
    project.close()
    return 0 if n == 1 and panels and quality and _import_with_a_worker() and _export_folder(project.path) else 1


def _panels(window, app) -> bool:
    """Every panel of the Project menu opens (each is imported by name: a bundle without one fails here)."""
    from prefdesk.ui.desk.project_menu import PANELS

    opened = []
    for name, _, _, attribute, _, _ in PANELS:
        window.run_named(name)
        app.processEvents()
        if getattr(window, attribute) is None:
            print(f"smoke FAILED: the {name} panel did not open", file=sys.stderr)
            return False
        opened.append(name)
        getattr(window, attribute).close()
    print(f"smoke: panels opened: {', '.join(opened)}")
    return True


def _export_folder(path) -> bool:
    """An export folder with its dataset card, a test split and Parquet copies (pyarrow in the bundle)."""
    from prefdesk.formats.export import export_dataset
    from prefdesk.quality.aggregate import Policy
    from prefdesk.store.project import Project

    out = os.path.join(os.environ["PREFDESK_DATA"], "export")
    with Project.open(path) as project:
        report = export_dataset(project, "trl-preference", out, Policy(), test_fraction=0.2, parquet=True)
    files = sorted(os.listdir(out))
    print(f"smoke: {report.summary()}; {', '.join(files)}")
    return "README.md" in files and "preference.parquet" in files


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
