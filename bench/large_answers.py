"""How long the largest answer the default size limit allows holds the event loop.

    python bench/large_answers.py [--rounds 7]

A server in its own process answers `link_token_get` with bodies just under the 2 MiB
default limit: a real shape (many Multi-Item sessions), hostile shapes that are
slowest for `json.loads` (a flat array of numbers, an array of empty objects), and
drift bombs: an answer whose one session holds events that are all `{}`, each a model
whose every required field drifted, at 2 MiB (refused past 10,000 drifts) and just over
the size read on the loop. While
the call runs, a task ticking every millisecond records the longest gap between its
ticks: the loop's longest stall. Printed per shape, with the `speedups` extra (orjson)
and without it in alternating rounds: the median over rounds and the
range, and for reference how long parsing the same body on the loop takes.
Goal: no stall over 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import multiprocessing
import statistics
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bodies import link_token_get_body

from plaid_link_async import AsyncLinkSession, PlaidLinkError
from plaid_link_async import models as m
from plaid_link_async._schema._tolerant_reader import TooMuchDrift, read_tolerantly
from plaid_link_async._session._session import DEFAULT_MAX_RESPONSE_BYTES
from plaid_link_async._wire import _json

LIMIT = DEFAULT_MAX_RESPONSE_BYTES


def bodies() -> dict[str, bytes]:
    real = json.loads(link_token_get_body(sessions=1))
    one = real["link_sessions"][0]
    size = len(json.dumps(one)) + 2
    real["link_sessions"] = [one] * ((LIMIT - 2000) // size)
    items = (LIMIT - 2) // 3
    return {
        "real: link_token_get, many sessions": json.dumps(real).encode(),
        "hostile: [0,0,0,...]": b"[" + b"0," * ((LIMIT - 2) // 2 - 1) + b"0]",
        "hostile: [{},{},...]": b"[" + b"{}," * (items - 1) + b"{}]",
        "drift bomb: events [{},...], 2 MiB": drift_bomb(LIMIT - 1024),
        "drift bomb: events [{},...], 5 KB": drift_bomb(5 * 1024),
    }


def drift_bomb(size: int) -> bytes:
    answer = json.loads(link_token_get_body(sessions=1))
    answer["link_sessions"][0]["events"] = []
    room = size - len(json.dumps(answer, separators=(",", ":")))
    answer["link_sessions"][0]["events"] = [{}] * (room // 3)
    return json.dumps(answer, separators=(",", ":")).encode()


def serve(body: bytes, port: Any, ready: Any) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port.value = server.server_address[1]
    ready.set()
    server.serve_forever()


async def stall_during_call(plaid: AsyncLinkSession) -> float:
    request = m.LinkTokenGetRequest(link_token="link-sandbox-x")
    call = asyncio.create_task(plaid.link_token_get(request))
    worst = 0.0
    while not call.done():
        before = time.perf_counter()
        await asyncio.sleep(0.001)
        worst = max(worst, time.perf_counter() - before - 0.001)
    # The hostile shapes are not a LinkTokenGetResponse: parsed, then refused.
    with contextlib.suppress(PlaidLinkError):
        await call
    return worst


MODES = {"speedups": True, "standard json": False} if _json.SPEEDUPS else {"standard json": False}


async def measure(url: str, rounds: int) -> dict[str, list[float]]:
    """Each mode's stalls, one a round, the modes alternating within each round."""
    # The drift warnings would print once per shape; they are not what is measured.
    logging.getLogger("plaid_link_async").setLevel(logging.ERROR)
    stalls: dict[str, list[float]] = {mode: [] for mode in MODES}
    async with AsyncLinkSession("bench-client", "bench-secret", base_url=url) as plaid:
        await stall_during_call(plaid)  # warm up
        for _ in range(rounds):
            for mode, speedups in MODES.items():
                _json.use_speedups(speedups)
                stalls[mode].append(await stall_during_call(plaid))
    return stalls


def on_loop(body: bytes) -> float:
    started = time.perf_counter()
    data = json.loads(body)
    if isinstance(data, dict):
        with contextlib.suppress(TooMuchDrift):  # refused, as the call refuses it
            read_tolerantly(m.LinkTokenGetResponse, data)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(f"max_response_bytes = {LIMIT:,} (the default); stall = longest gap in 1 ms ticks")
    for name, body in bodies().items():
        port, ready = multiprocessing.Value("i", 0), multiprocessing.Event()
        server = multiprocessing.Process(target=serve, args=(body, port, ready), daemon=True)
        server.start()
        ready.wait(10)
        try:
            stalls = asyncio.run(measure(f"http://127.0.0.1:{port.value}", args.rounds))
        finally:
            server.terminate()
            server.join()
        inline = statistics.median(on_loop(body) for _ in range(3))
        print(
            f"  {name:38} {len(body):>9,} bytes; parsing it on the loop (json) would take "
            f"{inline * 1e3:5.1f} ms"
        )
        for mode, found in stalls.items():
            print(
                f"    {mode:14} stall {statistics.median(found) * 1e3:5.1f} ms "
                f"(rounds {min(found) * 1e3:.1f} to {max(found) * 1e3:.1f})"
            )
    print("goal: no stall over 50 ms")


if __name__ == "__main__":
    main()
