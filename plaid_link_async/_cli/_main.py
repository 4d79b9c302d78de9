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
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from . import _commands as commands
from ._common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CommandError,
    defaults_for,
    say,
)
from ._parser import build_parser

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        asyncio.run(run_demo())
        return 0
    if args.command == "fake-server":
        from ..testing.__main__ import main as serve

        return serve(argv=_fake_server_argv(args))
    from .._calls._scrubbing import Scrubber

    scrub = Scrubber(args.secret or os.environ.get("PLAID_SECRET") or "")
    if args.verbose or args.debug:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("plaid_link_async").setLevel(logging.DEBUG)
    try:
        return _dispatch(args, scrub)
    except KeyboardInterrupt:
        say("interrupted")
        return EXIT_INTERRUPTED
    except CommandError as error:
        say(f"error: {error}", scrub)
        return error.code
    except Exception as error:
        code, message = _classify(error)
        if args.debug and code == EXIT_FAILED:
            text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            print(scrub.text(text), file=sys.stderr, end="")
        say(f"error: {message}", scrub)
        return code


def _classify(error: Exception) -> tuple[int, str]:
    """The exit code and the one line for an exception no command handled itself."""
    from .._errors._exceptions import ConfigurationError, PlaidLinkError, RequestValidationError
    from ..fleet._errors import CampaignError
    from ._journal import JournalError
    from ._lockfile import LockedError
    from ._records import InputError

    if type(error).__module__.startswith("redis"):
        return _redis_failure(error)
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


def _redis_failure(error: Exception) -> tuple[int, str]:
    """Redis refusing the URL's credentials (usage), or away (a failure at run time):
    one line, without the URL, which may hold a password."""
    from redis.exceptions import AuthenticationError, AuthorizationError, OutOfMemoryError

    from ..fleet._outage import describe, is_outage

    if isinstance(error, (AuthenticationError, AuthorizationError)):
        return EXIT_USAGE, (
            f"Redis refused the credentials of the URL ({describe(error)}): check the "
            "password in --redis or $PLAID_LINK_REDIS_URL"
        )
    if isinstance(error, OutOfMemoryError):
        return EXIT_USAGE, "Redis is out of memory (its maxmemory): give it room, then run again"
    if is_outage(error):
        return EXIT_FAILED, f"Redis unreachable ({describe(error)}): is it running, at that URL?"
    return EXIT_FAILED, f"Redis failed: {describe(error)}"


def _dispatch(args: argparse.Namespace, scrub: Any) -> int:
    command = f"{args.command} {getattr(args, 'action', '')}".strip()
    if args.command in ("worker", "campaign"):
        from . import _campaign_commands as campaigns

        if command == "campaign start":
            return campaigns.start(args, defaults_for(args))
        run = {
            "worker": campaigns.worker,
            "campaign status": campaigns.show_status,
            "campaign list": campaigns.show_list,
            "campaign export": campaigns.export,
            "campaign cancel": campaigns.cancel,
            "campaign delete": campaigns.delete,
            "campaign retry": campaigns.retry,
        }[command]
        return run(args)
    if command == "token create":
        request = commands.token_request(args)
        return asyncio.run(commands.token_create(args, request, scrub))
    if command == "token get":
        return asyncio.run(commands.token_get(args, scrub))
    if command == "webhook verify":
        return asyncio.run(commands.webhook_verify(args, scrub))
    assert command == "batch create"
    return commands.batch_create(args, scrub)


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


if __name__ == "__main__":
    sys.exit(main())
