"""Imports point one way: base modules <- stages <- core <- entry points.

Stages never import each other; the core modules (the facade and the cycle it runs) may.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "scanner"
BASE = {"models", "errors", "settings", "config", "config_yaml", "filters", "opml", "plaintext",
        "__init__"}
STAGES = {"fetch", "parse", "dedup", "classify", "store", "digest"}
CORE = {"core", "cycle", "preparing", "tagging", "digesting", "pages", "training", "forkserver_ready"}
ENTRY = {"cli", "cli_output", "cli_common", "cli_sources", "demo", "demo_run", "schedule",
         "web"}
LAYER = {**{m: 0 for m in BASE}, **{m: 1 for m in STAGES}, **{m: 2 for m in CORE},
         **{m: 3 for m in ENTRY}}


def top_module(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def scanner_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found |= {_module_of(n.split(".")[1]) for n in names if n.startswith("scanner.")}
    return found


def _module_of(name: str) -> str:
    """`from scanner import __version__` imports the package itself, not a module."""
    is_module = (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").exists()
    return name if is_module else "__init__"


def test_every_module_has_a_layer():
    unknown = {top_module(p) for p in PACKAGE.rglob("*.py")} - set(LAYER)
    assert not unknown, f"give these modules a layer in tests/test_layout.py: {unknown}"


def test_imports_point_one_way():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        own = top_module(path)
        for imported in scanner_imports(path) - {own}:
            same_layer = LAYER[imported] == LAYER[own]
            if LAYER[imported] > LAYER[own] or (same_layer and LAYER[own] == 1):
                wrong.append(f"{path.relative_to(PACKAGE)} imports scanner.{imported}")
    assert not wrong, "\n".join(wrong)
