"""`python -m plaid_link_async.testing`: serve the fake Plaid server until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from ._server import DEFAULT_CLIENT_ID, DEFAULT_SECRET, FakePlaidServer


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The fake server's options; `plaid-link fake-server` shares them."""
    parser = parser or argparse.ArgumentParser(
        prog="python -m plaid_link_async.testing",
        description="Serve the fake Plaid Link API (for tests, in any language).",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (127.0.0.1; loopback only)"
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="UNSAFE: let --host be a non-loopback address, serving other machines (the "
        "control API still answers loopback peers only)",
    )
    parser.add_argument("--port", type=int, default=0, help="port to bind (0: a free one)")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay every answer by this much"
    )
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="client id to accept")
    parser.add_argument("--secret", default=DEFAULT_SECRET, help="secret to accept")
    parser.add_argument(
        "--max-recorded",
        type=int,
        default=0,
        help="keep this many requests for the control API's /_fake/requests (0)",
    )
    parser.add_argument(
        "--webhook-url",
        help="send Link webhooks here for tokens created without a webhook (loopback only)",
    )
    parser.add_argument(
        "--webhook-time-scale",
        type=float,
        default=1.0,
        help="run Plaid's webhook retry schedule this much faster (1.0: as Plaid does)",
    )
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=100_000,
        help="link tokens remembered for /link/token/get; the oldest are forgotten (100000)",
    )
    parser.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        metavar="OPERATION=N",
        help="answer calls of OPERATION beyond N a second (per client id) with 429, as "
        "Plaid does; repeat for more operations",
    )
    return parser


def rate_limits(values: Sequence[str]) -> dict[str, int]:
    """`--rate-limit` values as a mapping; a SystemExit naming a malformed one."""
    limits = {}
    for value in values:
        name, _, count = value.partition("=")
        if not count.strip().isdigit():
            raise SystemExit(
                f"--rate-limit {value!r}: expected OPERATION=N, such as link_token_create=50"
            )
        limits[name.strip()] = int(count)
    return limits


async def serve(args: argparse.Namespace) -> None:
    """Serve until SIGINT or SIGTERM; the URL is the first line printed."""
    fake = FakePlaidServer(
        client_id=args.client_id,
        secret=args.secret,
        host=args.host,
        port=args.port,
        latency=args.latency_ms / 1000,
        # Off unless asked for: a long-running server would grow by every request.
        max_recorded=args.max_recorded,
        max_tokens=args.max_tokens,
        default_webhook=args.webhook_url,
        webhook_time_scale=args.webhook_time_scale,
        allow_remote=args.allow_remote,
        rate_limits=rate_limits(args.rate_limit),
    )
    if args.allow_remote:
        print(
            f"WARNING: the fake Plaid server serves {args.host}, not only this machine: "
            "anyone who reaches it can create tokens and read the request log",
            file=sys.stderr,
            flush=True,
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no signal handlers
            loop.add_signal_handler(signum, stop.set)
    async with fake:
        print(fake.url, flush=True)
        print(
            f"fake Plaid server: client_id={fake.client_id}, Plaid-Version 2020-09-14; "
            "Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args))
    except (ValueError, OSError) as error:  # a refused --host, a port in use
        print(f"fake Plaid server: error: {error}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
