"""The package layout is the architecture (README, Architecture): layers import only
downwards, and no module imports itself back through others (no import cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "newsspider"
#: Lowest first.  A module may import its own layer and those below, never above.
LAYERS: list[tuple[str, ...]] = [
    ("newsspider.site", "newsspider.urls", "newsspider.items"),
    ("newsspider.normalize",),
    ("newsspider.extraction",),
    ("newsspider.crawl",),
    ("newsspider.spiders",),
    ("newsspider.commands", "newsspider.offline", "newsspider.settings"),
    ("newsspider.dev", "newsspider.cli"),
]


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(REPO).with_suffix("").parts)
    return name.removesuffix(".__init__")


def layer(module: str) -> int:
    for index, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS (and to the README)")


def imports(path: Path, *, runtime_only: bool) -> set[str]:
    """The package's modules ``path`` imports (``runtime_only``: not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skipped.update(id(child) for child in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("newsspider"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if (PACKAGE.parent / Path(
                *f"{node.module}.{a.name}".split("."))).with_suffix(".py").exists())
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("newsspider"))
    return found - {"newsspider"}


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_every_import_goes_down_the_layers() -> None:
    upward = [f"{m} imports {d}" for m, path in sorted(MODULES.items())
              for d in sorted(imports(path, runtime_only=False)) if layer(d) > layer(m)]
    assert upward == []


def test_no_import_cycle() -> None:
    graph = {m: {d for d in imports(p, runtime_only=True) if d in MODULES and d != m} for m, p in MODULES.items()}
    # a package's __init__ importing its own modules is how packages work, not a cycle
    graph = {m: {d for d in deps if not m.startswith(d + ".") or d in ("newsspider",)} for m, deps in graph.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
