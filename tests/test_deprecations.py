"""Deprecated operations warn, naming what replaces them and when Plaid removed them;
the others never warn. The rule comes from the contract (`deprecated`, `x-removed-in`)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import yaml

from plaid_link_async import AsyncLinkSession
from plaid_link_async._schema._operations import ENDPOINTS
from plaid_link_async.testing import FakePlaidServer

from ._helpers import requests_for, session_for
from .conftest import contract_path


def deprecated_in_contract() -> dict[str, str | None]:
    """Method name to `x-removed-in`, for every operation the contract deprecates."""
    path = contract_path()
    if path is None:
        pytest.skip("contract not found")
    spec: dict[str, Any] = yaml.safe_load(path.read_text())
    found = {}
    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("deprecated"):
                name = "".join(f"_{c.lower()}" if c.isupper() else c for c in op["operationId"])
                found[name] = op.get("x-removed-in")
    return found


async def test_deprecated_calls_and_their_raw_twins_warn_and_no_other_does(
    fake_plaid: FakePlaidServer,
) -> None:
    deprecated = deprecated_in_contract()
    assert set(deprecated) == {
        "link_delivery_create",
        "link_delivery_get",
        "link_profile_eligibility_check",
    }
    async with session_for(fake_plaid) as plaid:
        for face in (plaid, plaid.with_raw_response):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                requests = await requests_for(plaid, fake_plaid)  # public tokens: once each
            for name in ENDPOINTS:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    await getattr(face, name)(requests[name])
                said = [w for w in caught if issubclass(w.category, DeprecationWarning)]
                if name not in deprecated:
                    assert said == [], name
                    continue
                [warning] = said
                text = str(warning.message)
                assert text.startswith(f"{name} is deprecated: Plaid removed POST ")
                assert str(deprecated[name]) in text
                assert warning.filename == __file__  # points at the caller's line
    if "link_delivery_create" in deprecated:
        assert "link_token_create(hosted_link=" in _message(plaid, "link_delivery_create")


def _message(plaid: AsyncLinkSession, name: str) -> str:
    doc = getattr(type(plaid), name).__doc__ or ""
    assert doc.startswith("Deprecated.")
    return doc
