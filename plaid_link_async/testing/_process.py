"""The fake server in a child process: for benchmarks, and for tests that measure the client."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from ._control_client import FakePlaidControl
from ._server import DEFAULT_CLIENT_ID, DEFAULT_SECRET


@contextlib.contextmanager
def fake_server_process(
    *,
    latency_ms: float = 0.0,
    client_id: str = DEFAULT_CLIENT_ID,
    secret: str = DEFAULT_SECRET,
) -> Iterator[str]:
    """Serve `FakePlaidServer` from `python -m plaid_link_async.testing`; yields its URL.

    Its CPU time and its request log stay out of the calling process, which matters
    when that process's CPU or memory is what is measured.
    """
    with _serve({"latency_ms": latency_ms, "client_id": client_id, "secret": secret}) as url:
        yield url


class FakePlaidProcess(FakePlaidControl):
    """`with FakePlaidProcess() as fake:` serves the fake from a child process.

    Driven through the control API (`inject`, `complete_link`, `requests`, ...), like
    `FakePlaidThread`; its CPU time stays out of the test's process. `options` are the
    command line's: `latency_ms`, `client_id`, `secret`, `webhook_url`,
    `webhook_time_scale`, `max_recorded`, and `rate_limits` as a mapping.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__("http://127.0.0.1:0")
        self.client_id = str(options.get("client_id", DEFAULT_CLIENT_ID))
        self._options = {"max_recorded": 10_000, **options}
        self._context: contextlib.AbstractContextManager[str] | None = None

    def __repr__(self) -> str:
        return f"<FakePlaidProcess {self.url}>"

    def __enter__(self) -> FakePlaidProcess:
        self._context = _serve(self._options)
        self.url = self._context.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)
            self._context = None


@contextlib.contextmanager
def _serve(options: dict[str, Any]) -> Iterator[str]:
    command = [sys.executable, "-m", "plaid_link_async.testing"]
    for name, value in options.items():
        if name == "rate_limits":
            for operation, limit in (value or {}).items():
                command += ["--rate-limit", f"{operation}={limit}"]
        elif value is not None:
            command += [f"--{name.replace('_', '-')}", str(value)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            if not url:
                raise RuntimeError("the fake server process exited before printing its URL")
            yield url
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:  # pragma: no cover - a wedged server
                process.kill()
                process.wait()
