"""Instructions per call, counted by valgrind's callgrind: the view without the noise.

    python bench/instructions.py [--calls 1000]

CPU time on a shared machine moves by ±30% between rounds; the instructions a
process executes move by about 1% between runs, as long as nothing else (a server, the
network) decides how the work is cut. So this counts only work with no network in it:

1. the library's own work per `link_token_create`, with the transport handed a canned
   300-byte answer (everything but aiohttp: checking and writing the request, the
   retry decision, reading and structuring the answer), with and without `speedups`;
2. the parse of `parse.py`'s 9 KB answer, against `json.loads` and plaid-python.

Each runs in its own process under `valgrind --tool=callgrind`, twice, with none and
with `--calls` calls after a warm-up; the difference over `--calls` cancels start-up
and imports. Needs valgrind (`apt-get install valgrind`); without it, says so.
Instructions are not time (a cache miss costs more than an add): `calls.py` and
`parse.py` measure the goals, and this shows where a change moved the work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

WARM_UP = 100


def count(args: list[str]) -> int:
    """Instructions the Python process `args` executed, by callgrind."""
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no count: {run.stderr[-500:]}")
    return int(found.group(1))


def per_call(args: list[str], calls: int) -> float:
    return (count([*args, str(calls)]) - count([*args, "0"])) / calls


# -- the contenders, each run in the process callgrind watches --------------------------


def run_calls(who: str, calls: int) -> None:
    from calls import REQUEST

    from plaid_link_async import AsyncLinkSession, TransportRequest, TransportResponse
    from plaid_link_async._wire import _json

    _json.use_speedups(who == "speedups")
    answer = TransportResponse(
        200,
        {"Content-Type": "application/json"},
        b'{"link_token":"link-sandbox-0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9",'
        b'"expiration":"2026-12-01T04:00:00Z","request_id":"Nnclj9HntPMu0m1"}',
    )

    class Canned:
        """A transport with one answer, ready: the library's own work, no socket."""

        async def send(self, request: TransportRequest) -> TransportResponse:
            return answer

    async def main() -> None:
        base = "http://127.0.0.1:9"
        async with AsyncLinkSession("id", "secret", base_url=base, transport=Canned()) as plaid:
            for _ in range(WARM_UP + calls):
                await plaid.link_token_create(REQUEST)

    asyncio.run(main())


def run_parse(who: str, calls: int) -> None:
    from _bodies import link_token_get_body
    from parse import ours, plaid_python_deserializer

    from plaid_link_async import TransportResponse

    body = link_token_get_body(sessions=3)
    raw = TransportResponse(200, {"Content-Type": "application/json"}, body)
    contenders: dict[str, Any] = {
        "json.loads": lambda: json.loads(body),
        "standard json": lambda: ours(raw, False),
        "speedups": lambda: ours(raw, True),
        "plaid-python": plaid_python_deserializer(body),
    }
    parse = contenders[who]
    for _ in range(5 + calls):
        parse()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        kind, who, calls = sys.argv[2:]
        (run_calls if kind == "calls" else run_parse)(who, int(calls))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install valgrind")
        return
    from calls import MODES

    names = {True: "speedups", False: "standard json"}
    print(f"1. the library's own work per link_token_create ({args.calls} calls, canned answer)")
    for mode in MODES:
        ours = per_call(["--inside", "calls", names[mode]], args.calls)
        print(f"  {names[mode]:30} {ours:10,.0f} instructions")
    parses = max(20, args.calls // 5)
    print(f"2. parsing the 9 KB LinkTokenGetResponse ({parses} parses)")
    base = per_call(["--inside", "parse", "json.loads"], parses)
    print(f"  json.loads                     {base:10,.0f} instructions")
    figures = {}
    for mode in MODES:
        figures[mode] = per_call(["--inside", "parse", names[mode]], parses)
        print(f"  ours, {names[mode]:24} {figures[mode]:10,.0f}  = {figures[mode] / base:.2f}x")
    try:
        import plaid  # noqa: F401
    except ImportError:
        return
    theirs = per_call(["--inside", "parse", "plaid-python"], max(5, parses // 20))
    print(f"  plaid-python                   {theirs:10,.0f}")
    for mode in MODES:
        print(f"  plaid-python / ours, {names[mode]}: {theirs / figures[mode]:.1f}x")


if __name__ == "__main__":
    main()
