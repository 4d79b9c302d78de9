"""Realistic response bodies for the benchmarks, built the way Plaid shapes them."""

from __future__ import annotations

import json
import uuid
from typing import Any


def _account(index: int) -> dict[str, Any]:
    return {
        "id": uuid.UUID(int=index).hex,
        "name": ["Plaid Checking", "Plaid Saving"][index % 2],
        "mask": f"{index:04d}"[-4:],
        "type": "depository",
        "subtype": ["checking", "savings"][index % 2],
        "verification_status": None,
        "class_type": None,
    }


def _event(session: int, index: int) -> dict[str, Any]:
    names = ["OPEN", "SELECT_INSTITUTION", "SUBMIT_CREDENTIALS", "TRANSITION_VIEW", "HANDOFF"]
    return {
        "event_id": str(uuid.UUID(int=session * 100 + index)),
        "event_name": names[index % len(names)],
        "timestamp": f"2024-07-29T20:2{index}:59Z",
        "event_metadata": {
            "institution_id": "ins_127989",
            "institution_name": "Bank of America",
            "request_id": f"Nnclj9HntPMu{session}{index}m",
            "view_name": "CREDENTIAL",
        },
    }


def link_session(session: int) -> dict[str, Any]:
    institution = {"institution_id": "ins_127989", "name": "Bank of America"}
    accounts = [_account(session * 10 + i) for i in range(2)]
    public_token = f"public-sandbox-{uuid.UUID(int=session)}"
    return {
        "link_session_id": str(uuid.UUID(int=1000 + session)),
        "started_at": "2024-07-29T20:22:36.522196741Z",
        "finished_at": "2024-07-29T20:24:05.330312653Z",
        "on_success": {
            "public_token": public_token,
            "metadata": {
                "institution": institution,
                "accounts": accounts,
                "link_session_id": str(uuid.UUID(int=1000 + session)),
                "transfer_status": None,
            },
        },
        "results": {
            "item_add_results": [
                {"public_token": public_token, "accounts": accounts, "institution": institution}
            ],
            # Newer than our contract (they land in `extra`), but plaid-python 46
            # requires them, as Plaid's own 1.697.4 example carries them.
            "cra_item_add_results": [],
            "cra_update_results": [],
            "bank_income_results": [],
            "payroll_income_results": [],
            "document_income_results": None,
        },
        "events": [_event(session, i) for i in range(5)],
    }


def link_token_get_body(sessions: int = 3) -> bytes:
    """A `/link/token/get` answer with `sessions` finished Link sessions (about 9 KB for 3)."""
    body = {
        "created_at": "2024-07-29T20:22:21Z",
        "expiration": "2024-07-29T20:52:22Z",
        "link_token": "link-sandbox-e7b6956c-1522-4823-85d2-c4ca74251949",
        "metadata": {
            "client_name": "Wonderwallet",
            "country_codes": ["US"],
            "initial_products": ["transactions"],
            "language": "en",
            "redirect_uri": None,
            "webhook": "https://webhook.site/dc9c138f-75de-4db1-883a-a4add4b7eb7e",
            "account_filters": {"depository": {"account_subtypes": ["checking", "savings"]}},
        },
        "link_sessions": [link_session(i) for i in range(sessions)],
        "request_id": "Pxpgzy0Wjvn99mY",
    }
    return json.dumps(body).encode()
