"""The removed `/link_delivery/*` endpoints (1.762.0), which the fake keeps serving:
a delivery session per Hosted Link sent, its status as the user opens and finishes
it, and its LINK_DELIVERY webhooks."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from .._wire._datetimes import format_datetime
from ._ids import now, request_id
from ._items import Items
from ._reply import PlaidReply

#: The path under which the fake serves the Hosted Link pages it hands out.
HOSTED_LINK_PATH: Final = "/hosted-link/"

WebhookSink = Callable[[str, Mapping[str, Any]], None]


class LinkDeliveries:
    """Delivery sessions by id; `sessions` is the state, the methods are the rules."""

    def __init__(self, send_webhook: WebhookSink, base_url: Callable[[], str]) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self._send_webhook = send_webhook
        self._base_url = base_url

    def create(self, model: Any, record: dict[str, Any]) -> tuple[dict[str, Any], str, str | None]:
        """Deliver the live token `record`: the answer, and how and to whom it went."""
        if not record["hosted_link"]:
            raise PlaidReply(
                400,
                "INVALID_REQUEST",
                "INVALID_FIELD",
                "link_token must be created with hosted_link to be delivered",
            )
        session_id = str(uuid.uuid4())
        self.sessions[session_id] = {
            "link_token": model.link_token,
            "status": "CREATED",
            "created_at": format_datetime(now()),
            "completed_at": None,
            "public_tokens": [],
        }
        methods = (
            model.options.recipient.communication_methods
            if model.options and model.options.recipient
            else None
        )
        method = str(methods[0].method) if methods and methods[0].method else "SMS"
        self._webhook(
            record,
            "DELIVERY_STATUS",
            session_id,
            link_delivery_metadata={"communication_method": method, "delivery_status": "SUCCESS"},
        )
        answer = {
            "link_delivery_url": f"{self._base_url()}{HOSTED_LINK_PATH}{session_id}",
            "link_delivery_session_id": session_id,
        }
        return answer, method, methods[0].address if methods else None

    def get(
        self,
        session_id: str,
        tokens: Mapping[str, dict[str, Any]],
        public_tokens: Mapping[str, dict[str, Any]],
        items: Items,
    ) -> dict[str, Any]:
        delivery = self.sessions.get(session_id)
        if delivery is None:
            raise PlaidReply(
                400,
                "INVALID_INPUT",
                "INVALID_LINK_DELIVERY_SESSION_ID",
                "the link_delivery_session_id is unknown",
            )
        record = tokens.get(delivery["link_token"])
        if delivery["status"] in ("CREATED", "OPENED") and (
            record is None or record["expires"] <= now()
        ):
            delivery["status"] = "EXPIRED"
        result = {
            "status": delivery["status"],
            "created_at": delivery["created_at"],
            "completed_at": delivery["completed_at"],
        }
        exchanged = [
            public_tokens[token]
            for token in delivery["public_tokens"]
            if public_tokens.get(token, {}).get("exchanged")
        ]
        if exchanged:
            result["item_ids"] = [entry["item_id"] for entry in exchanged]
            result["access_tokens"] = [
                items.access_token_of(entry["item_id"]) for entry in exchanged
            ]
        return result

    def open(self, session_id: str) -> None:
        delivery = self.sessions[session_id]
        if delivery["status"] == "CREATED":
            delivery["status"] = "OPENED"

    def finish(
        self,
        record: dict[str, Any],
        link_session_id: str,
        finished: datetime.datetime,
        public_tokens: list[str],
        exited: bool,
    ) -> None:
        """The user finished Link with the token of `record`: its deliveries end."""
        for delivery_id, delivery in self.sessions.items():
            if delivery["link_token"] != record["link_token"] or delivery["status"] == "EXPIRED":
                continue
            delivery["status"] = "EXITED" if exited else "COMPLETED"
            delivery["completed_at"] = format_datetime(finished)
            delivery["public_tokens"] = list(public_tokens)
            self._webhook(
                record,
                "LINK_CALLBACK",
                delivery_id,
                link_callback_metadata={
                    "callback_type": "ON_EXIT" if exited else "ON_SUCCESS",
                    "link_session_id": link_session_id,
                    "request_id": request_id(),
                },
            )

    def _webhook(self, record: dict[str, Any], code: str, delivery_id: str, **fields: Any) -> None:
        url = record["metadata"].get("webhook")
        if url:
            self._send_webhook(
                url,
                {
                    "webhook_type": "LINK_DELIVERY",
                    "webhook_code": code,
                    "link_delivery_session_id": delivery_id,
                    "timestamp": format_datetime(now()),
                    **fields,
                },
            )
