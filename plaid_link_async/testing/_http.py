"""The fake's HTTP shell: serves a `SimulatedPlaid` on 127.0.0.1 as Plaid's API.

Routing comes from the generated operation table (`_schema._operations`). Before a request
reaches the simulated Plaid, the shell records it, applies the rate limits and the
queued faults, and checks the headers, the credentials and the body against the
contract. The control routes under `/_fake/` go to `_control`.
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web

from .._errors._exceptions import RequestValidationError, UnexpectedResponseError
from .._schema._converter import from_dict
from .._schema._operations import ENDPOINTS
from .._schema._request_rules import validate
from . import _control as control
from . import _loops as loops
from ._answers import error_answer, fault_answer, json_answer, reset
from ._faults import Fault, FaultKind
from ._link_delivery import HOSTED_LINK_PATH
from ._plaid import SimulatedPlaid
from ._recording import RecordedRequest, recorded
from ._reply import PlaidReply

API_VERSION: Final = "2020-09-14"
ANY_ENDPOINT: Final = "*"

_ROUTES: Final = {endpoint.path: name for name, endpoint in ENDPOINTS.items()}
_CREDENTIAL_FIELDS: Final = ("client_id", "secret")


class HttpShell:
    """Serves `plaid` over HTTP, with faults, rate limits and a request log; the
    control routes act on `controls` (the fake server that owns the shell)."""

    def __init__(
        self,
        plaid: SimulatedPlaid,
        controls: control.ControlTarget,
        *,
        client_id: str,
        secret: str,
        host: str,
        port: int,
        latency: float,
        max_recorded: int | None,
        rate_limits: Mapping[str, int] | None,
    ) -> None:
        if max_recorded is not None and max_recorded < 0:
            raise ValueError(f"max_recorded must be 0 or more, got {max_recorded}")
        self.plaid = plaid
        self._controls = controls
        self.client_id = client_id
        self._secret = secret
        self.host = host
        self.port = port
        self.latency = latency
        self.requests: list[RecordedRequest] = []
        self._max_recorded = max_recorded
        self._faults: dict[str, collections.deque[Fault]] = collections.defaultdict(
            collections.deque
        )
        self._rate_limits: dict[str, int] = {}
        self._recent: dict[tuple[str, str], collections.deque[float]] = {}
        self._rate_limited: collections.Counter[str] = collections.Counter()
        self.set_rate_limits(rate_limits or {})
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def serving(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
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
        self.loop = asyncio.get_running_loop()
        loops.serving(self.host, self.port, self.loop)

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        loops.stopped(self.host, self.port)
        if runner is not None:
            self._closing.set()  # hanging requests are released first
            await runner.cleanup()

    # -- controls ----------------------------------------------------------------------

    def inject(self, endpoint: str, *faults: Fault) -> None:
        if endpoint != ANY_ENDPOINT and endpoint not in ENDPOINTS:
            known = ", ".join(sorted(ENDPOINTS))
            raise ValueError(f"unknown endpoint {endpoint!r}: use one of {known} or '*'")
        self._faults[endpoint].extend(faults)

    def pending_faults(self, endpoint: str) -> int:
        return len(self._faults.get(endpoint, ()))

    def set_rate_limits(self, limits: Mapping[str, int]) -> None:
        for endpoint, limit in limits.items():
            if endpoint not in ENDPOINTS:
                raise ValueError(f"unknown endpoint {endpoint!r}: use one of {sorted(ENDPOINTS)}")
            if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000:
                raise ValueError(f"{endpoint}: a limit is a whole number of calls a second")
        self._rate_limits = dict(limits)
        self._recent.clear()

    def rate_limited(self) -> dict[str, int]:
        return dict(self._rate_limited)

    def forget(self) -> None:
        """Drop the request log, the queued faults and the rate limits' counts."""
        self.requests.clear()
        self._faults.clear()
        self._recent.clear()
        self._rate_limited.clear()

    # -- serving -----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith(control.PREFIX):
            return await control.handle(self._controls, request)
        if request.method == "GET" and request.path.startswith(HOSTED_LINK_PATH):
            if not self.plaid.visit_hosted_link(request.path.removeprefix(HOSTED_LINK_PATH)):
                return web.Response(status=404, text="unknown Hosted Link session")
            page = "<html><body>Fake Hosted Link</body></html>"
            return web.Response(text=page, content_type="text/html")
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
        endpoint = _ROUTES.get(request.path)
        if self._max_recorded != 0:
            self._record(recorded(endpoint, request, body))
        if endpoint is not None and self._over_limit(endpoint, request):
            self._rate_limited[endpoint] += 1
            message = f"too many {endpoint} calls a second"
            return error_answer(429, "RATE_LIMIT_EXCEEDED", "RATE_LIMIT", message)
        fault = self._next_fault(endpoint)
        delay = self.latency
        if fault is not None and fault.kind == FaultKind.LATENCY:
            delay += fault.seconds or 0.0
        if delay > 0:
            await asyncio.sleep(delay)
        if fault is not None and fault.kind not in (FaultKind.LATENCY, FaultKind.LOST_ANSWER):
            return await fault_answer(request, fault, self._closing)
        try:
            answer = json_answer(200, self._serve(request, endpoint, body))
        except PlaidReply as reply:
            answer = error_answer(reply.status, reply.error_type, reply.error_code, reply.message)
        if fault is not None and fault.kind == FaultKind.LOST_ANSWER:
            reset(request)
            raise asyncio.CancelledError  # done, and nothing may be written on a reset
        return answer

    def _record(self, entry: RecordedRequest) -> None:
        self.requests.append(entry)
        if self._max_recorded is not None and len(self.requests) > self._max_recorded:
            # A list, not a deque: tests slice it and compare it to lists.
            del self.requests[: len(self.requests) - self._max_recorded]

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

    def _serve(self, request: web.Request, endpoint: str | None, body: Any) -> dict[str, Any]:
        if endpoint is None or request.method != "POST":
            where = f"{request.method} {request.path}"
            raise PlaidReply(404, "INVALID_REQUEST", "NOT_FOUND", f"no such endpoint: {where}")
        self._check_headers(request, body)
        return self.plaid.answer(endpoint, self._parse(endpoint, body), body)

    def _check_headers(self, request: web.Request, body: Any) -> None:
        version = request.headers.get("Plaid-Version")
        if version != API_VERSION:
            raise PlaidReply(
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
            raise PlaidReply(
                400,
                "INVALID_REQUEST",
                "MISSING_FIELDS",
                "the following required fields are missing: " + ", ".join(missing),
            )
        if client_id != self.client_id or secret != self._secret:
            raise PlaidReply(
                400, "INVALID_INPUT", "INVALID_API_KEYS", "invalid client_id or secret provided"
            )

    def _parse(self, endpoint: str, body: Any) -> Any:
        if not isinstance(body, dict):
            raise PlaidReply(
                400, "INVALID_REQUEST", "INVALID_BODY", "the request body must be a JSON object"
            )
        from .. import models

        cls = getattr(models, ENDPOINTS[endpoint].request)
        fields = {key: value for key, value in body.items() if key not in _CREDENTIAL_FIELDS}
        try:
            model = from_dict(cls, fields)
        except UnexpectedResponseError as error:
            code = "MISSING_FIELDS" if "missing" in error.message else "INVALID_FIELD"
            raise PlaidReply(
                400, "INVALID_REQUEST", code, f"{error.path}: {error.message}"
            ) from None
        if model.extra:
            raise PlaidReply(
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
            raise PlaidReply(400, "INVALID_REQUEST", "INVALID_FIELD", message) from None
        return model
