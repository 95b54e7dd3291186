"""The apps point one way (STYLE.md, issue 13): the core writes outbox rows and never
imports the bot, and the outbox imports no app at all. Function-level imports count."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(app: str) -> dict[str, set[str]]:
    """{module path: top-level packages it imports}, tests and migrations left out."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / app).rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if "tests" in parts or "migrations" in parts:
            continue
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_the_core_never_imports_the_bot():
    for app in ("pacts", "ledger", "outbox"):
        for module, names in _imports(app).items():
            assert "telegram_bot" not in names, module


def test_the_outbox_imports_no_app():
    apps = {"pacts", "ledger", "telegram_bot", "habitpact"}
    for module, names in _imports("outbox").items():
        assert not names & apps, (module, names & apps)


def test_the_core_reaches_the_bot_only_by_dotted_path():
    # The one mention of telegram_bot in the core is the job table's task name.
    tasks = (ROOT / "pacts" / "tasks.py").read_text()
    assert '"telegram_bot.tasks.deliver_outbox"' in tasks
