"""The public surface: one sorted `__all__`, and nothing private leaking into it."""

from __future__ import annotations

import types

import plaid_link_async
from plaid_link_async import models


def test_all_is_sorted_and_complete() -> None:
    assert plaid_link_async.__all__ == sorted(plaid_link_async.__all__)
    for name in plaid_link_async.__all__:  # loads the lazily exported names too
        getattr(plaid_link_async, name)
    public = {
        name
        for name, value in vars(plaid_link_async).items()
        # Submodules (models, testing) and pytest's assertion-rewriting helpers aside:
        # pytest rewrites every module of a distribution that registers a plugin.
        if not name.startswith(("_", "@")) and not isinstance(value, types.ModuleType)
    }
    public -= {"annotations"}  # the __future__ import
    assert public == set(plaid_link_async.__all__) - {"__version__"}


def test_models_all_is_sorted_and_names_every_schema() -> None:
    assert models.__all__ == sorted(models.__all__)
    assert len(models.__all__) == 205 + 2 + 1  # the schemas, the supplement's, SPEC_VERSION


def test_testing_all_is_sorted() -> None:
    from plaid_link_async import testing

    assert testing.__all__ == sorted(testing.__all__)
    assert all(hasattr(testing, name) for name in testing.__all__)


def test_exceptions_read_as_public_names() -> None:
    for name in plaid_link_async.__all__:
        obj = getattr(plaid_link_async, name)
        if isinstance(obj, type) and issubclass(obj, plaid_link_async.PlaidLinkError):
            assert obj.__module__ == "plaid_link_async", name
    assert repr(plaid_link_async.UnexpectedResponseError("x")).startswith("UnexpectedResponseError")


def test_version_is_a_string() -> None:
    assert isinstance(plaid_link_async.__version__, str)
