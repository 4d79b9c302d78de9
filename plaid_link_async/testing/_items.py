"""The Items the fake issued, and the states that call a user back through Link's
update mode, with the webhooks Plaid sends for each."""

from __future__ import annotations

import datetime
from typing import Any, Final

import attrs

from .._wire._datetimes import format_datetime

#: The states `FakePlaidServer.set_item_state` can put an Item into, each announced by
#: the webhook Plaid sends for it.
ITEM_STATES: Final = ("ITEM_LOGIN_REQUIRED", "PENDING_EXPIRATION", "PENDING_DISCONNECT")

# How far ahead a pending expiration or disconnect is announced: Plaid's is 7 days.
_NOTICE: Final = datetime.timedelta(days=7)


@attrs.define
class Item:
    item_id: str
    access_token: str
    webhook: str | None  # the webhook URL of the link token it was made with
    state: str | None = None  # one of ITEM_STATES; None while it is healthy


class Items:
    """Every Item by access token and by id."""

    def __init__(self) -> None:
        self._by_token: dict[str, Item] = {}
        self._by_id: dict[str, Item] = {}

    def add(self, item: Item) -> None:
        self._by_token[item.access_token] = item
        self._by_id[item.item_id] = item

    def by_access_token(self, access_token: str) -> Item | None:
        return self._by_token.get(access_token)

    def access_token_of(self, item_id: str) -> str:
        return self._by_id[item_id].access_token

    def clear(self) -> None:
        self._by_token.clear()
        self._by_id.clear()


def state_webhook(
    item: Item, state: str, environment: str, now: datetime.datetime
) -> dict[str, Any]:
    """The webhook Plaid sends when `item` enters `state`."""
    common = {"item_id": item.item_id, "environment": environment}
    if state == "ITEM_LOGIN_REQUIRED":
        error: dict[str, Any] = {
            "error_type": "ITEM_ERROR",
            "error_code": "ITEM_LOGIN_REQUIRED",
            "error_message": "the login details of this item have changed (credentials, "
            "MFA, or required user action) and a user login is required to update this "
            "information",
            "display_message": None,
            "request_id": "",
            "causes": [],
            "status": 400,
            "documentation_url": "",
            "suggested_action": None,
        }
        return {"webhook_type": "ITEM", "webhook_code": "ERROR", "error": error, **common}
    when = format_datetime(now + _NOTICE)
    if state == "PENDING_EXPIRATION":
        return {
            "webhook_type": "ITEM",
            "webhook_code": "PENDING_EXPIRATION",
            "consent_expiration_time": when,
            **common,
        }
    return {
        "webhook_type": "ITEM",
        "webhook_code": "PENDING_DISCONNECT",
        "reason": "INSTITUTION_TOKEN_EXPIRATION",
        "disconnect_time": when,
        **common,
    }


def repaired_webhook(item: Item, environment: str) -> dict[str, Any]:
    """The webhook Plaid sends when update mode repaired a login."""
    return {
        "webhook_type": "ITEM",
        "webhook_code": "LOGIN_REPAIRED",
        "item_id": item.item_id,
        "environment": environment,
    }
