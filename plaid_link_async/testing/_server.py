"""`FakePlaidServer`: the Link flow on 127.0.0.1, stateful, with faults and a request log.

Routing and request checks come from the generated operation table (`_endpoints`); each
operation's behaviour is a `_do_<operation>` method. An operation a newer contract adds
is served, until it gets a method, with an error saying the fake does not simulate it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime
import json
import random
import socket
import string
import struct
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs
from aiohttp import web

from .._config import is_loopback
from .._converter import from_dict
from .._datetimes import format_datetime
from .._endpoints import ENDPOINTS
from .._exceptions import PlaidLinkError, RequestValidationError, UnexpectedResponseError
from .._redact import MASK
from .._validation import validate
from . import _control as control
from . import _loops as loops
from ._deliveries import Deliverer, WebhookDelivery, WebhookFault
from ._faults import Fault, FaultKind
from ._items import ITEM_STATES, Item, Items, repaired_webhook, state_webhook
from ._messages import Outbox, SentMessage
from ._signing import SignedWebhook, WebhookSigner

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

#: How long a public token from Link may be exchanged, as Plaid has it.
PUBLIC_TOKEN_LIFETIME: Final = datetime.timedelta(minutes=30)
#: The path under which the fake serves the Hosted Link pages it hands out.
HOSTED_LINK_PATH: Final = "/hosted-link/"

#: Credentials the fake accepts unless told otherwise.
DEFAULT_CLIENT_ID: Final = "test-client-id"
DEFAULT_SECRET: Final = "test-secret"
API_VERSION: Final = "2020-09-14"
ANY_ENDPOINT: Final = "*"

TOKEN_LIFETIME: Final = datetime.timedelta(hours=4)
# Plaid gives update-mode tokens (made for an existing Item) half an hour.
UPDATE_TOKEN_LIFETIME: Final = datetime.timedelta(minutes=30)
#: The most Items one completed Link session may add (`complete_link(items=...)`).
MAX_ITEMS: Final = 100

_ROUTES: Final = {endpoint.path: name for name, endpoint in ENDPOINTS.items()}
_ID_ALPHABET: Final = string.ascii_letters + string.digits
_CREDENTIAL_FIELDS: Final = ("client_id", "secret")


@attrs.frozen
class LinkCompletion:
    """What `FakePlaidServer.complete_link` made: the session and its public tokens."""

    link_session_id: str
    public_tokens: list[str]
    status: str
    """`"SUCCESS"` or `"EXITED"`: the `status` of the `SESSION_FINISHED` webhook it sends."""


@attrs.frozen
class RecordedRequest:
    """One request as the fake received it; the secret header is masked."""

    endpoint: str | None
    path: str
    headers: Mapping[str, str]
    body: Any
    received_at: float = 0.0
    """When it arrived, in seconds since the epoch (`time.time()`)."""


class _Reply(Exception):
    """Raised inside a handler to answer with a Plaid error body."""

    def __init__(self, status: int, error_type: str, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.error_code = error_code
        self.message = message


class FakePlaidServer:
    """Plaid's Link endpoints, served by aiohttp on 127.0.0.1, for tests and demos.

    `async with FakePlaidServer() as fake:` serves on a free port at `fake.url`. It checks
    credentials, the `Plaid-Version` header and request bodies against the contract,
    remembers the link tokens it issues, and can be told to fail (`inject`).

    Args:
        client_id: the client id it accepts.
        secret: the secret it accepts.
        host: the address to bind; keep it on loopback.
        port: the port to bind; 0 picks a free one (see `url`).
        latency: seconds every answer waits before it is sent.
        environment: the environment named in the tokens it issues (`link-sandbox-...`).
        max_recorded: keep only this many requests in `requests` (None: all of them).
        max_tokens: remember only this many tokens, forgetting the oldest (None: all).
        webhook_time_scale: how much faster than Plaid's the webhook retry schedule
            runs (1.0: Plaid's own, 30 s to 4 h apart for a day; 0.001 for tests).
        default_webhook: the webhook URL of tokens created without one, so that a
            receiver gets webhooks from any client (`fake-server --webhook-url`).
    """

    def __init__(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        secret: str = DEFAULT_SECRET,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        environment: str = "sandbox",
        max_recorded: int | None = None,
        max_tokens: int | None = None,
        webhook_time_scale: float = 1.0,
        default_webhook: str | None = None,
        allow_remote: bool = False,
        rate_limits: Mapping[str, int] | None = None,
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise ValueError(
                f"host {host!r} is not a loopback address: the fake would serve, and take "
                "control requests from, other machines. Pass allow_remote=True (the CLI's "
                "--allow-remote) only on a network you trust"
            )
        if max_recorded is not None and max_recorded < 0:
            raise ValueError(f"max_recorded must be 0 or more, got {max_recorded}")
        if max_tokens is not None and max_tokens < 1:
            raise ValueError(f"max_tokens must be 1 or more, got {max_tokens}")
        self.client_id = client_id
        self._secret = secret
        self.host = host
        self.port = port
        #: Seconds every answer waits before it is sent.
        self.latency = latency
        self.environment = environment
        #: Every request received, oldest first; only the last `max_recorded` if set.
        self.requests: list[RecordedRequest] = []
        self._max_recorded = max_recorded
        # A long-running fake (a load test, `plaid-link fake-server`) would otherwise grow
        # by every token it issues; the oldest are forgotten first.
        self._max_tokens = max_tokens
        #: Phone numbers `link_profile_eligibility_check` reports a matching profile for.
        self.eligible_phone_numbers: set[str] = set()
        self._tokens: dict[str, dict[str, Any]] = {}
        self._correlation_ids: dict[str, str] = {}
        # Hosted Link deliveries by session id; public tokens from finished sessions;
        # the Items they were exchanged for; keys `webhook_verification_key_get` serves.
        self._deliveries: dict[str, dict[str, Any]] = {}
        self._outbox = Outbox()
        self._public_tokens: dict[str, dict[str, Any]] = {}
        self._items = Items()
        self._webhook_keys: dict[str, dict[str, Any]] = {}
        self._signer: WebhookSigner | None = None
        self._webhook_time_scale = webhook_time_scale
        self.default_webhook = default_webhook
        self._deliverer: Deliverer | None = None
        self._webhook_faults: list[WebhookFault] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._faults: dict[str, collections.deque[Fault]] = collections.defaultdict(
            collections.deque
        )
        self._rate_limits: dict[str, int] = {}
        self._recent: dict[tuple[str, str], collections.deque[float]] = {}
        self._rate_limited: collections.Counter[str] = collections.Counter()
        self.set_rate_limits(rate_limits or {})
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    def __repr__(self) -> str:
        where = self.url if self._runner is not None else "not started"
        return f"<FakePlaidServer {where}>"

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL to give `AsyncLinkSession(base_url=...)`."""
        if self._runner is None:
            raise RuntimeError("FakePlaidServer is not started: use `async with` or start()")
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Bind and serve; with port 0 a free port is picked and stored in `port`."""
        if self._runner is not None:
            return
        self._closing = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        server = site._server
        if self.port == 0 and isinstance(server, asyncio.base_events.Server):
            self.port = server.sockets[0].getsockname()[1]
        self._runner = runner
        self._loop = asyncio.get_running_loop()
        loops.serving(self.host, self.port, self._loop)

    async def close(self) -> None:
        """Stop serving; hanging requests are released first. Safe to call twice."""
        runner, self._runner = self._runner, None
        loops.stopped(self.host, self.port)
        deliverer, self._deliverer = self._deliverer, None
        if deliverer is not None:
            await deliverer.close()
        if runner is not None:
            self._closing.set()
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- test controls -----------------------------------------------------------------

    def inject(self, endpoint: str, *faults: Fault) -> None:
        """Queue `faults` for `endpoint` (a method name, or "*" for any); each is used once."""
        if endpoint != ANY_ENDPOINT and endpoint not in ENDPOINTS:
            known = ", ".join(sorted(ENDPOINTS))
            raise ValueError(f"unknown endpoint {endpoint!r}: use one of {known} or '*'")
        self._faults[endpoint].extend(faults)

    def set_rate_limits(self, limits: Mapping[str, int]) -> None:
        """Answer calls of an operation beyond `limits[operation]` a second (per client
        id, over the last second) as Plaid does: 429 `RATE_LIMIT_EXCEEDED`. An empty
        mapping lifts every limit.

        Raises:
            ValueError: an unknown operation, or a limit that is no positive integer.
        """
        for endpoint, limit in limits.items():
            if endpoint not in ENDPOINTS:
                raise ValueError(f"unknown endpoint {endpoint!r}: use one of {sorted(ENDPOINTS)}")
            if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000:
                raise ValueError(f"{endpoint}: a limit is a whole number of calls a second")
        self._rate_limits = dict(limits)
        self._recent.clear()

    def rate_limited(self) -> dict[str, int]:
        """How many calls of each operation the rate limits answered 429 so far."""
        return dict(self._rate_limited)

    def sent_messages(self) -> list[SentMessage]:
        """Every Hosted Link text and email sent so far, oldest first (the last 100,000):
        one per token created with `hosted_link.delivery_method`, and one per
        `/link_delivery/create` call."""
        return self._outbox.sent()

    def pending_faults(self, endpoint: str = ANY_ENDPOINT) -> int:
        """How many queued faults `endpoint` has not used yet."""
        return len(self._faults.get(endpoint, ()))

    def requests_for(self, endpoint: str) -> list[RecordedRequest]:
        """The recorded requests of one endpoint, oldest first."""
        return [request for request in self.requests if request.endpoint == endpoint]

    def reset(self) -> None:
        """Forget everything a test did: recorded requests, queued faults (of calls and
        of webhooks), the rate limits' counts (not the limits), link tokens, Hosted Link
        deliveries and the messages they sent, public tokens, Items, correlation ids,
        eligible phone numbers and webhook delivery attempts; webhook deliveries under
        way or waiting to retry are stopped. The server's own settings (credentials,
        latency, its signing key and the keys added) stay."""
        self.requests.clear()
        self._faults.clear()
        self._webhook_faults.clear()
        self._recent.clear()
        self._rate_limited.clear()
        if self._deliverer is not None:
            self._deliverer.cancel()
        self._tokens.clear()
        self._correlation_ids.clear()
        self._deliveries.clear()
        self._outbox.clear()
        self._public_tokens.clear()
        self._items.clear()
        self.eligible_phone_numbers.clear()

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
        """Play a user going through Link with `link_token`, as Plaid records it.

        Adds a Link session to what `link_token_get` reports: on success, `items`
        Items each with a public token in `results.item_add_results` (the first also in
        the older `on_success`), and the session's events; with `exited`, an exit and
        no Item. A Hosted Link delivery of the token becomes COMPLETED (or EXITED). The
        public tokens exchange once each with `item_public_token_exchange`.

        Raises:
            KeyError: the fake never issued `link_token`.
            ValueError: `items` is not from 1 to `MAX_ITEMS` (100).
        """
        if isinstance(items, bool) or not isinstance(items, int) or not 1 <= items <= MAX_ITEMS:
            raise ValueError(f"items: must be from 1 to {MAX_ITEMS}, got {items!r}")
        record = self._tokens.get(link_token)
        if record is None:
            raise KeyError(f"unknown link token {link_token!r}")
        session_id = str(uuid.uuid4())
        started = _now()
        finished = started + datetime.timedelta(seconds=42)
        institution = {"name": institution_name, "institution_id": institution_id}
        account_list = (
            [dict(account) for account in accounts] if accounts is not None else [_account()]
        )
        where = {"institution_id": institution_id, "institution_name": institution_name}
        events = [
            self._event("OPEN", started, session_id),
            self._event("SELECT_INSTITUTION", started, session_id, **where),
        ]
        session: dict[str, Any] = {
            "link_session_id": session_id,
            "started_at": format_datetime(started),
            "finished_at": format_datetime(finished),
            "events": events,
        }
        public_tokens: list[str] = []
        if exited:
            events.append(self._event("EXIT", finished, session_id, **where))
            session["exit"] = {
                "error": None,
                "metadata": {
                    "institution": institution,
                    "status": "requires_credentials",
                    "link_session_id": session_id,
                    "request_id": _request_id(),
                },
            }
        else:
            events.append(self._event("HANDOFF", finished, session_id, **where))
            for _ in range(max(1, items)):
                public_token = f"public-{self.environment}-{uuid.uuid4()}"
                self._public_tokens[public_token] = {
                    "expires": started + PUBLIC_TOKEN_LIFETIME,
                    "exchanged": False,
                    "link_token": link_token,
                }
                public_tokens.append(public_token)
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
        record["link_sessions"].append(session)
        for delivery_id, delivery in self._deliveries.items():
            if delivery["link_token"] == link_token and delivery["status"] != "EXPIRED":
                delivery["status"] = "EXITED" if exited else "COMPLETED"
                delivery["completed_at"] = format_datetime(finished)
                delivery["public_tokens"] = list(public_tokens)
                self._send_delivery_webhook(
                    record,
                    "LINK_CALLBACK",
                    delivery_id,
                    link_callback_metadata={
                        "callback_type": "ON_EXIT" if exited else "ON_SUCCESS",
                        "link_session_id": session_id,
                        "request_id": _request_id(),
                    },
                )
        self._send_link_webhooks(record, session, public_tokens, exited)
        item = record.get("updating")
        if item is not None and not exited:
            # Update mode done: the Item is healthy again; a login required is repaired.
            was, item.state = item.state, None
            if was == "ITEM_LOGIN_REQUIRED" and item.webhook:
                self.send_webhook(item.webhook, repaired_webhook(item, self.environment))
        return LinkCompletion(session_id, public_tokens, "EXITED" if exited else "SUCCESS")

    def _send_delivery_webhook(
        self, record: dict[str, Any], code: str, delivery_id: str, **fields: Any
    ) -> None:
        url = record["metadata"].get("webhook")
        if url:
            self.send_webhook(
                url,
                {
                    "webhook_type": "LINK_DELIVERY",
                    "webhook_code": code,
                    "link_delivery_session_id": delivery_id,
                    "timestamp": format_datetime(_now()),
                    **fields,
                },
            )

    def add_link_session(
        self,
        link_token: str,
        *,
        institution_id: str = "ins_109508",
        institution_name: str = "First Platypus Bank",
        accounts: Iterable[Mapping[str, Any]] | None = None,
    ) -> str:
        """`complete_link` with one Item; returns its public token (the 0.1.0 name)."""
        completion = self.complete_link(
            link_token,
            institution_id=institution_id,
            institution_name=institution_name,
            accounts=accounts,
        )
        return completion.public_tokens[0]

    def set_item_state(self, access_token: str, state: str) -> None:
        """Put the Item of `access_token` into `state`, one of `ITEM_STATES`
        (`ITEM_LOGIN_REQUIRED`, `PENDING_EXPIRATION`, `PENDING_DISCONNECT`), and send
        the webhook Plaid sends for it (`ITEM` / `ERROR`, `PENDING_EXPIRATION`,
        `PENDING_DISCONNECT`) to the webhook URL of the token it was made with.
        Completing an update-mode token for the Item (a link token created with its
        `access_token`) clears the state, and repairs a login with `LOGIN_REPAIRED`.

        Raises:
            KeyError: the fake never issued `access_token`.
            ValueError: `state` is not one of `ITEM_STATES`.
        """
        if state not in ITEM_STATES:
            raise ValueError(f"state: must be one of {', '.join(ITEM_STATES)}; got {state!r}")
        item = self._items.by_access_token(access_token)
        if item is None:
            raise KeyError("unknown access token")
        item.state = state
        if item.webhook:
            self.send_webhook(item.webhook, state_webhook(item, state, self.environment, _now()))

    def open_hosted_link(self, link_delivery_session_id: str) -> None:
        """Play the user opening a delivered Hosted Link URL: the delivery becomes OPENED."""
        delivery = self._deliveries[link_delivery_session_id]
        if delivery["status"] == "CREATED":
            delivery["status"] = "OPENED"

    def add_webhook_key(self, jwk: Mapping[str, Any]) -> None:
        """Serve the public key `jwk` from `webhook_verification_key_get` by its `kid`."""
        self._webhook_keys[str(jwk["kid"])] = dict(jwk)

    @property
    def webhook_signer(self) -> WebhookSigner:
        """The fake's own ES256 key, made on first use; `webhook_verification_key_get`
        serves its public half. Needs the `webhooks` extra."""
        if self._signer is None:
            self._signer = WebhookSigner()
            self.add_webhook_key(self._signer.jwk())
        return self._signer

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every webhook delivery attempt so far, oldest first (retries included)."""
        return self._deliverer.deliveries if self._deliverer is not None else []

    def inject_webhook(self, *faults: WebhookFault) -> None:
        """Queue `faults` for the next webhook deliveries, one each, in order."""
        self._webhook_faults.extend(faults)

    async def webhooks_settled(self, timeout: float = 10.0) -> None:
        """Wait until every webhook has been answered 200 or given up on."""
        if self._deliverer is not None:
            await self._deliverer.settle(timeout)

    def send_webhook(self, url: str, payload: Mapping[str, Any]) -> None:
        """Deliver `payload`, signed, to `url` as Plaid would: retried until a 200.

        Only loopback URLs are sent to (the fake never reaches off the machine); any
        other is recorded as an attempt with the error `not sent: not loopback`.
        Safe to call from any thread.
        """
        if self._loop is None:
            raise RuntimeError("FakePlaidServer is not started")
        if self._deliverer is None:
            try:
                signer = self.webhook_signer
            except PlaidLinkError:  # no `webhooks` extra: nothing can be signed or sent
                return
            self._deliverer = Deliverer(signer, self._webhook_time_scale, self._webhook_faults)
        deliverer = self._deliverer
        if not _is_loopback_url(url):
            deliverer.deliveries.append(
                WebhookDelivery(
                    url,
                    str(payload.get("webhook_type")),
                    str(payload.get("webhook_code")),
                    1,
                    b"",
                    None,
                    "not sent: not loopback",
                )
            )
            return
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is self._loop:
            deliverer.send(url, dict(payload))
        else:  # another thread (a sync test): hand it to the fake's own loop
            self._loop.call_soon_threadsafe(deliverer.send, url, dict(payload))

    def _send_link_webhooks(
        self,
        record: dict[str, Any],
        session: dict[str, Any],
        public_tokens: list[str],
        exited: bool,
    ) -> None:
        url = record["metadata"].get("webhook")
        if not url:
            return
        common = {
            "link_session_id": session["link_session_id"],
            "link_token": record["link_token"],
            "environment": self.environment,
        }
        for token in public_tokens:
            self.send_webhook(
                url,
                {
                    "webhook_type": "LINK",
                    "webhook_code": "ITEM_ADD_RESULT",
                    **common,
                    "public_token": token,
                },
            )
        self.send_webhook(
            url,
            {
                "webhook_type": "LINK",
                "webhook_code": "EVENTS",
                **common,
                "events": session["events"],
            },
        )
        self.send_webhook(
            url,
            {
                "webhook_type": "LINK",
                "webhook_code": "SESSION_FINISHED",
                **common,
                "status": "EXITED" if exited else "SUCCESS",  # as LinkCompletion.status
                "public_tokens": public_tokens,
            },
        )

    def sign_webhook(
        self, payload: Mapping[str, Any] | bytes, *, iat: float | None = None
    ) -> SignedWebhook:
        """A webhook body and its headers, signed exactly as Plaid signs them, for
        unit-testing a receiver without running a flow. `iat` backdates it."""
        return self.webhook_signer.sign(payload, iat=iat)

    def register_correlation_id(self, correlation_id: str, link_token: str) -> None:
        """Make `correlation_id` exchangeable for `link_token`."""
        self._correlation_ids[correlation_id] = link_token

    def link_tokens(self) -> list[str]:
        """The link tokens issued so far, oldest first."""
        return list(self._tokens)

    # -- serving -----------------------------------------------------------------------

    def _record(self, endpoint: str | None, request: web.Request, body: Any) -> None:
        self.requests.append(
            RecordedRequest(
                endpoint=endpoint,
                path=request.path,
                headers={
                    key: MASK if key.lower() == "plaid-secret" else value
                    for key, value in request.headers.items()
                },
                body=_mask_body_secret(body),
                received_at=time.time(),
            )
        )
        if self._max_recorded is not None and len(self.requests) > self._max_recorded:
            # A list, not a deque: tests slice it and compare it to lists.
            del self.requests[: len(self.requests) - self._max_recorded]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith(control.PREFIX):
            return await control.handle(self, request)
        if request.method == "GET" and request.path.startswith(HOSTED_LINK_PATH):
            return self._hosted_link_page(request.path.removeprefix(HOSTED_LINK_PATH))
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
        endpoint = _ROUTES.get(request.path)
        if self._max_recorded != 0:
            self._record(endpoint, request, body)
        if endpoint is not None and self._over_limit(endpoint, request):
            self._rate_limited[endpoint] += 1
            return self._error(
                429, "RATE_LIMIT_EXCEEDED", "RATE_LIMIT", f"too many {endpoint} calls a second"
            )
        fault = self._next_fault(endpoint)
        delay = self.latency
        if fault is not None and fault.kind == FaultKind.LATENCY:
            delay += fault.seconds or 0.0
        if delay > 0:
            await asyncio.sleep(delay)
        if fault is not None and fault.kind not in (FaultKind.LATENCY, FaultKind.LOST_ANSWER):
            return await self._fault(request, fault, endpoint)
        try:
            answer = self._json(200, self._serve(request, endpoint, body))
        except _Reply as reply:
            answer = self._error(reply.status, reply.error_type, reply.error_code, reply.message)
        if fault is not None and fault.kind == FaultKind.LOST_ANSWER:
            _reset(request)
            raise asyncio.CancelledError  # done, and nothing may be written on a reset
        return answer

    def _over_limit(self, endpoint: str, request: web.Request) -> bool:
        limit = self._rate_limits.get(endpoint)
        if limit is None:
            return False
        key = (request.headers.get("PLAID-CLIENT-ID", ""), endpoint)
        recent = self._recent.setdefault(key, collections.deque())
        now = time.monotonic()
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        if len(recent) >= limit:
            return True
        recent.append(now)
        return False

    def _next_fault(self, endpoint: str | None) -> Fault | None:
        for key in (endpoint, ANY_ENDPOINT):
            queue = self._faults.get(key) if key is not None else None
            if queue:
                return queue.popleft()
        return None

    async def _fault(
        self, request: web.Request, fault: Fault, endpoint: str | None
    ) -> web.StreamResponse:
        kind = fault.kind
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        if kind == FaultKind.PLAID_ERROR:
            return self._error(
                fault.status,
                fault.error_type or "API_ERROR",
                fault.error_code or "INTERNAL_SERVER_ERROR",
                fault.error_message or "",
                headers=headers,
            )
        if kind == FaultKind.PROXY_ERROR:
            page = (
                f"<html><head><title>{fault.status} Bad Gateway</title></head>"
                f"<body><center><h1>{fault.status} Bad Gateway</h1></center></body></html>"
            )
            return web.Response(
                status=fault.status, text=page, content_type="text/html", headers=headers
            )
        if kind == FaultKind.CONNECTION_RESET:
            _reset(request)
            raise asyncio.CancelledError  # nothing may be written on a reset connection
        if kind == FaultKind.HANG:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.seconds)
            return self._error(503, "API_ERROR", "INTERNAL_SERVER_ERROR", "hung on purpose")
        if kind == FaultKind.MALFORMED_JSON:
            return web.Response(
                status=fault.status,
                body=b'{"link_token": "link-sandbox-',
                content_type="application/json",
            )
        if kind == FaultKind.EMPTY_BODY:
            return web.Response(status=fault.status, body=b"", content_type="application/json")
        assert kind == FaultKind.WRONG_SHAPE
        return self._json(200, {"unexpected": True, "request_id": _request_id()})

    def _serve(self, request: web.Request, endpoint: str | None, body: Any) -> dict[str, Any]:
        if endpoint is None or request.method != "POST":
            where = f"{request.method} {request.path}"
            raise _Reply(404, "INVALID_REQUEST", "NOT_FOUND", f"no such endpoint: {where}")
        self._check_headers(request, body)
        model = self._parse(endpoint, body)
        handler = getattr(self, f"_do_{endpoint}", None)
        if handler is None:  # an operation of a newer contract, not simulated yet
            raise _Reply(
                501, "API_ERROR", "NOT_SIMULATED", f"the fake server does not simulate {endpoint}"
            )
        result: dict[str, Any] = handler(model, body)
        result["request_id"] = _request_id()
        return result

    def _check_headers(self, request: web.Request, body: Any) -> None:
        version = request.headers.get("Plaid-Version")
        if version != API_VERSION:
            raise _Reply(
                400,
                "INVALID_REQUEST",
                "INVALID_HEADERS" if version is None else "INCOMPATIBLE_API_VERSION",
                f"the Plaid-Version header must be {API_VERSION}, got {version!r}",
            )
        # Plaid also takes the credentials in the body; the headers win when both are there.
        fields = body if isinstance(body, dict) else {}
        client_id = request.headers.get("PLAID-CLIENT-ID") or fields.get("client_id")
        secret = request.headers.get("PLAID-SECRET") or fields.get("secret")
        missing = [
            name for name, value in (("client_id", client_id), ("secret", secret)) if not value
        ]
        if missing:
            raise _Reply(
                400,
                "INVALID_REQUEST",
                "MISSING_FIELDS",
                "the following required fields are missing: " + ", ".join(missing),
            )
        if client_id != self.client_id or secret != self._secret:
            raise _Reply(
                400,
                "INVALID_INPUT",
                "INVALID_API_KEYS",
                "invalid client_id or secret provided",
            )

    def _parse(self, endpoint: str, body: Any) -> Any:
        if not isinstance(body, dict):
            raise _Reply(
                400, "INVALID_REQUEST", "INVALID_BODY", "the request body must be a JSON object"
            )
        from .. import models

        cls = getattr(models, ENDPOINTS[endpoint].request)
        fields = {key: value for key, value in body.items() if key not in _CREDENTIAL_FIELDS}
        try:
            model = from_dict(cls, fields)
        except UnexpectedResponseError as error:
            code = "MISSING_FIELDS" if "missing" in error.message else "INVALID_FIELD"
            raise _Reply(400, "INVALID_REQUEST", code, f"{error.path}: {error.message}") from None
        if model.extra:
            raise _Reply(
                400,
                "INVALID_REQUEST",
                "UNKNOWN_FIELDS",
                "the following fields are not recognized by this endpoint: "
                + ", ".join(sorted(model.extra)),
            )
        try:
            # Strict, as Plaid is: a value it does not know is an INVALID_FIELD.
            validate(model, strict=True)
        except RequestValidationError as error:
            message = "; ".join(map(str, error.errors))
            raise _Reply(400, "INVALID_REQUEST", "INVALID_FIELD", message) from None
        return model

    # -- the endpoints -----------------------------------------------------------------

    def _do_link_token_create(self, model: Any, body: dict[str, Any]) -> dict[str, Any]:
        updating = None
        if body.get("access_token") is not None:
            # Update mode: the token reopens Link for that Item.
            updating = self._items.by_access_token(str(body["access_token"]))
            if updating is None:
                raise _Reply(
                    400,
                    "INVALID_INPUT",
                    "INVALID_ACCESS_TOKEN",
                    "provided access token is in an invalid format or does not exist",
                )
        method = (body.get("hosted_link") or {}).get("delivery_method")
        to = _recipient(body.get("user") or {}, method) if method else None
        token = f"link-{self.environment}-{uuid.uuid4()}"
        created = _now()
        lifetime = UPDATE_TOKEN_LIFETIME if body.get("access_token") else TOKEN_LIFETIME
        hosted = body.get("hosted_link")
        if isinstance(hosted, dict) and hosted.get("url_lifetime_seconds"):
            lifetime = datetime.timedelta(seconds=int(hosted["url_lifetime_seconds"]))
        expiration = created + lifetime
        if self._max_tokens is not None and len(self._tokens) >= self._max_tokens:
            del self._tokens[next(iter(self._tokens))]
        self._tokens[token] = {
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
            result["hosted_link_url"] = f"{self.url}{HOSTED_LINK_PATH}{token}"
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
            sent_at=format_datetime(_now()),
        )
        self._outbox.send(sent)

    def _do_link_token_get(self, model: Any, body: dict[str, Any]) -> dict[str, Any]:
        record = self._tokens.get(model.link_token)
        if record is None:
            message = "the link token is unknown or expired"
            raise _Reply(400, "INVALID_INPUT", "INVALID_LINK_TOKEN", message)
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
        token = self._correlation_ids.get(model.link_correlation_id)
        if token is None:
            raise _Reply(
                400,
                "INVALID_INPUT",
                "INVALID_LINK_CORRELATION_ID",
                "the link_correlation_id is unknown or expired",
            )
        return {"link_token": token}

    def _do_link_delivery_create(self, model: Any, body: dict[str, Any]) -> dict[str, Any]:
        record = self._token_record(model.link_token)
        if not record["hosted_link"]:
            raise _Reply(
                400,
                "INVALID_REQUEST",
                "INVALID_FIELD",
                "link_token must be created with hosted_link to be delivered",
            )
        session_id = str(uuid.uuid4())
        self._deliveries[session_id] = {
            "link_token": model.link_token,
            "status": "CREATED",
            "created_at": format_datetime(_now()),
            "completed_at": None,
            "public_tokens": [],
        }
        methods = (
            model.options.recipient.communication_methods
            if model.options and model.options.recipient
            else None
        )
        method = str(methods[0].method) if methods and methods[0].method else "SMS"
        self._send_delivery_webhook(
            record,
            "DELIVERY_STATUS",
            session_id,
            link_delivery_metadata={"communication_method": method, "delivery_status": "SUCCESS"},
        )
        answer = {
            "link_delivery_url": f"{self.url}{HOSTED_LINK_PATH}{session_id}",
            "link_delivery_session_id": session_id,
        }
        to = methods[0].address if methods else None
        self._send_message(method, to, {}, model.link_token, answer)
        return answer

    def _do_link_delivery_get(self, model: Any, body: dict[str, Any]) -> dict[str, Any]:
        delivery = self._deliveries.get(model.link_delivery_session_id)
        if delivery is None:
            raise _Reply(
                400,
                "INVALID_INPUT",
                "INVALID_LINK_DELIVERY_SESSION_ID",
                "the link_delivery_session_id is unknown",
            )
        record = self._tokens.get(delivery["link_token"])
        if delivery["status"] in ("CREATED", "OPENED") and (
            record is None or record["expires"] <= _now()
        ):
            delivery["status"] = "EXPIRED"
        result = {
            "status": delivery["status"],
            "created_at": delivery["created_at"],
            "completed_at": delivery["completed_at"],
        }
        exchanged = [
            self._public_tokens[token]
            for token in delivery["public_tokens"]
            if self._public_tokens.get(token, {}).get("exchanged")
        ]
        if exchanged:
            result["item_ids"] = [entry["item_id"] for entry in exchanged]
            result["access_tokens"] = [
                self._items.access_token_of(entry["item_id"]) for entry in exchanged
            ]
        return result

    def _do_item_public_token_exchange(self, model: Any, body: dict[str, Any]) -> dict[str, Any]:
        entry = self._public_tokens.get(model.public_token)
        if entry is None or entry["exchanged"] or entry["expires"] <= _now():
            raise _Reply(
                400,
                "INVALID_INPUT",
                "INVALID_PUBLIC_TOKEN",
                "provided public token is expired, already exchanged, or unknown; "
                "public tokens are single use and expire after 30 minutes",
            )
        item_id = _request_id(37)
        access_token = f"access-{self.environment}-{uuid.uuid4()}"
        entry["exchanged"] = True
        entry["item_id"] = item_id
        made_with = self._tokens.get(entry["link_token"]) or {"metadata": {}}
        self._items.add(Item(item_id, access_token, made_with["metadata"].get("webhook")))
        return {"access_token": access_token, "item_id": item_id}

    def _do_webhook_verification_key_get(self, model: Any, body: dict[str, Any]) -> dict[str, Any]:
        key = self._webhook_keys.get(model.key_id)
        if key is None:
            raise _Reply(
                400,
                "INVALID_INPUT",
                "INVALID_WEBHOOK_VERIFICATION_KEY_ID",
                "the key_id is unknown",
            )
        return {"key": key}

    def _token_record(self, link_token: str) -> dict[str, Any]:
        record = self._tokens.get(link_token)
        if record is None or record["expires"] <= _now():
            raise _Reply(
                400, "INVALID_INPUT", "INVALID_LINK_TOKEN", "the link token is unknown or expired"
            )
        return record

    def _hosted_link_page(self, key: str) -> web.Response:
        if key in self._deliveries:
            self.open_hosted_link(key)
        elif key not in self._tokens:
            return web.Response(status=404, text="unknown Hosted Link session")
        return web.Response(
            text="<html><body>Fake Hosted Link</body></html>", content_type="text/html"
        )

    # -- answers -----------------------------------------------------------------------

    @staticmethod
    def _json(status: int, data: Any, headers: Mapping[str, str] | None = None) -> web.Response:
        return web.Response(
            status=status,
            body=json.dumps(data, separators=(",", ":")).encode(),
            content_type="application/json",
            headers=headers,
        )

    def _error(
        self,
        status: int,
        error_type: str,
        error_code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        body: dict[str, Any] = {
            "error_type": error_type,
            "error_code": error_code,
            "error_message": message,
            "display_message": None,
            "request_id": _request_id(),
            "causes": [],
            "status": status,
            "documentation_url": f"https://plaid.com/docs/errors/{error_type.lower()}/",
            "suggested_action": None,
        }
        return self._json(status, body, headers)

    @staticmethod
    def _event(
        name: str, when: datetime.datetime, session_id: str, **metadata: Any
    ) -> dict[str, Any]:
        return {
            "event_name": name,
            "timestamp": format_datetime(when),
            "event_id": str(uuid.uuid4()),
            "event_metadata": {
                "request_id": _request_id(),
                "link_session_id": session_id,
                **metadata,
            },
        }


def _is_loopback_url(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    return host is not None and is_loopback(host)


def _account() -> dict[str, Any]:
    return {
        "id": _request_id(37),
        "name": "Plaid Checking",
        "mask": "0000",
        "type": "depository",
        "subtype": "checking",
        "verification_status": None,
        "class_type": None,
    }


def _recipient(user: dict[str, Any], method: str) -> str:
    """The phone number or email address a Hosted Link delivery goes to, or Plaid's
    error when the request's user has none."""
    field = "phone_number" if method == "sms" else "email_address"
    value = user.get(field)
    if not value:
        raise _Reply(
            400,
            "INVALID_REQUEST",
            "MISSING_FIELDS",
            f"the following required fields are missing: user.{field} "
            f"(hosted_link.delivery_method is {method})",
        )
    return str(value)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _request_id(length: int = 15) -> str:
    return "".join(random.choices(_ID_ALPHABET, k=length))


def _mask_body_secret(body: Any) -> Any:
    if isinstance(body, dict) and "secret" in body:
        return {**body, "secret": MASK}
    return body


def _reset(request: web.Request) -> None:
    """Abort the connection with a TCP RST (linger 0), as a crashed peer would."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
