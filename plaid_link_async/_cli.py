"""`plaid-link` (and `python -m plaid_link_async`): the command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence

from ._version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plaid-link", description="Asyncio client for Plaid's Link API."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("demo", help="run every endpoint against the embedded fake Plaid server")
    from .testing.__main__ import build_parser as fake_server_options

    fake_server_options(
        commands.add_parser("fake-server", help="serve the fake Plaid server until Ctrl-C")
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        asyncio.run(run_demo())
        return 0
    if args.command == "fake-server":
        from .testing.__main__ import serve

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args))
        return 0
    raise AssertionError(args.command)  # pragma: no cover - argparse rejects the rest


if __name__ == "__main__":
    sys.exit(main())
