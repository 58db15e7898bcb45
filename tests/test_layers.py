"""The layering rules, read from the source with `ast` (nothing is imported): no import circles, storage/
never imports bot/, feature handlers do not import each other, and bot/ builds no SQL."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "storage")
# What bot/ may take from SQLAlchemy and SQLModel: the session type for annotations, and URL parsing where
# settings and the backup command check DATABASE_URL. Query builders (select, insert, update, text, col…)
# belong in storage/.
SQL_ALLOWED = {
    ("sqlmodel.ext.asyncio.session", "AsyncSession"): None,  # anywhere
    ("sqlalchemy.engine", "make_url"): {"bot.settings", "bot.backup_cli"},
    ("sqlalchemy.exc", "ArgumentError"): {"bot.settings"},
}
SQL_PACKAGES = ("sqlalchemy", "sqlmodel")


def module_files() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


MODULES = module_files()


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def import_statements(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import, at module level or inside functions (deferred imports close circles too), except
    those under `if TYPE_CHECKING:`, which never run."""
    for node in ast.iter_child_nodes(tree):
        if _is_type_checking(node):
            assert isinstance(node, ast.If)
            for other in node.orelse:
                yield from import_statements(ast.Module(body=[other], type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from import_statements(node)


def imported_names(statement: ast.Import | ast.ImportFrom) -> set[str]:
    """Dotted names a statement may import: modules, and `from m import x` as both m and m.x."""
    if isinstance(statement, ast.Import):
        return {alias.name for alias in statement.names}
    if statement.level or statement.module is None:
        raise AssertionError(f"relative import of {statement.module!r}: the project uses absolute imports")
    return {statement.module} | {f"{statement.module}.{alias.name}" for alias in statement.names}


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names = set().union(*(imported_names(statement) for statement in import_statements(tree)))
        graph[module] = {name for name in names if name in MODULES and name != module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle (first node repeated at the end), or None if the graph is acyclic."""
    state: dict[str, str] = {}  # "open" while on the path, "done" once fully explored
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def feature_of(module: str) -> str | None:
    """'bot.loyalty.purchases' -> 'loyalty' for modules inside a feature folder bot/<feature>/."""
    parts = module.split(".")
    if parts[0] == "bot" and len(parts) >= 3 and (ROOT / "bot" / parts[1]).is_dir():
        return parts[1]
    return None


GRAPH = import_graph()


def test_the_cycle_finder_finds_circles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    assert "bot.loyalty.purchases" in GRAPH["bot.loyalty.handlers"], "the graph sees real imports"
    assert "bot.loyalty.cli" in GRAPH["bot.cli"], "and deferred ones inside functions"


def test_no_module_import_circle():
    assert find_cycle(GRAPH) is None, "import circle: " + " -> ".join(find_cycle(GRAPH) or ())


def test_no_circle_between_feature_packages():
    features: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        source = feature_of(module)
        if source is not None:
            others = {feature_of(target) for target in targets} - {None, source}
            features.setdefault(source, set()).update(f for f in others if f is not None)
    assert len(features) >= 7, sorted(features)
    cycle = find_cycle(features)
    assert cycle is None, "features import each other: " + " -> ".join(cycle or ())


def test_storage_never_imports_bot():
    offenders = {
        module: sorted(target for target in targets if target.split(".")[0] == "bot")
        for module, targets in GRAPH.items()
        if module.split(".")[0] == "storage"
    }
    assert {module: targets for module, targets in offenders.items() if targets} == {}


def test_handlers_do_not_import_other_features_handlers():
    handler_modules = {m for m in GRAPH if feature_of(m) and m.rsplit(".", 1)[-1].endswith("handlers")}
    assert "bot.loyalty.award_handlers" in handler_modules and "bot.faq.handoff_handlers" in handler_modules
    crossing = {
        module: sorted(
            t for t in GRAPH[module] if t in handler_modules and feature_of(t) != feature_of(module)
        )
        for module in handler_modules
    }
    assert {module: targets for module, targets in crossing.items() if targets} == {}


def sql_imports(module: str) -> Iterator[tuple[str, str]]:
    """(module imported from, name) for every sqlalchemy/sqlmodel import of a module."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for statement in import_statements(tree):
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.name.split(".")[0] in SQL_PACKAGES:
                    yield alias.name, "*"
        elif statement.module and statement.module.split(".")[0] in SQL_PACKAGES:
            for alias in statement.names:
                yield statement.module, alias.name


def sql_refusals(module: str) -> list[str]:
    refused = []
    for source, name in sql_imports(module):
        allowed_in = SQL_ALLOWED.get((source, name), set())
        if allowed_in is not None and module not in allowed_in:
            refused.append(f"import {source}.{name}")
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        # session.exec / execute / scalar(s): running a statement, which only storage/ builds.
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("exec", "execute", "scalar", "scalars"):
                refused.append(f"line {node.lineno}: {ast.unparse(node.func)}(...)")
    return refused


def test_bot_builds_no_sql():
    refusals = {module: sql_refusals(module) for module in MODULES if module.split(".")[0] == "bot"}
    assert {module: found for module, found in refusals.items() if found} == {}, "put queries in storage/"
    assert sql_refusals("storage.points"), "the check sees a module that does build SQL"
