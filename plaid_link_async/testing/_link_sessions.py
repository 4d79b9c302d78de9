"""What one user's pass through Link leaves behind, as Plaid records it: the session
`link_token_get` reports, its events, and the Link webhooks it sends. Plain data, no
state: `SimulatedPlaid.complete_link` keeps the results."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from .._wire._datetimes import format_datetime
from ._ids import request_id

#: How long a user's pass through Link takes, as the fake tells it.
SESSION_LENGTH = datetime.timedelta(seconds=42)


def link_session(
    session_id: str,
    started: datetime.datetime,
    public_tokens: list[str],
    *,
    exited: bool,
    institution_id: str,
    institution_name: str,
    accounts: Iterable[Mapping[str, Any]] | None,
) -> dict[str, Any]:
    """The session `link_token_get` lists: success with `public_tokens`, or an exit."""
    finished = started + SESSION_LENGTH
    institution = {"name": institution_name, "institution_id": institution_id}
    account_list = [dict(account) for account in accounts] if accounts is not None else [account()]
    where = {"institution_id": institution_id, "institution_name": institution_name}
    events = [
        event("OPEN", started, session_id),
        event("SELECT_INSTITUTION", started, session_id, **where),
    ]
    session: dict[str, Any] = {
        "link_session_id": session_id,
        "started_at": format_datetime(started),
        "finished_at": format_datetime(finished),
        "events": events,
    }
    if exited:
        events.append(event("EXIT", finished, session_id, **where))
        session["exit"] = {
            "error": None,
            "metadata": {
                "institution": institution,
                "status": "requires_credentials",
                "link_session_id": session_id,
                "request_id": request_id(),
            },
        }
        return session
    events.append(event("HANDOFF", finished, session_id, **where))
    session["on_success"] = {
        "public_token": public_tokens[0],
        "metadata": {
            "institution": institution,
            "accounts": account_list,
            "link_session_id": session_id,
            "transfer_status": None,
        },
    }
    session["results"] = {
        "item_add_results": [
            {"public_token": token, "accounts": account_list, "institution": institution}
            for token in public_tokens
        ],
        "cra_item_add_results": [],
        "cra_update_results": [],
        "bank_income_results": [],
        "payroll_income_results": [],
        "document_income_results": None,
    }
    return session


def link_webhooks(
    link_token: str,
    session: Mapping[str, Any],
    public_tokens: list[str],
    *,
    exited: bool,
    environment: str,
) -> list[dict[str, Any]]:
    """The LINK webhooks a finished session sends, in Plaid's order."""
    common = {
        "link_session_id": session["link_session_id"],
        "link_token": link_token,
        "environment": environment,
    }
    sent = [
        {"webhook_type": "LINK", "webhook_code": "ITEM_ADD_RESULT", **common, "public_token": token}
        for token in public_tokens
    ]
    sent.append(
        {"webhook_type": "LINK", "webhook_code": "EVENTS", **common, "events": session["events"]}
    )
    sent.append(
        {
            "webhook_type": "LINK",
            "webhook_code": "SESSION_FINISHED",
            **common,
            "status": "EXITED" if exited else "SUCCESS",  # as LinkCompletion.status
            "public_tokens": public_tokens,
        }
    )
    return sent


def event(name: str, when: datetime.datetime, session_id: str, **metadata: Any) -> dict[str, Any]:
    return {
        "event_name": name,
        "timestamp": format_datetime(when),
        "event_id": str(uuid.uuid4()),
        "event_metadata": {
            "request_id": request_id(),
            "link_session_id": session_id,
            **metadata,
        },
    }


def account() -> dict[str, Any]:
    return {
        "id": request_id(37),
        "name": "Plaid Checking",
        "mask": "0000",
        "type": "depository",
        "subtype": "checking",
        "verification_status": None,
        "class_type": None,
    }
