"""The apps point one way (STYLE.md, issue 13): no import cycle, a bottom layer that
imports no app, and a core that never imports the bot.

The graph is read from the source with `ast`, so an import inside a function counts as
much as one at the top of the module (a function-level import only hides a cycle). Only
`if TYPE_CHECKING:` blocks are left out: they never run. Tests and migrations are not
part of the layering: tests exercise every layer, migrations use `apps.get_model`.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("habitpact", "pacts", "ledger", "telegram_bot", "outbox")
# The apps the bottom layer must not import (`habitpact` is the bottom layer's package).
APP_PACKAGES = ("pacts", "ledger", "telegram_bot", "outbox")

# habitpact/ is the plumbing, except its composition modules, which see everything:
# the URL confs (the composition root) and the metrics view (counts every app's rows).
COMPOSITION = {"habitpact.urls", "habitpact.api_urls", "habitpact.metrics"}
# Modules of habitpact/ that are not yet in the bottom layer (none left).
NOT_YET_BOTTOM: set[str] = set()

# Cycles tolerated for now (none): each entry would be the set of modules of one cycle.
ALLOWED_CYCLES: set[frozenset[str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            rel = path.relative_to(ROOT).parts
            if "tests" in rel or "migrations" in rel:
                continue
            found[module_name(path)] = path
    return found


def _runtime_nodes(tree: ast.AST):
    """Every node except those under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules among `known` that module `name` imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets.add(source)
            # `from pacts import views` imports the module pacts.views.
            targets.update(f"{source}.{alias.name}" for alias in node.names)
    return {t for t in targets if t in known and t != name}


def import_graph() -> dict[str, set[str]]:
    modules = app_modules()
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def in_app(module: str, apps: tuple[str, ...]) -> bool:
    return module.split(".")[0] in apps


def test_the_graph_reader_sees_function_level_and_relative_imports(tmp_path):
    module = tmp_path / "mod.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import stats\n"
        "if TYPE_CHECKING:\n"
        "    from ledger.models import Only\n"
        "def f():\n"
        "    from .sweeps import x\n"
        "    import telegram_bot.handlers\n"
    )
    known = {"pacts.stats", "pacts.sweeps", "ledger.models", "telegram_bot.handlers"}
    assert imports_of("pacts.mod", module, known) == {
        "pacts.stats",
        "pacts.sweeps",
        "telegram_bot.handlers",
    }
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset("abc")]


def test_no_module_of_the_apps_is_part_of_an_import_cycle():
    found = set(cycles(import_graph()))
    assert found - ALLOWED_CYCLES == set()
    # An allowed cycle that is gone must leave the list, so the list only shrinks.
    assert ALLOWED_CYCLES - found == set()


def test_the_bottom_layer_imports_no_app():
    graph = import_graph()
    bottom = [
        name
        for name in graph
        if in_app(name, ("habitpact",)) and name not in COMPOSITION | NOT_YET_BOTTOM
    ]
    assert "habitpact.errors" in bottom and "habitpact.ratelimit" in bottom
    wrong = {name: sorted(t for t in graph[name] if in_app(t, APP_PACKAGES)) for name in bottom}
    assert {name: targets for name, targets in wrong.items() if targets} == {}


def test_pacts_and_ledger_never_import_the_bot():
    graph = import_graph()
    wrong = {
        name: sorted(t for t in targets if in_app(t, ("telegram_bot",)))
        for name, targets in graph.items()
        if in_app(name, ("pacts", "ledger"))
    }
    assert {name: targets for name, targets in wrong.items() if targets} == {}
