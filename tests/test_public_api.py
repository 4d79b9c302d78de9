"""The public surface: one sorted `__all__`, and nothing private leaking into it."""

from __future__ import annotations

import plaid_link_async
from plaid_link_async import models


def test_all_is_sorted_and_complete() -> None:
    assert plaid_link_async.__all__ == sorted(plaid_link_async.__all__)
    public = {name for name in vars(plaid_link_async) if not name.startswith("_")}
    public -= {"annotations", "models"}  # the __future__ import; the models submodule
    assert public == set(plaid_link_async.__all__) - {"__version__"}


def test_models_all_is_sorted_and_names_every_schema() -> None:
    assert models.__all__ == sorted(models.__all__)
    assert len(models.__all__) == 106 + 1  # the schemas and SPEC_VERSION


def test_exceptions_read_as_public_names() -> None:
    assert plaid_link_async.RequestValidationError.__module__ == "plaid_link_async"
    assert repr(plaid_link_async.UnexpectedResponseError("x")).startswith("UnexpectedResponseError")


def test_version_is_a_string() -> None:
    assert isinstance(plaid_link_async.__version__, str)
