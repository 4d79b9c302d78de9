"""Asyncio-native client for Plaid's Link API.

`AsyncLinkSession` calls the Link flow's endpoints. The models live in
`plaid_link_async.models` (generated from Plaid's OpenAPI contract); `to_dict`/`from_dict`
convert them to and from JSON-ready dicts, and `validate` checks a request against the
contract. `plaid_link_async.testing` holds the fake Plaid server.
"""

import importlib as _importlib
import typing as _typing

from ._config import Environment, Timeout
from ._converter import from_dict, to_dict
from ._drift import Drift, Drifts
from ._events import RequestEvent, ResponseEvent, RetryEvent
from ._exceptions import (
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
from ._model_base import ExtraFields, Model
from ._ratelimit import LocalRateLimit, RateLimiter
from ._raw import RawAPIResponse
from ._raw_calls import RawCalls
from ._retry import RetryPolicy
from ._session import AsyncLinkSession
from ._transport import AiohttpTransport
from ._transport_base import Transport, TransportRequest, TransportResponse
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
    from ._batch import (
        BatchFailure,
        BatchProgress,
        BatchResult,
        BatchRun,
        BatchSuccess,
        create_link_tokens,
    )
    from ._progress import ProgressBar
    from ._validation import validate
    from ._webhooks import (
        InvalidWebhookError,
        UnknownWebhook,
        WebhookReading,
        WebhookRejection,
        WebhookVerificationError,
        WebhookVerifier,
        parse_webhook,
        read_webhook,
    )

# Loaded on first use (PEP 562): what a web app's calls do not need (batches, progress
# bars, webhooks with their JWT checks, `validate`'s error lists) costs nothing at
# import time. Type checkers and IDEs see the names through the block above.
_LAZY: _typing.Final = {
    "BatchFailure": "._batch",
    "BatchProgress": "._batch",
    "BatchSuccess": "._batch",
    "BatchResult": "._batch",
    "BatchRun": "._batch",
    "create_link_tokens": "._batch",
    "ProgressBar": "._progress",
    "validate": "._validation",
    "InvalidWebhookError": "._webhooks",
    "UnknownWebhook": "._webhooks",
    "WebhookReading": "._webhooks",
    "WebhookRejection": "._webhooks",
    "WebhookVerificationError": "._webhooks",
    "WebhookVerifier": "._webhooks",
    "parse_webhook": "._webhooks",
    "read_webhook": "._webhooks",
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
