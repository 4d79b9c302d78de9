"""The fake server in a child process: for benchmarks, and for tests that measure the client."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

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
    command = [
        sys.executable,
        "-m",
        "plaid_link_async.testing",
        "--latency-ms",
        str(latency_ms),
        "--client-id",
        client_id,
        "--secret",
        secret,
    ]
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
