"""The fake server's control API: the same controls over HTTP, for every test style.

A fake in the test's own loop is driven by its methods. One in a background thread or
a child process (or used from another language, as stripe-mock is) is driven through
these routes, under `/_fake/` where Plaid has no paths. Each takes a JSON object (GET
routes take none) and answers JSON; `docs/testing.md` lists them with their fields.

Only a loopback peer (127.0.0.1 or ::1) is served. Every field is checked: an unknown
one, a wrong type or a value out of bounds is a 400 whose `error` names the field,
never a Python exception's text.

`FakePlaidControl` (`_control_client`) is the same surface as a plain synchronous
client of these routes; `ControlTarget` is what the routes need of the fake.
"""

from __future__ import annotations

import base64
import contextlib
import inspect
import json
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Protocol

import attrs
from aiohttp import web

from .._wire._nesting import nesting_within
from ._deliveries import WebhookDelivery, WebhookFault
from ._faults import Fault
from ._messages import SentMessage
from ._plaid import MAX_ITEMS, LinkCompletion
from ._recording import RecordedRequest
from ._signing import SignedWebhook

PREFIX: Final = "/_fake/"
#: The peers the control API answers: the machine itself, by its usual names.
CONTROL_PEERS: Final = frozenset({"127.0.0.1", "::1"})
#: The largest control request read.
MAX_CONTROL_BYTES: Final = 1 << 20


class ControlTarget(Protocol):
    """The controls the routes act on: `FakePlaidServer`'s, which `FakePlaidControl`
    mirrors for other threads and processes."""

    @property
    def requests(self) -> list[RecordedRequest]: ...
    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]: ...
    def inject(self, endpoint: str, *faults: Fault) -> None: ...
    def inject_webhook(self, *faults: WebhookFault) -> None: ...
    def pending_faults(self, endpoint: str = ...) -> int: ...
    def complete_link(
        self,
        link_token: str,
        *,
        items: int = ...,
        exited: bool = ...,
        institution_id: str = ...,
        institution_name: str = ...,
    ) -> LinkCompletion: ...
    def open_hosted_link(self, link_delivery_session_id: str) -> None: ...
    def register_correlation_id(self, correlation_id: str, link_token: str) -> None: ...
    def add_webhook_key(self, jwk: Mapping[str, Any]) -> None: ...
    def sign_webhook(
        self, payload: Mapping[str, Any] | bytes, *, iat: float | None = ...
    ) -> SignedWebhook: ...
    @property
    def latency(self) -> float: ...
    @latency.setter
    def latency(self, seconds: float) -> None: ...
    def send_webhook(self, url: str, payload: Mapping[str, Any]) -> None: ...
    def webhooks_settled(self, timeout: float = ...) -> Awaitable[None]: ...
    def set_rate_limits(self, limits: Mapping[str, int]) -> None: ...
    def rate_limited(self) -> dict[str, int]: ...
    def set_item_state(self, access_token: str, state: str) -> None: ...
    def sent_messages(self) -> list[SentMessage]: ...
    def link_tokens(self) -> list[str]: ...
    def reset(self) -> None: ...


class Refused(ValueError):
    """A control request the fake will not act on; its text names the field."""


def fault_to_json(fault: Fault) -> dict[str, Any]:
    return {**attrs.asdict(fault), "kind": fault.kind.value}


def webhook_fault_to_json(fault: WebhookFault) -> dict[str, Any]:
    return {"kind": fault.kind.value, "seconds": fault.seconds, "code": fault.code}


def _made(cls: Any, data: Any, where: str) -> Any:
    """`cls(**data)` for an attrs class, or `Refused` naming the field at `where`."""
    fields = {field.name for field in attrs.fields(cls)}
    if not isinstance(data, dict):
        raise Refused(f"{where}: must be an object")
    unknown = sorted(set(data) - fields)
    if unknown:
        raise Refused(f"{where}.{unknown[0]}: unknown field; known: {', '.join(sorted(fields))}")
    if "kind" not in data:
        raise Refused(f"{where}.kind: required")
    try:
        return cls(**data)
    except ValueError as error:  # the classes' own validators name the field
        raise Refused(f"{where}.{error}") from None


# -- arguments ------------------------------------------------------------------------------


@attrs.frozen
class _Field:
    kind: type | tuple[type, ...]
    required: bool = False
    low: float | None = None
    high: float | None = None


def _args(data: Any, fields: Mapping[str, _Field]) -> dict[str, Any]:
    """`data` checked against `fields`: known names, types and bounds, or `Refused`."""
    if not isinstance(data, dict):
        raise Refused("the body must be a JSON object")
    for name in data:
        if name not in fields:
            known = ", ".join(fields) or "none"
            raise Refused(f"{name}: unknown field; known: {known}")
    for name, field in fields.items():
        if name not in data:
            if field.required:
                raise Refused(f"{name}: required")
            continue
        value = data[name]
        wrong_bool = isinstance(value, bool) and field.kind is not bool
        if wrong_bool or not isinstance(value, field.kind):
            raise Refused(f"{name}: expected {_describe(field.kind)}, got {type(value).__name__}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            _check_bounds(name, value, field)
    return data


def _check_bounds(name: str, value: float, field: _Field) -> None:
    low = -math.inf if field.low is None else field.low
    high = math.inf if field.high is None else field.high
    if not math.isfinite(value) or not low <= value <= high:
        raise Refused(f"{name}: must be a finite number from {low:g} to {high:g}, got {value}")


def _describe(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "text", int: "an integer", float: "a number", bool: "true or false"}
    names |= {dict: "an object", list: "a list"}
    return " or ".join(names.get(item, item.__name__) for item in kinds)


# -- actions --------------------------------------------------------------------------------

Action = Callable[["ControlTarget", dict[str, Any]], Any]


def _faults(fake: ControlTarget, data: dict[str, Any]) -> Any:
    args = _args(data, {"endpoint": _Field(str, True), "faults": _Field(list, True)})
    faults = [_made(Fault, item, f"faults[{n}]") for n, item in enumerate(args["faults"])]
    fake.inject(args["endpoint"], *faults)
    return {"queued": len(faults)}


def _webhook_faults(fake: ControlTarget, data: dict[str, Any]) -> Any:
    args = _args(data, {"faults": _Field(list, True)})
    faults = [_made(WebhookFault, item, f"faults[{n}]") for n, item in enumerate(args["faults"])]
    fake.inject_webhook(*faults)
    return {"queued": len(faults)}


def _complete_link(fake: ControlTarget, data: dict[str, Any]) -> Any:
    args = _args(
        data,
        {
            "link_token": _Field(str, True),
            "items": _Field(int, low=1, high=MAX_ITEMS),
            "exited": _Field(bool),
            "institution_id": _Field(str),
            "institution_name": _Field(str),
        },
    )
    return attrs.asdict(fake.complete_link(**args))


def _sign_webhook(fake: ControlTarget, data: dict[str, Any]) -> Any:
    # The payload as an object, or as raw bytes (base64) for a body signed exactly as given.
    args = _args(
        data,
        {
            "payload": _Field(dict),
            "body_base64": _Field(str),
            "iat": _Field((int, float), low=0),
        },
    )
    if ("payload" in args) == ("body_base64" in args):
        raise Refused("give one of payload (an object) or body_base64 (the raw body)")
    payload: Mapping[str, Any] | bytes
    if "body_base64" in args:
        try:
            payload = base64.b64decode(args["body_base64"], validate=True)
        except ValueError:
            raise Refused("body_base64: not base64") from None
    else:
        payload = args["payload"]
    signed = fake.sign_webhook(payload, iat=args.get("iat"))
    answer = {
        "body_base64": base64.b64encode(signed.body).decode(),
        "headers": dict(signed.headers),
    }
    with contextlib.suppress(UnicodeDecodeError):  # as 0.2.0 answered, where it is text
        answer["body"] = signed.body.decode()
    return answer


def _latency(fake: ControlTarget, data: dict[str, Any]) -> Any:
    if data:
        fake.latency = _args(data, {"seconds": _Field((int, float), True, low=0)})["seconds"]
    return {"seconds": fake.latency}


def _send_webhook(fake: ControlTarget, data: dict[str, Any]) -> Any:
    args = _args(data, {"url": _Field(str, True), "payload": _Field(dict, True)})
    fake.send_webhook(args["url"], args["payload"])
    return {"sent": True}


async def _webhooks_settled(fake: ControlTarget, data: dict[str, Any]) -> Any:
    args = _args(data, {"timeout": _Field((int, float), low=0, high=3600)})
    await fake.webhooks_settled(float(args.get("timeout", 10.0)))
    return {"settled": True}


def _open_hosted_link(fake: ControlTarget, data: dict[str, Any]) -> Any:
    args = _args(data, {"link_delivery_session_id": _Field(str, True)})
    fake.open_hosted_link(args["link_delivery_session_id"])
    return {"opened": True}


def _register_correlation_id(fake: ControlTarget, data: dict[str, Any]) -> Any:
    args = _args(data, {"correlation_id": _Field(str, True), "link_token": _Field(str, True)})
    fake.register_correlation_id(args["correlation_id"], args["link_token"])
    return {"registered": True}


def _add_webhook_key(fake: ControlTarget, data: dict[str, Any]) -> Any:
    args = _args(data, {"jwk": _Field(dict, True)})
    if not isinstance(args["jwk"].get("kid"), str):
        raise Refused("jwk.kid: required, as text")
    fake.add_webhook_key(args["jwk"])
    return {"added": True}


def _pending_faults(fake: ControlTarget, data: dict[str, Any]) -> Any:
    args = _args(data, {"endpoint": _Field(str)})
    return {"pending": fake.pending_faults(args.get("endpoint", "*"))}


def _rate_limits(fake: ControlTarget, data: dict[str, Any]) -> Any:
    args = _args(data, {"limits": _Field(dict, True)})
    fake.set_rate_limits(args["limits"])
    return {"limits": args["limits"]}


def _rate_limited(fake: ControlTarget, data: dict[str, Any]) -> Any:
    return fake.rate_limited()


def _set_item_state(fake: ControlTarget, data: dict[str, Any]) -> Any:
    args = _args(data, {"access_token": _Field(str, True), "state": _Field(str, True)})
    try:
        fake.set_item_state(args["access_token"], args["state"])
    except KeyError:
        raise Refused("access_token: the fake never issued it") from None
    except ValueError as error:
        raise Refused(str(error)) from None
    return {"state": args["state"]}


def _messages(fake: ControlTarget, data: dict[str, Any]) -> Any:
    return [attrs.asdict(message) for message in fake.sent_messages()]


def _reset(fake: ControlTarget, data: dict[str, Any]) -> Any:
    _args(data, {})
    fake.reset()
    return {"reset": True}


def _requests(fake: ControlTarget, data: dict[str, Any]) -> Any:
    return [attrs.asdict(request) for request in fake.requests]


def _webhook_deliveries(fake: ControlTarget, data: dict[str, Any]) -> Any:
    return [
        {**attrs.asdict(d, filter=lambda a, _: a.name != "body"), "body": d.body.decode()}
        for d in fake.webhook_deliveries
    ]


def _link_tokens(fake: ControlTarget, data: dict[str, Any]) -> Any:
    return fake.link_tokens()


#: Every control route: (method, name) to its action.
ACTIONS: Final[dict[tuple[str, str], Action]] = {
    ("POST", "faults"): _faults,
    ("POST", "webhook_faults"): _webhook_faults,
    ("POST", "pending_faults"): _pending_faults,
    ("POST", "complete_link"): _complete_link,
    ("POST", "open_hosted_link"): _open_hosted_link,
    ("POST", "register_correlation_id"): _register_correlation_id,
    ("POST", "add_webhook_key"): _add_webhook_key,
    ("POST", "sign_webhook"): _sign_webhook,
    ("POST", "send_webhook"): _send_webhook,
    ("POST", "webhooks_settled"): _webhooks_settled,
    ("POST", "rate_limits"): _rate_limits,
    ("POST", "set_item_state"): _set_item_state,
    ("POST", "reset"): _reset,
    ("POST", "latency"): _latency,
    ("GET", "latency"): _latency,
    ("GET", "requests"): _requests,
    ("GET", "webhook_deliveries"): _webhook_deliveries,
    ("GET", "link_tokens"): _link_tokens,
    ("GET", "rate_limited"): _rate_limited,
    ("GET", "messages"): _messages,
}


async def handle(fake: ControlTarget, request: web.Request) -> web.Response:
    """Serve one control request; every refusal is a 400 (403 for a foreign peer) whose
    `error` names the field or the cause."""
    if request.remote not in CONTROL_PEERS:
        return _refuse(403, f"the control API answers only {' and '.join(sorted(CONTROL_PEERS))}")
    name = request.path.removeprefix(PREFIX)
    action = ACTIONS.get((request.method, name))
    if action is None:
        routes = ", ".join(f"{method} {PREFIX}{route}" for method, route in ACTIONS)
        return _refuse(404, f"no control {request.method} {PREFIX}{name}; routes: {routes}")
    try:
        data = await _body(request)
        result = action(fake, data)
        if inspect.isawaitable(result):
            result = await result
    except Refused as refusal:
        return _refuse(400, str(refusal))
    except KeyError as error:  # an unknown token or session: the fake's own message
        return _refuse(400, str(error.args[0]) if error.args else "not found")
    except (ValueError, TimeoutError) as error:  # the fake's methods name what is wrong
        return _refuse(400, str(error))
    return web.json_response(result)


async def _body(request: web.Request) -> dict[str, Any]:
    if request.method == "GET" or not request.can_read_body:
        return {}
    raw = await request.content.read(MAX_CONTROL_BYTES + 1)
    if len(raw) > MAX_CONTROL_BYTES:
        raise Refused(f"the body is over {MAX_CONTROL_BYTES:,} bytes")
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError):
        raise Refused("the body is not JSON") from None
    if not nesting_within(data):
        raise Refused("the body nests too deep")
    if not isinstance(data, dict):
        raise Refused("the body must be a JSON object")
    return data


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
