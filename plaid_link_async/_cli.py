"""`plaid-link` (and `python -m plaid_link_async`): the command line.

    plaid-link demo
    plaid-link fake-server [--host H] [--port N] [--latency-ms N]
    plaid-link token create --client-user-id ID --client-name NAME --products auth [...] [--json]
    plaid-link token create --json-input FILE|-
    plaid-link token get LINK_TOKEN [--json]
    plaid-link batch create --input users.csv --output tokens.jsonl [--concurrency N]
    plaid-link webhook verify --body body.json --headers headers.txt

Credentials come from PLAID_CLIENT_ID / PLAID_SECRET (or flags), the environment from
PLAID_ENV or --env; --base-url points at the fake server. The secret is never printed:
every line the command writes passes through the session's scrubber.

Every failure is one line, `plaid-link: error: ...`, and an exit code: 2 for usage
(bad arguments, files or settings: nothing was sent), 1 for a failure at run time
(a call or a row failed, the batch was stopped), 130 for Ctrl-C. `--debug` adds the
traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from ._cli_input import command_line
from ._version import __version__

EXIT_FAILED = 1  # a call or a row failed, or the batch was stopped
EXIT_USAGE = 2  # bad arguments, files or configuration: nothing was sent
EXIT_INTERRUPTED = 130
PROG = "plaid-link"


class CommandError(Exception):
    """A failure the command reports as one line with its exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, like every other failure; argparse's usage block would be a second.
        _say(f"error: {message} (see {self.prog} --help)")
        raise SystemExit(EXIT_USAGE)


def _say(line: str, scrub: Any = None) -> None:
    text = scrub.text(line) if scrub is not None else line
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Asyncio client for Plaid's Link API.")
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
    campaign = commands.add_parser("campaign", help="Link campaigns on a queue (fleet extra)")
    actions = campaign.add_subparsers(dest="action", required=True, metavar="ACTION")
    start = actions.add_parser("start", help="feed (or resume) campaign NAME from a file")
    start.add_argument("name")
    start.add_argument("--input", required=True, type=Path, help="users.csv or users.jsonl")
    start.add_argument("--encoding", default="utf-8", help="the input's text encoding")
    start.add_argument("--max-per-second", type=float, help="the fleet's calls a second")
    start.add_argument(
        "--hosted-link", choices=["sms", "email"], help="deliver each row's Hosted Link"
    )
    start.add_argument("--wait", action="store_true", help="return when every row has a result")
    start.add_argument(
        "--job-timeout",
        type=int,
        default=120,
        help="seconds a row's job may run before another worker takes it over (120)",
    )
    start.add_argument(
        "--max-queued",
        type=int,
        default=10_000,
        help="jobs kept queued at most; the feeder waits below it (10000)",
    )
    start.add_argument("--no-progress", action="store_true", help="no progress bar with --wait")
    start.add_argument("--redis", metavar="URL", help="default: $PLAID_LINK_REDIS_URL")
    _request_options(start)
    for name, text in (("status", "counts of campaign NAME"), ("cancel", "stop feeding it")):
        action = actions.add_parser(name, help=text)
        action.add_argument("name")
        action.add_argument("--redis", metavar="URL", help="default: $PLAID_LINK_REDIS_URL")
        if name == "status":
            action.add_argument("--json", action="store_true", help="one JSON object")
    export = actions.add_parser("export", help="one journal line per row of campaign NAME")
    export.add_argument("name")
    export.add_argument("--output", required=True, type=Path)
    export.add_argument("--redis", metavar="URL", help="default: $PLAID_LINK_REDIS_URL")
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        asyncio.run(run_demo())
        return 0
    if args.command == "fake-server":
        from .testing.__main__ import main as serve

        return serve(argv=_fake_server_argv(args))
    from ._scrub import Scrubber

    scrub = Scrubber(args.secret or os.environ.get("PLAID_SECRET") or "")
    if args.verbose or args.debug:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("plaid_link_async").setLevel(logging.DEBUG)
    try:
        return _dispatch(args, scrub)
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
    except CommandError as error:
        _say(f"error: {error}", scrub)
        return error.code
    except Exception as error:
        code, message = _classify(error)
        if args.debug and code == EXIT_FAILED:
            text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            print(scrub.text(text), file=sys.stderr, end="")
        _say(f"error: {message}", scrub)
        return code


def _classify(error: Exception) -> tuple[int, str]:
    """The exit code and the one line for an exception no command handled itself."""
    from ._cli_input import InputError
    from ._cli_journal import JournalError
    from ._exceptions import ConfigurationError, PlaidLinkError, RequestValidationError
    from ._lockfile import LockedError
    from .fleet._campaign import CampaignError

    usage = (
        CampaignError,
        ConfigurationError,
        JournalError,
        LockedError,
        InputError,
        RequestValidationError,
    )
    if isinstance(error, usage):
        return EXIT_USAGE, str(error)
    if isinstance(error, PlaidLinkError):
        return EXIT_FAILED, str(error)
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return EXIT_USAGE, f"{where}{error.strerror or type(error).__name__}"
    return EXIT_FAILED, (
        f"unexpected {type(error).__name__}: {str(error)[:200]} "
        "(run again with --debug for a traceback, and please report it)"
    )


def _dispatch(args: argparse.Namespace, scrub: Any) -> int:
    command = f"{args.command} {getattr(args, 'action', '')}".strip()
    if args.command in ("worker", "campaign"):
        from . import _cli_campaign as campaigns

        if command == "worker":
            return campaigns.worker(args, _session)
        if command == "campaign start":
            return campaigns.start(args, _defaults(args))
        if command == "campaign status":
            return campaigns.show_status(args)
        if command == "campaign export":
            return campaigns.export(args)
        return campaigns.cancel(args)
    if command == "token create":
        request = _token_request(args)
        return asyncio.run(_token_create(args, request, scrub))
    if command == "token get":
        return asyncio.run(_token_get(args, scrub))
    if command == "webhook verify":
        return asyncio.run(_webhook_verify(args, scrub))
    assert command == "batch create"
    return _batch_create(args, scrub)


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
        "--webhook-time-scale",
        str(args.webhook_time_scale),
        "--max-recorded",
        str(args.max_recorded),
        *(["--webhook-url", args.webhook_url] if args.webhook_url else []),
        *(["--allow-remote"] if args.allow_remote else []),
        *(item for value in args.rate_limit for item in ("--rate-limit", value)),
    ]


def _session(args: argparse.Namespace, **extra: Any) -> Any:
    from ._config import env_redis_url
    from ._session import AsyncLinkSession

    # Named as this command names them, not as the library's arguments.
    missing = [
        f"{flag} or ${variable}"
        for flag, value, variable in (
            ("--client-id", args.client_id, "PLAID_CLIENT_ID"),
            ("--secret", args.secret, "PLAID_SECRET"),
        )
        if not value and not os.environ.get(variable)
    ]
    if missing:
        raise CommandError("missing Plaid credentials: " + ", ".join(missing))
    options: dict[str, Any] = {}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.redis:
        options["redis_url"] = args.redis
    # With Redis, `batch create --max-per-second` is the fleet's limit, kept by the
    # session for every process; without it, the batch paces this process alone.
    rate = getattr(args, "max_per_second", None)
    if rate is not None and (args.redis or env_redis_url()):
        options["max_per_second"] = rate
    return AsyncLinkSession(
        args.client_id,
        args.secret,
        environment=args.env,
        base_url=args.base_url,
        **{**options, **extra},
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


def _token_request(args: argparse.Namespace) -> Any:
    """The request `token create` sends; a `CommandError` if the input is bad."""
    from ._cli_input import build_request

    if not args.json_input:
        return build_request(0, {"user_id": args.user_id}, _defaults(args), source="flag")
    name = "stdin" if args.json_input == "-" else args.json_input
    data = _read_input(args.json_input, "--json-input")
    try:
        fields = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise CommandError(f"{name}: not UTF-8 (at byte {error.start + 1})") from None
    except json.JSONDecodeError as error:
        raise CommandError(f"{name}: not JSON: {error.msg} (line {error.lineno})") from None
    except RecursionError:
        raise CommandError(f"{name}: JSON nested too deep") from None
    if not isinstance(fields, dict):
        raise CommandError(f"{name}: not a JSON object")
    return build_request(0, fields, _defaults(args), source="key")


async def _token_create(args: argparse.Namespace, request: Any, scrub: Any) -> int:
    async with _session(args) as plaid:
        created = await plaid.link_token_create(request)
    _show(args, created, ["link_token", "expiration", "request_id", "hosted_link_url"], scrub)
    return 0


async def _token_get(args: argparse.Namespace, scrub: Any) -> int:
    import datetime

    from ._datetimes import format_datetime
    from .models import LinkTokenGetRequest

    async with _session(args) as plaid:
        info = await plaid.link_token_get(LinkTokenGetRequest(link_token=args.link_token))
    if args.json:
        _show(args, info, [], scrub)
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
        if isinstance(value, datetime.datetime):
            value = format_datetime(value)  # as `token create` and --json print them
        if value is not None:
            print(scrub.text(f"{key + ':':15} {value}"))
    return 0


async def _webhook_verify(args: argparse.Namespace, scrub: Any) -> int:
    from ._converter import to_dict
    from ._webhooks import UnknownWebhook, WebhookVerificationError

    body = _read_input(args.body, "--body")
    headers: dict[str, str] = {}
    for name, value in _read_headers(args):
        # The library reads the first header of a name, in any case; so does this.
        if not any(name.lower() == known.lower() for known in headers):
            headers[name] = value
    async with _session(args) as plaid:
        plaid.webhooks.max_age = args.max_age
        try:
            webhook = await plaid.verify_webhook(body, headers)
        except WebhookVerificationError as error:
            raise CommandError(str(error), EXIT_FAILED) from None
    if isinstance(webhook, UnknownWebhook):
        kind, code, data = webhook.webhook_type, webhook.webhook_code, dict(webhook.payload)
    else:
        data = to_dict(webhook)
        kind, code = data.get("webhook_type"), data.get("webhook_code")
    if args.json:
        print(scrub.text(json.dumps(data, indent=2)))
    else:
        print(
            scrub.text(
                f"verified: {kind} {code}"
                + (" (unknown to this version)" if isinstance(webhook, UnknownWebhook) else "")
            )
        )
    return 0


def _read_input(name: str, flag: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    path = Path(name)
    if path.is_dir():
        raise CommandError(f"{flag} is a folder, not a file: {path}")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CommandError(f"no such {flag} file: {path}") from None


def _read_headers(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The headers, in order, `--header` flags first: `verify_webhook` takes the first of
    a repeated name, so a flag overrides the file."""
    lines: list[str] = list(args.header)
    if not args.headers:
        return _header_lines(lines)
    text = _read_input(args.headers, "--headers").decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        # Not JSON: `Name: value` lines (a JSON file nested past Python's limit is
        # no header file either, and fails below as lines without a header).
        return _header_lines([*lines, *text.splitlines()])
    if not isinstance(data, dict):
        raise CommandError("--headers: a JSON file must hold an object")
    pairs = []
    for name, value in data.items():
        if not isinstance(value, str):
            raise CommandError(
                f"--headers: the value of {name[:60]!r} must be a string, not "
                f"{type(value).__name__}"
            )
        pairs.append((name, value))
    return _header_lines(lines) + pairs


def _header_lines(lines: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for line in lines:
        if ":" in line:
            name, value = line.split(":", 1)
            pairs.append((name.strip(), value.strip()))
    return pairs


def _show(args: argparse.Namespace, model: Any, keys: list[str], scrub: Any) -> None:
    from ._converter import to_dict

    data = to_dict(model)
    if args.json:
        print(scrub.text(json.dumps(data, indent=2)))
        return
    for key in keys:
        if key in data:
            print(scrub.text(f"{key + ':':15} {data[key]}"))


def _batch_create(args: argparse.Namespace, scrub: Any) -> int:
    from ._cli_batch import Summary, progress_display, run_batch
    from ._cli_input import check_encoding, read_records
    from ._cli_journal import Journal, JournalWriteError, check_paths

    check_paths(args.input, args.output)
    encoding = check_encoding(args.encoding)
    if args.concurrency < 1:
        raise CommandError(f"--concurrency must be at least 1, got {args.concurrency}")
    plaid = _session(args)  # before the journal: bad settings are refused untouched
    journal = Journal.open(args.output, new=args.new_journal)
    summary = Summary()
    try:
        if journal.moved_to is not None:
            _say(f"moved the old journal to {journal.moved_to}")
        # The first pass checks the journal and counts the rows: the bar gets a total and
        # an ETA, and the rows done by an earlier run show as done.
        summary.total = journal.check(read_records(args.input, encoding), args.input.name)
        summary.skipped = journal.count_done(
            summary.total,
            retry_failed=args.retry_failed,
            retry_ambiguous=args.retry_ambiguous,
        )
        progress = progress_display(
            not args.no_progress and sys.stderr.isatty(),
            sys.stderr,
            total=summary.total,
            initial=summary.skipped,
        )

        async def run() -> None:
            async with plaid:
                await run_batch(
                    plaid,
                    args.input,
                    journal,
                    _defaults(args),
                    summary,
                    encoding=encoding,
                    concurrency=args.concurrency,
                    # Kept by the session when it is the fleet's (see _session above).
                    max_per_second=None if plaid.max_per_second else args.max_per_second,
                    retry_failed=args.retry_failed,
                    retry_ambiguous=args.retry_ambiguous,
                    progress=progress,
                    report=lambda line: _say(f"error: {line}", scrub),
                )

        try:
            asyncio.run(run())
        finally:
            close = getattr(progress, "close", None)
            if close is not None:
                close()
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        try:
            journal.close()
        except JournalWriteError as error:
            summary.stopped_by = summary.stopped_by or error
    _say(scrub.text(summary.line()))
    if summary.interrupted:
        _say(f"interrupted; to resume, run the same command again: {command_line()}")
        return EXIT_INTERRUPTED
    if isinstance(summary.stopped_by, JournalWriteError):
        _say(
            f"error: stopped: {summary.stopped_by}. Calls that finished but could not be "
            "journaled are made again on resume; free space (or raise the file size "
            f"limit), then run the same command again: {command_line()}",
            scrub,
        )
        return EXIT_FAILED
    if summary.stopped_by is not None:
        _say(
            f"error: stopped: {summary.stopped_by}; no row can succeed with these "
            "settings. Fix them and run the same command again: rows not done are resumed",
            scrub,
        )
        return EXIT_FAILED
    if summary.ambiguous:
        _say(
            f"{summary.ambiguous} rows may have been processed by Plaid (see their journal "
            "lines); a resume leaves them alone unless given --retry-ambiguous"
        )
    return EXIT_FAILED if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
