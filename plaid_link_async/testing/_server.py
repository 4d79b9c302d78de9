"""`FakePlaidServer`: the Link flow on 127.0.0.1, stateful, with faults and a request log.

It is three parts behind one set of controls: the simulated Plaid (`_plaid`: the
state and the rules, no HTTP), the HTTP shell (`_http`: routing by the generated
operation table, faults, rate limits and the request log) and the webhook deliverer
(`_webhook_sender`). The in-loop fake is this class; the thread and process fakes
drive the same controls over its HTTP control API (`_control`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from .._calls._settings import is_loopback
from ._deliveries import WebhookDelivery, WebhookFault
from ._faults import Fault
from ._http import ANY_ENDPOINT, API_VERSION, HttpShell
from ._link_delivery import HOSTED_LINK_PATH
from ._messages import SentMessage
from ._plaid import (
    MAX_ITEMS,
    PUBLIC_TOKEN_LIFETIME,
    TOKEN_LIFETIME,
    UPDATE_TOKEN_LIFETIME,
    LinkCompletion,
    SimulatedPlaid,
)
from ._recording import RecordedRequest
from ._signing import SignedWebhook, WebhookSigner
from ._webhook_sender import WebhookSender

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

__all__ = [
    "ANY_ENDPOINT",
    "API_VERSION",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_SECRET",
    "HOSTED_LINK_PATH",
    "MAX_ITEMS",
    "PUBLIC_TOKEN_LIFETIME",
    "TOKEN_LIFETIME",
    "UPDATE_TOKEN_LIFETIME",
    "FakePlaidServer",
    "LinkCompletion",
    "RecordedRequest",
]

#: Credentials the fake accepts unless told otherwise.
DEFAULT_CLIENT_ID: Final = "test-client-id"
DEFAULT_SECRET: Final = "test-secret"


class FakePlaidServer:
    """Plaid's Link endpoints, served by aiohttp on 127.0.0.1, for tests and demos.

    `async with FakePlaidServer() as fake:` serves on a free port at `fake.url`. It checks
    credentials, the `Plaid-Version` header and request bodies against the contract,
    remembers the link tokens it issues, and can be told to fail (`inject`). Its state
    and rules are a `SimulatedPlaid`, which a test may also drive on its own.

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
        # The state and the rules; `SimulatedPlaid` may also be driven without HTTP.
        self._plaid = SimulatedPlaid(
            environment=environment,
            max_tokens=max_tokens,
            default_webhook=default_webhook,
            send_webhook=self.send_webhook,
            base_url=lambda: self.url,
        )
        self._webhooks = WebhookSender(webhook_time_scale, self._plaid.add_webhook_key)
        self._http = HttpShell(
            self._plaid,
            self,
            client_id=client_id,
            secret=secret,
            host=host,
            port=port,
            latency=latency,
            max_recorded=max_recorded,
            rate_limits=rate_limits,
        )

    def __repr__(self) -> str:
        where = self.url if self._http.serving else "not started"
        return f"<FakePlaidServer {where}>"

    @property
    def client_id(self) -> str:
        """The client id it accepts."""
        return self._http.client_id

    @property
    def host(self) -> str:
        return self._http.host

    @property
    def port(self) -> int:
        """The port it serves on; set by `start` when 0 was asked for."""
        return self._http.port

    @property
    def latency(self) -> float:
        """Seconds every answer waits before it is sent; may be changed at any time."""
        return self._http.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._http.latency = seconds

    @property
    def environment(self) -> str:
        return self._plaid.environment

    @property
    def default_webhook(self) -> str | None:
        return self._plaid.default_webhook

    @default_webhook.setter
    def default_webhook(self, url: str | None) -> None:
        self._plaid.default_webhook = url

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, oldest first; only the last `max_recorded` if set."""
        return self._http.requests

    @property
    def eligible_phone_numbers(self) -> set[str]:
        """Phone numbers `link_profile_eligibility_check` reports a matching profile for."""
        return self._plaid.eligible_phone_numbers

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL to give `AsyncLinkSession(base_url=...)`."""
        if not self._http.serving:
            raise RuntimeError("FakePlaidServer is not started: use `async with` or start()")
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Bind and serve; with port 0 a free port is picked and stored in `port`."""
        await self._http.start()
        self._webhooks.loop = self._http.loop

    async def close(self) -> None:
        """Stop serving; hanging requests are released first. Safe to call twice."""
        await self._webhooks.close()
        await self._http.close()

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
        self._http.inject(endpoint, *faults)

    def set_rate_limits(self, limits: Mapping[str, int]) -> None:
        """Answer calls of an operation beyond `limits[operation]` a second (per client
        id, over the last second) as Plaid does: 429 `RATE_LIMIT_EXCEEDED`. An empty
        mapping lifts every limit.

        Raises:
            ValueError: an unknown operation, or a limit that is no positive integer.
        """
        self._http.set_rate_limits(limits)

    def rate_limited(self) -> dict[str, int]:
        """How many calls of each operation the rate limits answered 429 so far."""
        return self._http.rate_limited()

    def sent_messages(self) -> list[SentMessage]:
        """Every Hosted Link text and email sent so far, oldest first (the last 100,000):
        one per token created with `hosted_link.delivery_method`, and one per
        `/link_delivery/create` call."""
        return self._plaid.outbox.sent()

    def pending_faults(self, endpoint: str = ANY_ENDPOINT) -> int:
        """How many queued faults `endpoint` has not used yet."""
        return self._http.pending_faults(endpoint)

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
        self._http.forget()
        self._webhooks.forget()
        self._plaid.reset()

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
        return self._plaid.complete_link(
            link_token,
            items=items,
            exited=exited,
            institution_id=institution_id,
            institution_name=institution_name,
            accounts=accounts,
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
        self._plaid.set_item_state(access_token, state)

    def open_hosted_link(self, link_delivery_session_id: str) -> None:
        """Play the user opening a delivered Hosted Link URL: the delivery becomes OPENED."""
        self._plaid.open_hosted_link(link_delivery_session_id)

    def add_webhook_key(self, jwk: Mapping[str, Any]) -> None:
        """Serve the public key `jwk` from `webhook_verification_key_get` by its `kid`."""
        self._plaid.add_webhook_key(jwk)

    @property
    def webhook_signer(self) -> WebhookSigner:
        """The fake's own ES256 key, made on first use; `webhook_verification_key_get`
        serves its public half. Needs the `webhooks` extra."""
        return self._webhooks.signer

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every webhook delivery attempt so far, oldest first (retries included)."""
        return self._webhooks.deliveries

    def inject_webhook(self, *faults: WebhookFault) -> None:
        """Queue `faults` for the next webhook deliveries, one each, in order."""
        self._webhooks.inject(*faults)

    async def webhooks_settled(self, timeout: float = 10.0) -> None:
        """Wait until every webhook has been answered 200 or given up on."""
        await self._webhooks.settled(timeout)

    def send_webhook(self, url: str, payload: Mapping[str, Any]) -> None:
        """Deliver `payload`, signed, to `url` as Plaid would: retried until a 200.

        Only loopback URLs are sent to (the fake never reaches off the machine); any
        other is recorded as an attempt with the error `not sent: not loopback`.
        Safe to call from any thread.
        """
        self._webhooks.send(url, payload)

    def sign_webhook(
        self, payload: Mapping[str, Any] | bytes, *, iat: float | None = None
    ) -> SignedWebhook:
        """A webhook body and its headers, signed exactly as Plaid signs them, for
        unit-testing a receiver without running a flow. `iat` backdates it."""
        return self._webhooks.sign(payload, iat=iat)

    def register_correlation_id(self, correlation_id: str, link_token: str) -> None:
        """Make `correlation_id` exchangeable for `link_token`."""
        self._plaid.register_correlation_id(correlation_id, link_token)

    def link_tokens(self) -> list[str]:
        """The link tokens issued so far, oldest first."""
        return list(self._plaid.tokens)
