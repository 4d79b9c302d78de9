"""The package's layout: imports run one way, down the floors of docs/architecture.md.
A file is as long as its concept: there is no line cap."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "plaid_link_async"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every package module `name` imports, wherever: at the top, in a function, or
    for type checkers only (a circle there still ties the two modules together)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            for alias in node.names:
                child = f"{source}.{alias.name}"
                found.add(child if child in modules else source)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {module for module in found if module in modules and module != name}


def test_imports_run_one_way() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            circle = [*trail[trail.index(name) :], name]
            raise AssertionError("an import circle: " + " -> ".join(circle))
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


#: The floors of docs/architecture.md, bottom first; a module imports only from its own
#: floor or lower ones. A module is named by its room and file; a room's `__init__`
#: (its docstring only) sits on the first floor. A new module takes its place here (and
#: in the page).
FLOORS: list[list[str]] = [
    # 1. text, JSON, the errors' roots, the transport seam, the generated table
    ["_wire", "_wire._json", "_wire._nesting", "_wire._datetimes", "_wire._masks"],
    ["_errors", "_errors._root", "_errors._transport", "_transport", "_transport._seam"],
    ["_schema", "_schema._drift", "_schema._warn_once", "_schema._operations", "_version"],
    ["_calls", "_session", "_webhooks", "_batch", "_cli", "_session._probes"],
    # 2. the contract: the models' base, their plans, the generated models
    ["_schema._model_base", "_schema._field_plans", "models"],
    # 3. the errors, and the models' converter, tolerant reader and request rules
    ["_errors._exceptions", "_errors._webhook", "_schema._converter"],
    ["_schema._tolerant_reader", "_schema._request_rules"],
    # 4. the call path: transport, settings, policy, reading, reporting
    ["_transport._aiohttp", "_calls._settings", "_calls._side_effects", "_calls._retry_policy"],
    ["_calls._rate_limit", "_calls._events", "_calls._otel", "_calls._outcome", "_calls._routes"],
    ["_calls._answers", "_calls._off_loop", "_calls._request_body", "_calls._scrubbing"],
    ["_calls._reporting", "_session._api"],
    # 5. features that take a call, not a session
    ["_batch._run", "_batch._limits", "_batch._progress"],
    ["_webhooks._keys", "_webhooks._parsing", "_webhooks._verifier"],
    ["fleet._shared", "fleet._queue", "fleet._outage", "fleet._errors", "fleet._records"],
    ["fleet._row_gate", "fleet._metrics"],
    # 6. the session
    ["_session._setup", "_session._with_raw_response", "_session._session"],
    # 7. the package's face
    [""],
    # 8. campaigns, the command line and the fake
    ["fleet", "fleet._worker", "fleet._feeder", "fleet._status", "fleet._campaign_faces"],
    ["_cli._main", "_cli._parser", "_cli._common", "_cli._commands", "_cli._batch_command"],
    ["_cli._campaign_commands", "_cli._input_rows", "_cli._records", "_cli._journal"],
    ["_cli._lockfile", "_cli._demo", "__main__", "testing"],
]
#: Which rows of FLOORS make one floor (several rows keep the lines short).
ROWS_PER_FLOOR = [4, 1, 2, 4, 4, 1, 1, 4]


def _floors() -> dict[str, int]:
    floor: dict[str, int] = {}
    row = 0
    for number, rows in enumerate(ROWS_PER_FLOOR):
        for names in FLOORS[row : row + rows]:
            for name in names:
                floor[f"plaid_link_async.{name}".rstrip(".")] = number
        row += rows
    return floor


def test_imports_go_down_the_floors() -> None:
    modules = _modules()
    floor = _floors()
    for name in modules:
        if name.startswith("plaid_link_async.testing."):
            floor[name] = floor["plaid_link_async.testing"]
    unplaced = sorted(set(modules) - set(floor))
    assert unplaced == [], f"place these in FLOORS and docs/architecture.md: {unplaced}"
    upward = [
        f"{name} -> {imported}"
        for name, path in modules.items()
        for imported in sorted(_imports(name, path, modules))
        if floor[imported] > floor[name]
    ]
    assert upward == []
