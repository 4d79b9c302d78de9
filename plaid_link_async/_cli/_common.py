"""What the command line's parts share: exit codes, the one-line failure, and the
session and request defaults built from the parsed arguments."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

EXIT_FAILED = 1  # a call or a row failed, or the batch was stopped
EXIT_USAGE = 2  # bad arguments, files or configuration: nothing was sent
EXIT_INTERRUPTED = 130
PROG = "plaid-link"


class CommandError(Exception):
    """A failure the command reports as one line with its exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def say(line: str, scrub: Any = None) -> None:
    text = scrub.text(line) if scrub is not None else line
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


def session_for(args: argparse.Namespace, **extra: Any) -> Any:
    from .._calls._settings import env_redis_url
    from .._session._session import AsyncLinkSession

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


def defaults_for(args: argparse.Namespace) -> Any:
    from ._input_rows import Defaults, split_list

    return Defaults(
        client_name=args.client_name,
        products=tuple(split_list(args.products)),
        country_codes=tuple(split_list(args.country_codes)),
        language=args.language,
        webhook=args.webhook,
        redirect_uri=args.redirect_uri,
    )
