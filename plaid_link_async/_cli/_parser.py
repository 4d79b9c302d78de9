"""The `plaid-link` command line's arguments: one parser, its subcommands and options."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, NoReturn

from .._version import __version__
from ._common import EXIT_USAGE, PROG, say


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, like every other failure; argparse's usage block would be a second.
        say(f"error: {message} (see {self.prog} --help)")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Asyncio client for Plaid's Link API.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("demo", help="run every endpoint against the embedded fake Plaid server")

    from ..testing.__main__ import build_parser as fake_server_options

    fake_server_options(
        commands.add_parser("fake-server", help="serve the fake Plaid server until Ctrl-C")
    )

    token = commands.add_parser("token", help="create or read one link token")
    token_commands = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = token_commands.add_parser("create", help="create a link token")
    _connection_options(create)
    create.add_argument(
        "--client-user-id",
        "--user-id",
        dest="user_id",
        help="your own id for the end user (user.client_user_id); --user-id is its old name",
    )
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

    webhook = commands.add_parser("webhook", help="check a webhook as a receiver would")
    webhook_commands = webhook.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = webhook_commands.add_parser(
        "verify", help="verify a captured webhook's signature, then print it"
    )
    _connection_options(verify)
    verify.add_argument("--body", required=True, help="the raw body, from FILE or - for stdin")
    verify.add_argument(
        "--headers",
        metavar="FILE",
        help="the request's headers: a JSON object, or `Name: value` lines",
    )
    verify.add_argument(
        "--header", action="append", default=[], metavar="'NAME: VALUE'", help="one header"
    )
    verify.add_argument(
        "--max-age",
        type=float,
        default=300.0,
        help="accept a signature this many seconds old (300, Plaid's window; raise it "
        "for a captured webhook)",
    )
    verify.add_argument("--json", action="store_true", help="print the webhook as JSON")

    batch = commands.add_parser("batch", help="create link tokens for many users")
    batch_commands = batch.add_subparsers(dest="action", required=True, metavar="ACTION")
    many = batch_commands.add_parser(
        "create", help="a token per row of a CSV or JSON Lines file; resumable"
    )
    _connection_options(many)
    many.add_argument("--input", required=True, type=Path, help="users.csv or users.jsonl")
    many.add_argument(
        "--output", required=True, type=Path, help="tokens.jsonl: the journal, appended to"
    )
    many.add_argument(
        "--encoding", default="utf-8", help="the input's text encoding (utf-8; a BOM is fine)"
    )
    many.add_argument("--concurrency", type=int, default=32, help="calls in flight (32)")
    many.add_argument("--max-per-second", type=float, help="most calls started per second")
    many.add_argument(
        "--retry-failed",
        action="store_true",
        help="run again rows whose line is an error (not those with an unknown outcome)",
    )
    many.add_argument(
        "--retry-ambiguous",
        action="store_true",
        help="also run again rows whose outcome is unknown: Plaid may have acted on them "
        "(a Hosted Link may have been sent); see the journal's check first",
    )
    many.add_argument(
        "--new-journal",
        action="store_true",
        help="move an existing --output aside (kept as OUTPUT.<time>.old) and start over",
    )
    many.add_argument("--no-progress", action="store_true", help="no progress bar")
    _request_options(many)
    _campaign_commands(commands)
    return parser


def _campaign_name(value: str) -> str:
    from ..fleet._records import NAME

    if not NAME.match(value):
        raise argparse.ArgumentTypeError(
            f"campaign name {value[:60]!r} is not allowed: 1 to 100 letters, digits, '-', "
            "'_' or '.'"
        )
    return value


def _campaign_commands(commands: Any) -> None:
    worker = commands.add_parser("worker", help="run a campaign worker (saq) until SIGTERM")
    _connection_options(worker)
    worker.add_argument("--concurrency", type=int, default=10, help="jobs at once (10)")
    worker.add_argument(
        "--grace",
        type=int,
        default=10,
        help="seconds the jobs taken may finish on SIGTERM; the worker exits after it (10)",
    )
    worker.add_argument(
        "--sweep-seconds",
        type=int,
        default=10,
        help="how often jobs of a dead worker are looked for (10)",
    )
    worker.add_argument(
        "--metrics-port", type=int, help="serve Prometheus metrics on this port (metrics extra)"
    )
    worker.add_argument(
        "--metrics-host", default="127.0.0.1", help="the metrics' address (127.0.0.1)"
    )
    campaign = commands.add_parser("campaign", help="Link campaigns on a queue (fleet extra)")
    actions = campaign.add_subparsers(dest="action", required=True, metavar="ACTION")
    start = actions.add_parser("start", help="feed (or resume) campaign NAME from a file")
    start.add_argument("name", type=_campaign_name)
    start.add_argument("--input", required=True, type=Path, help="users.csv or users.jsonl")
    start.add_argument("--encoding", default="utf-8", help="the input's text encoding")
    start.add_argument(
        "--max-per-second",
        type=float,
        help="the fleet's calls a second, under Plaid's limit (default: "
        "$PLAID_LINK_MAX_PER_SECOND; one of them is required)",
    )
    start.add_argument(
        "--hosted-link", choices=["sms", "email"], help="deliver each row's Hosted Link"
    )
    start.add_argument(
        "--allow-volatile-redis",
        action="store_true",
        help="deliver even through a Redis without an append-only file or that evicts keys "
        "(a restart may then text a user twice)",
    )
    start.add_argument("--wait", action="store_true", help="return when every row has a result")
    start.add_argument(
        "--job-timeout",
        type=int,
        default=120,
        help="seconds a row's job may run before it is cancelled and run again (120)",
    )
    start.add_argument(
        "--job-heartbeat",
        type=int,
        default=15,
        help="seconds after which a job whose worker stopped touching it (killed) is taken "
        "back by another worker; a live worker touches its jobs three times in it (15)",
    )
    start.add_argument(
        "--max-queued",
        type=int,
        default=10_000,
        help="jobs kept queued at most; the feeder waits below it (10000)",
    )
    start.add_argument(
        "--keep-days",
        type=float,
        default=30.0,
        help="days the campaign's results (Hosted Link URLs among them) are kept after it "
        "ends (30)",
    )
    start.add_argument("--no-progress", action="store_true", help="no progress bar with --wait")
    start.add_argument("--client-id", help="the Plaid client id (default: $PLAID_CLIENT_ID)")
    start.add_argument("--redis", metavar="URL", help="default: $PLAID_LINK_REDIS_URL")
    _request_options(start)
    for name, text in (
        ("status", "what campaign NAME is doing"),
        ("cancel", "stop campaign NAME for good: no request of it starts afterwards"),
        ("delete", "remove every key of a finished or cancelled campaign NAME"),
        ("retry", "queue the failed rows of campaign NAME again"),
        ("export", "one journal line per row of campaign NAME"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("name", type=_campaign_name)
        action.add_argument("--redis", metavar="URL", help="default: $PLAID_LINK_REDIS_URL")
        if name == "status":
            action.add_argument("--json", action="store_true", help="one JSON object")
        if name == "retry":
            action.add_argument(
                "--unknown-deliveries",
                action="store_true",
                help="also rows whose text may have been sent (check the users' Link "
                "webhooks first)",
            )
        if name == "export":
            action.add_argument("--output", required=True, type=Path)
    listing = actions.add_parser("list", help="every campaign on this Redis")
    listing.add_argument("--redis", metavar="URL", help="default: $PLAID_LINK_REDIS_URL")
    listing.add_argument("--json", action="store_true", help="one JSON array")
    for parser in actions.choices.values():
        parser.set_defaults(secret=None, verbose=False, debug=False)  # no Plaid call here


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
    group.add_argument(
        "--redis",
        metavar="URL",
        help="share the rate limit with every process using this Redis and client id "
        "(the fleet extra; default: $PLAID_LINK_REDIS_URL)",
    )
    group.add_argument("-v", "--verbose", action="store_true", help="log every attempt")
    group.add_argument(
        "--debug", action="store_true", help="log every attempt; a traceback on unexpected errors"
    )


def _request_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("request defaults")
    group.add_argument("--client-name", help="the app name Link shows")
    group.add_argument("--products", default="", help="comma-separated: auth,transactions")
    group.add_argument("--country-codes", default="US", help="comma-separated (US)")
    group.add_argument("--language", default="en", help="Link's language (en)")
    group.add_argument("--webhook", help="webhook URL")
    group.add_argument("--redirect-uri", help="OAuth redirect URI")
