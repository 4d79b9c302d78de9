"""`plaid-link` (and `python -m plaid_link_async`): the command line.

    plaid-link demo
    plaid-link fake-server [--host H] [--port N] [--latency-ms N]
    plaid-link token create --user-id ID --client-name NAME --products auth [...] [--json]
    plaid-link token create --json-input FILE|-
    plaid-link token get LINK_TOKEN [--json]
    plaid-link batch create --input users.csv --output tokens.jsonl [--concurrency N]

Credentials come from PLAID_CLIENT_ID / PLAID_SECRET (or flags), the environment from
PLAID_ENV or --env; --base-url points at the fake server. The secret is never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._version import __version__

EXIT_FAILED = 1  # a call or a row failed
EXIT_USAGE = 2  # bad arguments or configuration
EXIT_INTERRUPTED = 130


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

    token = commands.add_parser("token", help="create or read one link token")
    token_commands = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = token_commands.add_parser("create", help="create a link token")
    _connection_options(create)
    create.add_argument("--user-id", help="your id for the end user (client_user_id)")
    create.add_argument(
        "--json-input",
        metavar="FILE",
        help="a JSON request body (or flat fields) from FILE, or - for stdin",
    )
    _request_options(create)
    create.add_argument("--json", action="store_true", help="print the answer as JSON")
    get = token_commands.add_parser("get", help="read a link token back")
    _connection_options(get)
    get.add_argument("link_token")
    get.add_argument("--json", action="store_true", help="print the answer as JSON")

    batch = commands.add_parser("batch", help="create link tokens for many users")
    batch_commands = batch.add_subparsers(dest="action", required=True, metavar="ACTION")
    many = batch_commands.add_parser(
        "create", help="a token per row of a CSV or JSON Lines file; resumable"
    )
    _connection_options(many)
    many.add_argument("--input", required=True, type=Path, help="users.csv or users.jsonl")
    many.add_argument("--output", required=True, type=Path, help="tokens.jsonl (appended)")
    many.add_argument("--concurrency", type=int, default=32, help="calls in flight (32)")
    many.add_argument("--max-per-second", type=float, help="most calls started per second")
    many.add_argument(
        "--retry-failed", action="store_true", help="run again rows whose line is an error"
    )
    many.add_argument("--no-progress", action="store_true", help="no progress bar")
    _request_options(many)
    return parser


def _connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--client-id", help="Plaid client id (default: $PLAID_CLIENT_ID)")
    group.add_argument(
        "--secret", help="Plaid secret (default: $PLAID_SECRET; prefer the variable)"
    )
    group.add_argument("--env", help="sandbox, development or production (default: $PLAID_ENV)")
    group.add_argument(
        "--base-url", help="another API root, such as the fake server's (default: $PLAID_BASE_URL)"
    )
    group.add_argument("--timeout", type=float, help="seconds per call, retries included")
    group.add_argument("-v", "--verbose", action="store_true", help="log every attempt")


def _request_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("request defaults")
    group.add_argument("--client-name", help="the app name Link shows")
    group.add_argument("--products", default="", help="comma-separated: auth,transactions")
    group.add_argument("--country-codes", default="US", help="comma-separated (US)")
    group.add_argument("--language", default="en", help="Link's language (en)")
    group.add_argument("--webhook", help="webhook URL")
    group.add_argument("--redirect-uri", help="OAuth redirect URI")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        asyncio.run(run_demo())
        return 0
    if args.command == "fake-server":
        from .testing.__main__ import main as serve

        return serve(argv=_fake_server_argv(args))
    if getattr(args, "verbose", False):
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("plaid_link_async").setLevel(logging.DEBUG)
    from ._exceptions import PlaidLinkError

    try:
        if args.command == "token" and args.action == "create":
            request = _token_request(args)
            if isinstance(request, int):
                return request
            return asyncio.run(_token_create(args, request))
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except PlaidLinkError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE


def _fake_server_argv(args: argparse.Namespace) -> list[str]:
    return [
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--latency-ms",
        str(args.latency_ms),
        "--client-id",
        args.client_id,
        "--secret",
        args.secret,
        "--max-tokens",
        str(args.max_tokens),
    ]


def _session(args: argparse.Namespace) -> Any:
    from ._session import AsyncLinkSession

    options: dict[str, Any] = {}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    return AsyncLinkSession(
        args.client_id, args.secret, environment=args.env, base_url=args.base_url, **options
    )


def _defaults(args: argparse.Namespace) -> Any:
    from ._cli_input import Defaults, split_list

    return Defaults(
        client_name=args.client_name,
        products=tuple(split_list(args.products)),
        country_codes=tuple(split_list(args.country_codes)),
        language=args.language,
        webhook=args.webhook,
        redirect_uri=args.redirect_uri,
    )


async def _run(args: argparse.Namespace) -> int:
    command = f"{args.command} {args.action}"
    if command == "token get":
        return await _token_get(args)
    assert command == "batch create"
    return await _batch_create(args)


def _token_request(args: argparse.Namespace) -> Any:
    """The request `token create` sends, or an exit code if the input is bad."""
    from ._cli_input import build_request

    if args.json_input:
        text = sys.stdin.read() if args.json_input == "-" else Path(args.json_input).read_text()
        try:
            fields = json.loads(text)
        except ValueError as error:
            print(f"error: {args.json_input}: not JSON: {error}", file=sys.stderr)
            return EXIT_USAGE
        if not isinstance(fields, dict):
            print(f"error: {args.json_input}: not a JSON object", file=sys.stderr)
            return EXIT_USAGE
    else:
        fields = {"user_id": args.user_id}
    return build_request(0, fields, _defaults(args))


async def _token_create(args: argparse.Namespace, request: Any) -> int:
    from ._exceptions import PlaidLinkError

    async with _session(args) as plaid:
        try:
            created = await plaid.link_token_create(request)
        except PlaidLinkError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_FAILED
    _show(args, created, ["link_token", "expiration", "request_id", "hosted_link_url"])
    return 0


async def _token_get(args: argparse.Namespace) -> int:
    from ._exceptions import PlaidLinkError
    from .models import LinkTokenGetRequest

    async with _session(args) as plaid:
        try:
            info = await plaid.link_token_get(LinkTokenGetRequest(link_token=args.link_token))
        except PlaidLinkError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_FAILED
    if args.json:
        _show(args, info, [])
        return 0
    meta = info.metadata
    lines = {
        "link_token": info.link_token,
        "created_at": info.created_at,
        "expiration": info.expiration,
        "client_name": meta.client_name,
        "products": ", ".join(str(p) for p in meta.initial_products),
        "country_codes": ", ".join(str(c) for c in meta.country_codes),
        "language": meta.language,
        "webhook": meta.webhook,
        "redirect_uri": meta.redirect_uri,
        "link_sessions": len(info.link_sessions or []),
        "request_id": info.request_id,
    }
    for key, value in lines.items():
        if value is not None:
            print(f"{key + ':':15} {value}")
    return 0


def _show(args: argparse.Namespace, model: Any, keys: list[str]) -> None:
    from ._converter import to_dict

    data = to_dict(model)
    if args.json:
        print(json.dumps(data, indent=2))
        return
    for key in keys:
        if key in data:
            print(f"{key + ':':15} {data[key]}")


async def _batch_create(args: argparse.Namespace) -> int:
    from ._cli_batch import run_batch
    from ._cli_input import InputError

    if not args.input.exists():
        print(f"error: no such input file: {args.input}", file=sys.stderr)
        return EXIT_USAGE
    async with _session(args) as plaid:
        try:
            summary = await run_batch(
                plaid,
                args.input,
                args.output,
                _defaults(args),
                concurrency=args.concurrency,
                max_per_second=args.max_per_second,
                retry_failed=args.retry_failed,
                show_progress=not args.no_progress and sys.stderr.isatty(),
            )
        except InputError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_USAGE
    print(summary.line(), file=sys.stderr)
    return EXIT_FAILED if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
