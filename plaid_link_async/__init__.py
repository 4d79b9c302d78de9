"""Asyncio-native client for Plaid's Link API.

`AsyncLinkSession` calls the Link flow's endpoints. The models live in
`plaid_link_async.models` (generated from Plaid's OpenAPI contract); `to_dict`/`from_dict`
convert them to and from JSON-ready dicts, and `validate` checks a request against the
contract. `plaid_link_async.testing` holds the fake Plaid server.
"""

import importlib as _importlib
import typing as _typing

from ._calls._events import RequestEvent, ResponseEvent, RetryEvent
from ._calls._outcome import RawAPIResponse
from ._calls._rate_limit import LocalRateLimit, RateLimiter
from ._calls._retry_policy import RetryPolicy
from ._calls._settings import Environment, Timeout
from ._errors._exceptions import (
    AmbiguousOutcomeError,
    APIServerError,
    ConfigurationError,
    FieldError,
    InstitutionError,
    InvalidInputError,
    InvalidRequestError,
    InvalidResultError,
    ItemError,
    OAuthError,
    PlaidAPIError,
    PlaidLinkError,
    PlaidTimeoutError,
    RateLimitError,
    RequestValidationError,
    SessionClosedError,
    TransportError,
    UnexpectedResponseError,
)
from ._schema._converter import from_dict, to_dict
from ._schema._drift import Drift, Drifts
from ._schema._model_base import ExtraFields, Model
from ._session._session import AsyncLinkSession
from ._session._with_raw_response import RawCalls
from ._transport._aiohttp import AiohttpTransport
from ._transport._seam import Transport, TransportRequest, TransportResponse
from ._version import __version__

__all__ = [
    "APIServerError",
    "AiohttpTransport",
    "AmbiguousOutcomeError",
    "AsyncLinkSession",
    "BatchFailure",
    "BatchProgress",
    "BatchResult",
    "BatchRun",
    "BatchSuccess",
    "ConfigurationError",
    "Drift",
    "Drifts",
    "Environment",
    "ExtraFields",
    "FieldError",
    "InstitutionError",
    "InvalidInputError",
    "InvalidRequestError",
    "InvalidResultError",
    "InvalidWebhookError",
    "ItemError",
    "LocalRateLimit",
    "Model",
    "OAuthError",
    "PLAID_WEBHOOK_SOURCES",
    "PlaidAPIError",
    "PlaidLinkError",
    "PlaidTimeoutError",
    "ProgressBar",
    "RateLimitError",
    "RateLimiter",
    "RawAPIResponse",
    "RawCalls",
    "RequestEvent",
    "RequestValidationError",
    "ResponseEvent",
    "RetryEvent",
    "RetryPolicy",
    "SessionClosedError",
    "Timeout",
    "Transport",
    "TransportError",
    "TransportRequest",
    "TransportResponse",
    "UnexpectedResponseError",
    "UnknownWebhook",
    "WebhookReading",
    "WebhookRejection",
    "WebhookVerificationError",
    "WebhookVerifier",
    "__version__",
    "create_link_tokens",
    "from_dict",
    "parse_webhook",
    "read_webhook",
    "to_dict",
    "validate",
]

if _typing.TYPE_CHECKING:
    from ._batch._progress import ProgressBar
    from ._batch._run import (
        BatchFailure,
        BatchProgress,
        BatchResult,
        BatchRun,
        BatchSuccess,
        create_link_tokens,
    )
    from ._errors._webhook import (
        InvalidWebhookError,
        WebhookRejection,
        WebhookVerificationError,
    )
    from ._schema._request_rules import validate
    from ._webhooks._parsing import UnknownWebhook, WebhookReading, parse_webhook, read_webhook
    from ._webhooks._verifier import PLAID_WEBHOOK_SOURCES, WebhookVerifier

# Loaded on first use (PEP 562): what a web app's calls do not need (batches, progress
# bars, webhooks with their JWT checks, `validate`'s error lists) costs nothing at
# import time. Type checkers and IDEs see the names through the block above.
_LAZY: _typing.Final = {
    "BatchFailure": "._batch._run",
    "BatchProgress": "._batch._run",
    "BatchSuccess": "._batch._run",
    "BatchResult": "._batch._run",
    "BatchRun": "._batch._run",
    "create_link_tokens": "._batch._run",
    "ProgressBar": "._batch._progress",
    "validate": "._schema._request_rules",
    "InvalidWebhookError": "._errors._webhook",
    "WebhookRejection": "._errors._webhook",
    "WebhookVerificationError": "._errors._webhook",
    "UnknownWebhook": "._webhooks._parsing",
    "WebhookReading": "._webhooks._parsing",
    "parse_webhook": "._webhooks._parsing",
    "read_webhook": "._webhooks._parsing",
    "WebhookVerifier": "._webhooks._verifier",
    "PLAID_WEBHOOK_SOURCES": "._webhooks._verifier",
}


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    _public(value)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _public(obj: object) -> None:
    # Tracebacks read `plaid_link_async.RequestValidationError`, not the private module.
    # Only exceptions: other classes resolve their string annotations through
    # `__module__`.
    if isinstance(obj, type) and issubclass(obj, PlaidLinkError):
        obj.__module__ = __name__


for _name in __all__:
    if _name not in _LAZY:
        _public(globals()[_name])
del _name
