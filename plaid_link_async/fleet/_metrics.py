"""`WorkerMetrics`: a campaign worker's Prometheus metrics, served by
`plaid-link worker --metrics-port N` through `prometheus_client` (the `metrics` extra).

Labels stay few and bounded (an operation, an outcome, a status class): never a user,
a row or a campaign name, which would grow without end.
"""

from __future__ import annotations

from typing import Any

from .._calls._events import ResponseEvent


class WorkerMetrics:
    """The metrics of one worker process, in their own registry.

    - `plaid_link_campaign_rows_total{outcome}`: rows recorded, `created` or the kind of
      failure (`UnknownDelivery`, `AmbiguousOutcomeError`, `InvalidRequestError`, ...);
    - `plaid_link_calls_total{operation,status}`: Plaid calls by their answer's status
      (`none` without one), 429s among them;
    - `plaid_link_call_seconds{operation}`: each attempt's time, as a histogram;
    - `plaid_link_campaign_jobs_in_flight`: jobs this worker is running.
    """

    def __init__(self) -> None:
        try:
            from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        except ImportError:
            from .._errors._exceptions import ConfigurationError

            raise ConfigurationError(
                "metrics need prometheus_client: pip install 'plaid-link-async[metrics]'"
            ) from None
        self.registry = CollectorRegistry()
        self.rows = Counter(
            "plaid_link_campaign_rows", "Campaign rows recorded, by outcome.", ["outcome"],
            registry=self.registry,
        )  # fmt: skip
        self.calls = Counter(
            "plaid_link_calls", "Plaid calls (attempts), by operation and HTTP status.",
            ["operation", "status"], registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "plaid_link_call_seconds", "Seconds per Plaid call attempt.", ["operation"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30), registry=self.registry,
        )  # fmt: skip
        self.jobs_in_flight = Gauge(
            "plaid_link_campaign_jobs_in_flight", "Campaign jobs this worker is running.",
            registry=self.registry,
        )  # fmt: skip

    def __repr__(self) -> str:
        return "<WorkerMetrics>"

    def serve(self, port: int, host: str = "127.0.0.1") -> Any:
        """Serve `/metrics` on `host:port` from a thread; returns the server."""
        from prometheus_client import start_http_server

        server, _ = start_http_server(port, addr=host, registry=self.registry)
        return server

    def observe_response(self, event: ResponseEvent) -> None:
        """An `on_response` hook: one attempt's status and time."""
        status = str(event.status) if event.status is not None else "none"
        self.calls.labels(event.endpoint, status).inc()
        self.latency.labels(event.endpoint).observe(event.elapsed)

    def row_done(self, line: dict[str, Any]) -> None:
        error = line.get("error")
        outcome = str(error.get("type", "error")) if isinstance(error, dict) else "created"
        self.rows.labels(outcome).inc()
