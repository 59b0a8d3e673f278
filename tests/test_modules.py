"""The module layout: every module imports, no import cycles, the core free of the importer, WeasyPrint behind print/engine.py only."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "bookbuild"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """Every module `name` imports, at its top or inside a function (absolute names)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            # `from . import x` imports the module x when there is one, else a name of the package.
            submodules = {f"{base}.{a.name}" for a in node.names} & set(MODULES)
            found.update(submodules or {base})
    return found


def internal_graph() -> dict[str, set[str]]:
    return {name: {m for m in imports_of(name) if m in MODULES and m != name} for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_module_imports():
    for name in MODULES:
        importlib.import_module(name)


def test_the_graph_sees_the_imports_it_should():
    """The AST reading finds relative imports at a module's top and inside functions."""
    graph = internal_graph()
    assert "bookbuild.print.engine" in graph["bookbuild.print.parts"]        # from . import engine
    assert "bookbuild.print.checks" in graph["bookbuild.print.deferral"]     # from .checks import …
    assert "bookbuild.print.layout" in graph["bookbuild.epub"]               # inside a function
    assert "bookbuild.print.engine" in graph["bookbuild.dist.cover"]         # from ..print.engine
    assert "bookbuild.mentions" in graph["bookbuild.lint.names"]              # from ..mentions import …
    assert "bookbuild.importer.noloss" in graph["bookbuild.dist.release"]    # inside a function


def test_no_import_cycles():
    assert cycles(internal_graph()) == []


# Who may import the importer from outside it, and why. `cli` names every command by its
# module's name (imported by `importlib`, so `build.py import` and `check-sources` need no
# static import); a release runs the import's no-loss check (`importer/noloss.py`).
IMPORTER_USERS = {"bookbuild.dist.release": {"bookbuild.importer.noloss"}}


def test_the_core_imports_nothing_from_the_importer():
    outside = {name: {m for m in deps if m == "bookbuild.importer" or m.startswith("bookbuild.importer.")}
               for name, deps in internal_graph().items() if not name.startswith("bookbuild.importer")}
    assert {name: deps for name, deps in outside.items() if deps} == IMPORTER_USERS


def test_commands_name_their_modules():
    """The commands the importer serves are found by name, and each module exists."""
    from bookbuild.cli import COMMANDS

    assert COMMANDS["import"][0] == "bookbuild.importer.command"
    assert COMMANDS["check-sources"][0] == "bookbuild.importer.noloss"
    assert {module for module, _ in COMMANDS.values()} <= set(MODULES)


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_only_the_engine_imports_weasyprint():
    importers = sorted(name for name in MODULES
                       if any(m == "weasyprint" or m.startswith("weasyprint.") for m in imports_of(name)))
    assert importers == ["bookbuild.print.engine"]
