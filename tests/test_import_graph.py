"""The import graph of `prefdesk/`, read from the source: every import (a lazy one inside a function too) points
down the layers, and no two files import each other, directly or round a circle.

Layers, lowest first: domain (with `prefdesk.paths` and the package itself) < store < quality < formats, labeling
< jobs, feedback, demo < ui, cli < the program (`prefdesk.__main__`). A module imports its own layer or lower ones;
the layers that share a rank do not import each other. Imports under `if TYPE_CHECKING:` never run and are not
counted: they name a type for the reader only.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent / "prefdesk"
RANK = {"domain": 0, "paths": 0, "": 0, "store": 1, "quality": 2, "formats": 3, "labeling": 3, "jobs": 4,
        "feedback": 4, "demo": 4, "ui": 5, "cli": 5, "__main__": 6}


def modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _runtime_imports(tree: ast.AST):
    """Every import node that runs: all of them but those under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in _runtime_imports(ast.Module([child], [])))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _runtime_imports(node)


def graph() -> dict[str, set[str]]:
    """Module -> the prefdesk modules it imports (`from pkg import name` counts as pkg.name when that is a module)."""
    mods = modules()
    edges: dict[str, set[str]] = defaultdict(set)
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target.startswith("prefdesk") and target != mod:
                    edges[mod].add(target)
    return edges


def layer(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else ""


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(modules()):
        if v not in index:
            visit(v)
    return found


def test_every_module_has_a_layer():
    assert {layer(m) for m in modules()} <= set(RANK), {layer(m) for m in modules()} - set(RANK)


def test_no_module_imports_a_layer_above_its_own_or_beside_it():
    wrong = [f"{mod} -> {target}" for mod, targets in sorted(graph().items()) for target in sorted(targets)
             if layer(mod) != layer(target) and RANK[layer(target)] >= RANK[layer(mod)]]
    assert wrong == []


def test_no_files_import_each_other_round_a_circle():
    assert circles(graph()) == []


@pytest.mark.parametrize("source, expected", [
    ("from prefdesk.jobs import arena\n", "prefdesk.quality.leaderboard -> prefdesk.jobs.arena"),
    ("def f():\n    from prefdesk.ui.app import run_desk\n", "prefdesk.quality.leaderboard -> prefdesk.ui.app"),
])
def test_the_checks_see_a_wrong_import_even_a_lazy_one(tmp_path, monkeypatch, source, expected):
    """The checks can fail: a copy of the package with one import that points up is caught, and a circle too."""
    import shutil

    copy = tmp_path / "prefdesk"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    leaderboard = copy / "quality" / "leaderboard.py"
    leaderboard.write_text(leaderboard.read_text(encoding="utf-8") + "\n" + source, encoding="utf-8")
    store_ids = copy / "store" / "ids.py"
    store_ids.write_text(store_ids.read_text(encoding="utf-8") + "\nif True:\n    import prefdesk.store.runs\n",
                         encoding="utf-8")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", copy)
    edges = graph()
    wrong = [f"{m} -> {t}" for m, ts in edges.items() for t in ts
             if layer(m) != layer(t) and RANK[layer(t)] >= RANK[layer(m)]]
    assert expected in wrong
    assert any("prefdesk.store.ids" in c and "prefdesk.store.runs" in c for c in circles(edges))


def test_the_action_registry_imports_no_feature_and_refuses_to_be_read_short():
    """Each feature declares its own actions; read before the desk window's module has imported them all, the
    registry says so instead of handing out a keymap without the panels' keys."""
    import subprocess
    import sys

    code = ("import prefdesk.ui.actions as a\n"
            "try:\n    a.all_actions()\nexcept RuntimeError as e:\n    print('refused:', e)\n"
            "import prefdesk.ui.desk.window\n"
            "print(sorted({s.scope for s in a.all_actions()}) == sorted(a.SCOPES), 'arb_next' in a.by_name())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("refused: no actions declared for") and "items" in lines[0]
    assert lines[1] == "True True"
