"""Compiling generated Python functions, with tracebacks that show their source."""

from __future__ import annotations

import linecache
from collections.abc import Callable
from itertools import count
from typing import Any

_unique = count()


def compile_function(name: str, source: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    """Compile function `name` from `source`, its free names bound from `namespace`.

    The function is built inside a factory taking the namespace as arguments, so the
    helpers it calls are closure cells (fast) rather than globals (a dict lookup each).
    """
    params = ", ".join(namespace)
    body = "".join(f"    {line}\n" for line in source.splitlines())
    factory = f"def _factory({params}):\n{body}    return {name}\n"
    # A real filename in linecache keeps tracebacks through generated code readable.
    filename = f"<plaid_link_async {name} {next(_unique)}>"
    linecache.cache[filename] = (len(factory), None, factory.splitlines(True), filename)
    scope: dict[str, Any] = {}
    exec(compile(factory, filename, "exec"), scope)
    fn: Callable[..., Any] = scope["_factory"](**namespace)
    return fn
