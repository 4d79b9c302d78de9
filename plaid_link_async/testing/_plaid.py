"""`SimulatedPlaid`: the fake's state and rules, with no HTTP.

It holds what Plaid would remember (link tokens, Hosted Link deliveries and the texts
they sent, public tokens, Items, correlation ids, webhook keys) and answers each
operation of the Link flow from a parsed request. A test may drive it directly; the
HTTP shell (`_http`) serves it, and the webhooks it emits go to whatever `send_webhook`
it was given (the fake server's deliverer).
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import attrs

from .._wire._datetimes import format_datetime
from ._ids import now, request_id
from ._items import ITEM_STATES, Item, Items, repaired_webhook, state_webhook
from ._link_delivery import HOSTED_LINK_PATH, LinkDeliveries, WebhookSink
from ._link_sessions import SESSION_LENGTH, link_session, link_webhooks
from ._messages import Outbox, SentMessage
from ._reply import PlaidReply

#: How long a public token from Link may be exchanged, as Plaid has it.
PUBLIC_TOKEN_LIFETIME: Final = datetime.timedelta(minutes=30)
TOKEN_LIFETIME: Final = datetime.timedelta(hours=4)
# Plaid gives update-mode tokens (made for an existing Item) half an hour.
UPDATE_TOKEN_LIFETIME: Final = datetime.timedelta(minutes=30)
#: The most Items one completed Link session may add (`complete_link(items=...)`).
MAX_ITEMS: Final = 100


@attrs.frozen
class LinkCompletion:
    """What `FakePlaidServer.complete_link` made: the session and its public tokens."""

    link_session_id: str
    public_tokens: list[str]
    status: str
    """`"SUCCESS"` or `"EXITED"`: the `status` of the `SESSION_FINISHED` webhook it sends."""


def _no_webhooks(url: str, payload: Mapping[str, Any]) -> None:
    pass


class SimulatedPlaid:
    """The Link flow's state and rules: what the fake server serves, without HTTP.

    Args:
        environment: the environment named in the tokens it issues.
        max_tokens: remember only this many link tokens, forgetting the oldest.
        default_webhook: the webhook URL of tokens created without one.
        send_webhook: where the webhooks it emits go (`url`, `payload`).
        base_url: the address Hosted Link URLs point at.
    """

    def __init__(
        self,
        *,
        environment: str = "sandbox",
        max_tokens: int | None = None,
        default_webhook: str | None = None,
        send_webhook: WebhookSink = _no_webhooks,
        base_url: Callable[[], str] = lambda: "http://127.0.0.1",
    ) -> None:
        if max_tokens is not None and max_tokens < 1:
            raise ValueError(f"max_tokens must be 1 or more, got {max_tokens}")
        self.environment = environment
        self.default_webhook = default_webhook
        # A long-running fake (a load test, `plaid-link fake-server`) would otherwise grow
        # by every token it issues; the oldest are forgotten first.
        self.max_tokens = max_tokens
        self.send_webhook = send_webhook
        self.base_url = base_url
        #: Phone numbers `link_profile_eligibility_check` reports a matching profile for.
        self.eligible_phone_numbers: set[str] = set()
        #: Link tokens issued, by token, oldest first: what `link_token_get` reports.
        self.tokens: dict[str, dict[str, Any]] = {}
        self.correlation_ids: dict[str, str] = {}
        #: Hosted Link deliveries of the removed `/link_delivery/create`.
        self.link_deliveries = LinkDeliveries(self._emit, self._base_url)
        self.outbox = Outbox()
        #: Public tokens from finished Link sessions, each exchangeable once.
        self.public_tokens: dict[str, dict[str, Any]] = {}
        self.items = Items()
        #: Keys `webhook_verification_key_get` serves, by key id.
        self.webhook_keys: dict[str, dict[str, Any]] = {}

    def reset(self) -> None:
        """Forget every token, delivery, message, Item, correlation id and eligible
        phone number; the webhook keys stay."""
        self.tokens.clear()
        self.correlation_ids.clear()
        self.link_deliveries.sessions.clear()
        self.outbox.clear()
        self.public_tokens.clear()
        self.items.clear()
        self.eligible_phone_numbers.clear()

    # -- what a test plays -------------------------------------------------------------

    def complete_link(
        self,
        link_token: str,
        *,
        items: int = 1,
        exited: bool = False,
        institution_id: str = "ins_109508",
        institution_name: str = "First Platypus Bank",
        accounts: Iterable[Mapping[str, Any]] | None = None,
    ) -> LinkCompletion:
        """Play a user going through Link with `link_token` (see `FakePlaidServer`)."""
        if isinstance(items, bool) or not isinstance(items, int) or not 1 <= items <= MAX_ITEMS:
            raise ValueError(f"items: must be from 1 to {MAX_ITEMS}, got {items!r}")
        record = self.tokens.get(link_token)
        if record is None:
            raise KeyError(f"unknown link token {link_token!r}")
        session_id = str(uuid.uuid4())
        started = now()
        public_tokens: list[str] = []
        if not exited:
            for _ in range(items):
                public_token = f"public-{self.environment}-{uuid.uuid4()}"
                self.public_tokens[public_token] = {
                    "expires": started + PUBLIC_TOKEN_LIFETIME,
                    "exchanged": False,
                    "link_token": link_token,
                }
                public_tokens.append(public_token)
        session = link_session(
            session_id,
            started,
            public_tokens,
            exited=exited,
            institution_id=institution_id,
            institution_name=institution_name,
            accounts=accounts,
        )
        record["link_sessions"].append(session)
        self.link_deliveries.finish(
            record, session_id, started + SESSION_LENGTH, public_tokens, exited
        )
        url = record["metadata"].get("webhook")
        if url:
            for payload in link_webhooks(
                link_token, session, public_tokens, exited=exited, environment=self.environment
            ):
                self.send_webhook(url, payload)
        item = record.get("updating")
        if item is not None and not exited:
            # Update mode done: the Item is healthy again; a login required is repaired.
            was, item.state = item.state, None
            if was == "ITEM_LOGIN_REQUIRED" and item.webhook:
                self.send_webhook(item.webhook, repaired_webhook(item, self.environment))
        return LinkCompletion(session_id, public_tokens, "EXITED" if exited else "SUCCESS")

    def set_item_state(self, access_token: str, state: str) -> None:
        """Put an Item into `state` and send its webhook (see `FakePlaidServer`)."""
        if state not in ITEM_STATES:
            raise ValueError(f"state: must be one of {', '.join(ITEM_STATES)}; got {state!r}")
        item = self.items.by_access_token(access_token)
        if item is None:
            raise KeyError("unknown access token")
        item.state = state
        if item.webhook:
            self.send_webhook(item.webhook, state_webhook(item, state, self.environment, now()))

    def open_hosted_link(self, link_delivery_session_id: str) -> None:
        """Play the user opening a delivered Hosted Link URL: the delivery becomes OPENED."""
        self.link_deliveries.open(link_delivery_session_id)

    def visit_hosted_link(self, key: str) -> bool:
        """A Hosted Link page was asked for: is it one the fake handed out? Opening a
        delivery's page marks the delivery OPENED."""
        if key in self.link_deliveries.sessions:
            self.open_hosted_link(key)
            return True
        return key in self.tokens

    def register_correlation_id(self, correlation_id: str, link_token: str) -> None:
        """Make `correlation_id` exchangeable for `link_token`."""
        self.correlation_ids[correlation_id] = link_token

    def add_webhook_key(self, jwk: Mapping[str, Any]) -> None:
        """Serve the public key `jwk` from `webhook_verification_key_get` by its `kid`."""
        self.webhook_keys[str(jwk["kid"])] = dict(jwk)

    def _emit(self, url: str, payload: Mapping[str, Any]) -> None:
        self.send_webhook(url, payload)  # late: a test may swap `send_webhook`

    def _base_url(self) -> str:
        return self.base_url()

    # -- the operations ----------------------------------------------------------------

    def answer(self, operation: str, model: Any, body: dict[str, Any]) -> dict[str, Any]:
        """Plaid's answer to a checked request of `operation`, or `PlaidReply`."""
        rule = getattr(self, f"_do_{operation}", None)
        if rule is None:  # an operation of a newer contract, not simulated yet
            raise PlaidReply(
                501, "API_ERROR", "NOT_SIMULATED", f"the fake server does not simulate {operation}"
            )
        result: dict[str, Any] = rule(model, body)
        result["request_id"] = request_id()
        return result

    def _do_link_token_create(self, model: Any, body: dict[str, Any]) -> dict[str, Any]:
        updating = None
        if body.get("access_token") is not None:
            # Update mode: the token reopens Link for that Item.
            updating = self.items.by_access_token(str(body["access_token"]))
            if updating is None:
                raise PlaidReply(
                    400,
                    "INVALID_INPUT",
                    "INVALID_ACCESS_TOKEN",
                    "provided access token is in an invalid format or does not exist",
                )
        method = (body.get("hosted_link") or {}).get("delivery_method")
        to = _recipient(body.get("user") or {}, method) if method else None
        token = f"link-{self.environment}-{uuid.uuid4()}"
        created = now()
        lifetime = UPDATE_TOKEN_LIFETIME if body.get("access_token") else TOKEN_LIFETIME
        hosted = body.get("hosted_link")
        if isinstance(hosted, dict) and hosted.get("url_lifetime_seconds"):
            lifetime = datetime.timedelta(seconds=int(hosted["url_lifetime_seconds"]))
        expiration = created + lifetime
        if self.max_tokens is not None and len(self.tokens) >= self.max_tokens:
            del self.tokens[next(iter(self.tokens))]
        self.tokens[token] = {
            "created_at": format_datetime(created),
            "expiration": format_datetime(expiration),
            "metadata": {
                "initial_products": body.get("products") or [],
                "webhook": body.get("webhook") or self.default_webhook,
                "country_codes": body["country_codes"],
                "language": body.get("language"),
                "redirect_uri": body.get("redirect_uri"),
                "client_name": body.get("client_name"),
                **{
                    key: body[key]
                    for key in ("institution_data", "account_filters", "user_token")
                    if key in body
                },
            },
            "link_sessions": [],
            "link_token": token,
            "hosted_link": isinstance(hosted, dict),
            "expires": expiration,
            "updating": updating,
        }
        result = {"link_token": token, "expiration": format_datetime(expiration)}
        if isinstance(hosted, dict):
            result["hosted_link_url"] = f"{self.base_url()}{HOSTED_LINK_PATH}{token}"
        if method:
            self._send_message(method, to, body.get("user") or {}, token, result)
        return result

    def _send_message(
        self, method: str, to: str | None, user: dict[str, Any], token: str, link: dict[str, Any]
    ) -> None:
        url = link.get("hosted_link_url") or link.get("link_delivery_url") or ""
        sent = SentMessage(
            method=method.lower(),
            to=to,
            client_user_id=user.get("client_user_id"),
            link_token=token,
            hosted_link_url=url,
            sent_at=format_datetime(now()),
        )
        self.outbox.send(sent)

    def _do_link_token_get(self, model: Any, body: dict[str, Any]) -> dict[str, Any]:
        record = self.tokens.get(model.link_token)
        if record is None:
            message = "the link token is unknown or expired"
            raise PlaidReply(400, "INVALID_INPUT", "INVALID_LINK_TOKEN", message)
        result = {
            "link_token": model.link_token,
            "created_at": record["created_at"],
            "expiration": record["expiration"],
            "metadata": record["metadata"],
        }
        if record["link_sessions"]:
            result["link_sessions"] = record["link_sessions"]
        return result

    def _do_link_profile_eligibility_check(
        self, model: Any, body: dict[str, Any]
    ) -> dict[str, Any]:
        return {"profile_matches": model.user.phone_number in self.eligible_phone_numbers}

    def _do_link_oauth_correlation_id_exchange(
        self, model: Any, body: dict[str, Any]
    ) -> dict[str, Any]:
        token = self.correlation_ids.get(model.link_correlation_id)
        if token is None:
            raise PlaidReply(
                400,
                "INVALID_INPUT",
                "INVALID_LINK_CORRELATION_ID",
                "the link_correlation_id is unknown or expired",
            )
        return {"link_token": token}

    def _do_link_delivery_create(self, model: Any, body: dict[str, Any]) -> dict[str, Any]:
        record = self._live_token(model.link_token)
        answer, method, to = self.link_deliveries.create(model, record)
        self._send_message(method, to, {}, model.link_token, answer)
        return answer

    def _do_link_delivery_get(self, model: Any, body: dict[str, Any]) -> dict[str, Any]:
        return self.link_deliveries.get(
            model.link_delivery_session_id, self.tokens, self.public_tokens, self.items
        )

    def _do_item_public_token_exchange(self, model: Any, body: dict[str, Any]) -> dict[str, Any]:
        entry = self.public_tokens.get(model.public_token)
        if entry is None or entry["exchanged"] or entry["expires"] <= now():
            raise PlaidReply(
                400,
                "INVALID_INPUT",
                "INVALID_PUBLIC_TOKEN",
                "provided public token is expired, already exchanged, or unknown; "
                "public tokens are single use and expire after 30 minutes",
            )
        item_id = request_id(37)
        access_token = f"access-{self.environment}-{uuid.uuid4()}"
        entry["exchanged"] = True
        entry["item_id"] = item_id
        made_with = self.tokens.get(entry["link_token"]) or {"metadata": {}}
        self.items.add(Item(item_id, access_token, made_with["metadata"].get("webhook")))
        return {"access_token": access_token, "item_id": item_id}

    def _do_webhook_verification_key_get(self, model: Any, body: dict[str, Any]) -> dict[str, Any]:
        key = self.webhook_keys.get(model.key_id)
        if key is None:
            raise PlaidReply(
                400,
                "INVALID_INPUT",
                "INVALID_WEBHOOK_VERIFICATION_KEY_ID",
                "the key_id is unknown",
            )
        return {"key": key}

    def _live_token(self, link_token: str) -> dict[str, Any]:
        record = self.tokens.get(link_token)
        if record is None or record["expires"] <= now():
            raise PlaidReply(
                400, "INVALID_INPUT", "INVALID_LINK_TOKEN", "the link token is unknown or expired"
            )
        return record


def _recipient(user: dict[str, Any], method: str) -> str:
    """The phone number or email address a Hosted Link delivery goes to, or Plaid's
    error when the request's user has none."""
    field = "phone_number" if method == "sms" else "email_address"
    value = user.get(field)
    if not value:
        raise PlaidReply(
            400,
            "INVALID_REQUEST",
            "MISSING_FIELDS",
            f"the following required fields are missing: user.{field} "
            f"(hosted_link.delivery_method is {method})",
        )
    text = str(value)
    pattern, shape = _RECIPIENTS[field]
    if pattern.fullmatch(text) is None:
        # What Plaid answers for a number that is no E.164 number or an address that is
        # no address: nothing is sent.
        raise PlaidReply(
            400,
            "INVALID_REQUEST",
            "INVALID_FIELD",
            f"user.{field} must be {shape}",
        )
    return text


#: What a recipient must look like: E.164 (a plus, a country code, at most 15 digits)
#: and an email address with a domain.
_RECIPIENTS: Final = {
    "phone_number": (
        re.compile(r"\+[1-9][0-9]{7,14}"),
        "a phone number in E.164 format, such as +14155550123",
    ),
    "email_address": (
        re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+"),
        "an email address, such as user@example.com",
    ),
}
