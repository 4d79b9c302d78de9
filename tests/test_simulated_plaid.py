"""The fake's simulated Plaid driven on its own: state and rules, no HTTP, no loop."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from plaid_link_async import from_dict
from plaid_link_async import models as m
from plaid_link_async.testing import SimulatedPlaid
from plaid_link_async.testing._reply import PlaidReply


def _request(cls: type[Any], body: dict[str, Any]) -> Any:
    return from_dict(cls, body)


def test_a_whole_link_flow_without_http() -> None:
    sent: list[tuple[str, Mapping[str, Any]]] = []
    plaid = SimulatedPlaid(send_webhook=lambda url, payload: sent.append((url, payload)))
    body = {
        "client_name": "App",
        "language": "en",
        "country_codes": ["US"],
        "user": {"client_user_id": "u-1"},
        "products": ["auth"],
        "webhook": "http://127.0.0.1:9/hooks",
    }
    created = plaid.answer("link_token_create", _request(m.LinkTokenCreateRequest, body), body)
    assert created["link_token"].startswith("link-sandbox-")
    completion = plaid.complete_link(created["link_token"], items=2)
    assert [payload["webhook_code"] for _, payload in sent] == [
        "ITEM_ADD_RESULT",
        "ITEM_ADD_RESULT",
        "EVENTS",
        "SESSION_FINISHED",
    ]
    exchange = {"public_token": completion.public_tokens[0]}
    model = _request(m.ItemPublicTokenExchangeRequest, exchange)
    answer = plaid.answer("item_public_token_exchange", model, exchange)
    assert answer["access_token"].startswith("access-sandbox-")
    with pytest.raises(PlaidReply) as refused:  # a public token exchanges once
        plaid.answer("item_public_token_exchange", model, exchange)
    assert refused.value.error_code == "INVALID_PUBLIC_TOKEN"
    plaid.reset()
    assert plaid.tokens == {}
    assert plaid.items.by_access_token(answer["access_token"]) is None
