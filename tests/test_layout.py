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
#: floor or lower ones. A new module takes its place here (and in the page).
FLOORS: list[list[str]] = [
    # text, errors' roots and JSON
    ["_error_base", "_transport_errors", "_transport_base", "_redact", "_json", "_nesting"],
    ["_datetimes"],
    ["_drift", "_once", "_codegen", "_version"],
    # the models' base and the contract
    ["_model_base", "_types", "models", "_endpoints"],
    # the errors and the models' machinery
    ["_exceptions", "_cattrs", "_structuring", "_unstructuring", "_diagnosis", "_converter"],
    ["_tolerant", "_validation", "_sending", "_scrub"],
    # transport and policy
    ["_transport", "_raw", "_config", "_repeat", "_retry", "_ratelimit", "_events", "_otel"],
    ["_decode", "_api"],
    # features that take a call, not a session
    ["_batch", "_batch_limits", "_progress", "_webhooks", "_webhook_errors", "_webhook_keys"],
    ["_webhook_parsing", "_webhook_verifier", "fleet._shared", "fleet._queue", "fleet._outage"],
    ["fleet._errors", "fleet._records", "fleet._row_gate", "fleet._metrics"],
    # the session
    ["_setup", "_reading", "_reporting", "_raw_calls", "_request_body", "_session"],
    ["_session_views", "_session_batch", "_session_webhooks"],
    # the package's face
    [""],
    # campaigns, the command line and the fake
    ["fleet", "fleet._worker", "fleet._feeder", "fleet._status", "fleet._campaign_faces"],
    ["_cli", "_cli_parser"],
    ["_cli_common", "_cli_commands", "_cli_batch", "_cli_campaign", "_cli_input"],
    ["_cli_records", "_cli_journal", "_lockfile", "_demo", "__main__", "testing"],
]
#: Which rows of FLOORS make one floor (several rows keep the lines short).
ROWS_PER_FLOOR = [3, 1, 2, 2, 3, 2, 1, 4]


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
