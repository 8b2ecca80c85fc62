"""The import structure the design asks for, read from the source with `ast` (no imports run).

A unit is a top-level piece of the application: `bot.<name>` (package or module) or `jobs`. Every import
statement counts, at module level or inside a function (a deferred import is still a dependency), and
`if TYPE_CHECKING:` imports count too: a loop hidden from the interpreter is still a loop for a reader.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Callers of the pipeline and the runtime: none of them may depend on the Slack app.
SLACK_FREE = ("jobs", "bot.delivery", "bot.nudges", "bot.ingest", "bot.email", "bot.replay", "bot.messages")


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("jobs/**/*.py")]):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _imports(module: str, path: Path) -> Iterator[tuple[ast.stmt, str]]:
    """(statement, absolute module name) for every import in the file, relative ones resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                yield node, ".".join([*base, *([node.module] if node.module else [])])
            elif node.module:
                yield node, node.module


def _unit(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "jobs":
        return "jobs"
    if parts[0] == "bot" and len(parts) > 1:
        return f"bot.{parts[1]}"
    return None


def _graph() -> dict[str, dict[str, list[str]]]:
    """unit -> unit it imports -> where (file:line)."""
    graph: dict[str, dict[str, list[str]]] = {}
    for module, path in _modules():
        source = _unit(module)
        if source is None:
            continue
        for node, target in _imports(module, path):
            dest = _unit(target)
            if dest is not None and dest != source:
                where = f"{path.relative_to(ROOT)}:{node.lineno} imports {target}"
                graph.setdefault(source, {}).setdefault(dest, []).append(where)
    return graph


def _cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Strongly connected components of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read_from_the_source() -> None:
    """Guards the checks below against passing on an empty graph."""
    graph = _graph()
    assert "bot.store" in graph["bot.nudges"] and "bot.slack" in graph["bot.web"]


def test_no_import_cycles_between_units() -> None:
    graph = _graph()
    cycles = _cycles(graph)
    detail = [
        f"{a} -> {b}: {graph[a][b][0]}"
        for cycle in cycles
        for a in cycle
        for b in graph.get(a, {})
        if b in cycle
    ]
    assert not cycles, "\n".join(detail)


def test_the_pipeline_and_the_jobs_import_nothing_from_the_slack_app() -> None:
    offending = [
        where
        for module, path in _modules()
        if module == "jobs"
        or module.startswith(tuple(f"{unit}." for unit in SLACK_FREE))
        or module in SLACK_FREE
        for node, target in _imports(module, path)
        if target == "bot.slack" or target.startswith("bot.slack.")
        for where in [f"{path.relative_to(ROOT)}:{node.lineno} imports {target}"]
    ]
    assert not offending, "\n".join(offending)


def test_no_import_guards_around_the_projects_own_modules() -> None:
    """A `try: import bot.x / except ImportError` turns a broken module into silently missing behaviour."""
    guarded = []
    for _, path in _modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Try):
                continue
            catches = {
                name.id
                for handler in node.handlers
                if handler.type is not None
                for name in ast.walk(handler.type)
                if isinstance(name, ast.Name)
            }
            if not catches & {"ImportError", "ModuleNotFoundError"}:
                continue
            own = [
                ast.unparse(sub)
                for stmt in node.body
                for sub in ast.walk(stmt)
                if (
                    isinstance(sub, ast.Import)
                    and any(a.name.split(".")[0] in ("bot", "jobs") for a in sub.names)
                )
                or (
                    isinstance(sub, ast.ImportFrom)
                    and (sub.level > 0 or (sub.module or "").split(".")[0] in ("bot", "jobs"))
                )
            ]
            if own:
                guarded.append(f"{path.relative_to(ROOT)}:{node.lineno} guards {own}")
    assert not guarded, "\n".join(guarded)
