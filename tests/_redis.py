"""A real redis-server for the fleet's tests: started on a free loopback port, stopped by
its PID. In CI (CI set) a missing or failing redis-server fails the test loudly, since
`.ci/run` installs it; elsewhere the test is skipped with the reason."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"redis-server is needed in CI and {reason}: see .ci/run")
    pytest.skip(f"{reason} (apt-get install redis-server; CI runs these tests)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """One redis-server process; `stop()` and `start()` again keep its port and folder
    (with `appendonly`, its data too)."""

    def __init__(self, folder: Path, *, appendonly: bool = False, password: str = "") -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            _unavailable("redis-server is not installed")
        assert binary is not None
        self.binary = binary
        self.folder = folder
        self.appendonly = appendonly
        self.password = password
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.folder), "--save", "", "--daemonize", "no",
            "--appendonly", "yes" if self.appendonly else "no", "--loglevel", "warning",
            *(["--requirepass", self.password] if self.password else []),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                assert self.process.stderr is not None
                with self.process.stderr as said:
                    _unavailable(f"redis-server exited: {said.read()[:300]!r}")
            if self.ping():
                return
            time.sleep(0.02)
        self.stop()
        _unavailable("redis-server did not answer within 10 s")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"*1\r\n$4\r\nPING\r\n")
                # With a password, PING is refused (-NOAUTH): the server answers all the same
                # (and is not still loading its data, which answers -LOADING).
                return conn.recv(16).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()  # by its PID; SIGTERM makes redis write its AOF and exit
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if process.stderr is not None:
            process.stderr.close()


@contextmanager
def redis_server(
    folder: Path, *, appendonly: bool = False, password: str = ""
) -> Iterator[RedisServer]:
    server = RedisServer(folder, appendonly=appendonly, password=password)
    server.start()
    try:
        yield server
    finally:
        server.stop()
