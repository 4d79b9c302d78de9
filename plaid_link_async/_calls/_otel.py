"""OpenTelemetry: one span per call, its retries included, with Plaid's identifiers.

aiohttp's own instrumentation (through `trace_configs`) makes a span per HTTP attempt;
this one is the call as the application sees it: `POST /link/token/create`, kind
CLIENT, attributes after OpenTelemetry's HTTP client conventions where they apply
(`http.request.method`, `server.address`, `url.full`, `http.response.status_code`,
`http.request.resend_count`, `error.type`) and Plaid's (`plaid.endpoint`,
`plaid.request_id`, `plaid.error_type`, `plaid.error_code`), each attempt an event.
Needs the `opentelemetry` extra.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from .._errors._exceptions import PlaidLinkError
from .._version import __version__


class Tracing:
    """Makes the spans of one session, from a tracer provider (the global one by default)."""

    def __init__(self, tracer_provider: Any = None) -> None:
        try:
            from opentelemetry import trace
        except ImportError:
            raise PlaidLinkError(
                "tracing needs the `opentelemetry` extra: "
                "pip install 'plaid-link-async[opentelemetry]'"
            ) from None
        self._trace = trace
        self._tracer = trace.get_tracer(
            "plaid_link_async", __version__, tracer_provider=tracer_provider
        )

    @contextmanager
    def call(self, endpoint: str, url: str) -> Iterator[Any]:
        """The span of one call; the caller records its outcome with `succeeded`/`failed`."""
        parts = urlsplit(url)
        attributes: dict[str, Any] = {
            "http.request.method": "POST",
            "server.address": parts.hostname or "",
            "server.port": parts.port or (443 if parts.scheme == "https" else 80),
            "url.full": url,
            "plaid.endpoint": endpoint,
        }
        with self._tracer.start_as_current_span(
            f"POST {parts.path}",
            kind=self._trace.SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,  # ours carry no secret, but keep traces lean
            set_status_on_exception=False,
        ) as span:
            yield span

    def attempt(
        self, number: int, status: int | None, elapsed: float, failure: PlaidLinkError | None
    ) -> None:
        """An attempt of the current call, as an event on its span."""
        span = self._trace.get_current_span()
        event: dict[str, Any] = {"plaid.attempt": number, "plaid.elapsed_ms": elapsed * 1000}
        if status is not None:
            event["http.response.status_code"] = status
        if failure is not None:
            event["error.type"] = type(failure).__name__
        span.add_event("attempt", event)

    def succeeded(self, span: Any, status: int, attempts: int, request_id: str | None) -> None:
        span.set_attribute("http.response.status_code", status)
        span.set_attribute("http.request.resend_count", attempts - 1)
        if request_id:
            span.set_attribute("plaid.request_id", request_id)

    def failed(self, span: Any, error: PlaidLinkError) -> None:
        from opentelemetry.trace import Status, StatusCode

        status = getattr(error, "status", None)
        if isinstance(status, int):
            span.set_attribute("http.response.status_code", status)
        span.set_attribute("http.request.resend_count", getattr(error, "attempts", 1) - 1)
        for name in ("request_id", "error_type", "error_code"):
            value = getattr(error, name, None)
            if isinstance(value, str):
                span.set_attribute(f"plaid.{name}", value)
        span.set_attribute("error.type", type(error).__name__)
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
