"""The `token`, `webhook verify` and `batch create` commands of `plaid-link`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from ._common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    CommandError,
    defaults_for,
    say,
    session_for,
)
from ._input_rows import command_line


def token_request(args: argparse.Namespace) -> Any:
    """The request `token create` sends; a `CommandError` if the input is bad."""
    from ._input_rows import build_request

    if not args.json_input:
        return build_request(0, {"user_id": args.user_id}, defaults_for(args), source="flag")
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
    return build_request(0, fields, defaults_for(args), source="key")


async def token_create(args: argparse.Namespace, request: Any, scrub: Any) -> int:
    async with session_for(args) as plaid:
        created = await plaid.link_token_create(request)
    _show(args, created, ["link_token", "expiration", "request_id", "hosted_link_url"], scrub)
    return 0


async def token_get(args: argparse.Namespace, scrub: Any) -> int:
    import datetime

    from .._wire._datetimes import format_datetime
    from ..models import LinkTokenGetRequest

    async with session_for(args) as plaid:
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


async def webhook_verify(args: argparse.Namespace, scrub: Any) -> int:
    from .._errors._webhook import WebhookVerificationError
    from .._schema._converter import to_dict
    from .._webhooks._parsing import UnknownWebhook

    body = _read_input(args.body, "--body")
    headers: dict[str, str] = {}
    for name, value in _read_headers(args):
        # The library reads the first header of a name, in any case; so does this.
        if not any(name.lower() == known.lower() for known in headers):
            headers[name] = value
    async with session_for(args) as plaid:
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
    from .._schema._converter import to_dict

    data = to_dict(model)
    if args.json:
        print(scrub.text(json.dumps(data, indent=2)))
        return
    for key in keys:
        if key in data:
            print(scrub.text(f"{key + ':':15} {data[key]}"))


def batch_create(args: argparse.Namespace, scrub: Any) -> int:
    from ._batch_command import Summary, progress_display, run_batch
    from ._input_rows import check_encoding
    from ._journal import Journal, JournalWriteError, check_paths
    from ._records import read_records

    check_paths(args.input, args.output)
    encoding = check_encoding(args.encoding)
    if args.concurrency < 1:
        raise CommandError(f"--concurrency must be at least 1, got {args.concurrency}")
    plaid = session_for(args)  # before the journal: bad settings are refused untouched
    journal = Journal.open(args.output, new=args.new_journal)
    summary = Summary()
    try:
        if journal.moved_to is not None:
            say(f"moved the old journal to {journal.moved_to}")
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
                    defaults_for(args),
                    summary,
                    encoding=encoding,
                    concurrency=args.concurrency,
                    # Kept by the session when it is the fleet's (see _session above).
                    max_per_second=None if plaid.max_per_second else args.max_per_second,
                    retry_failed=args.retry_failed,
                    retry_ambiguous=args.retry_ambiguous,
                    progress=progress,
                    report=lambda line: say(f"error: {line}", scrub),
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
    say(scrub.text(summary.line()))
    if summary.interrupted:
        say(f"interrupted; to resume, run the same command again: {command_line()}")
        return EXIT_INTERRUPTED
    if isinstance(summary.stopped_by, JournalWriteError):
        say(
            f"error: stopped: {summary.stopped_by}. Calls that finished but could not be "
            "journaled are made again on resume; free space (or raise the file size "
            f"limit), then run the same command again: {command_line()}",
            scrub,
        )
        return EXIT_FAILED
    if summary.stopped_by is not None:
        say(
            f"error: stopped: {summary.stopped_by}; no row can succeed with these "
            "settings. Fix them and run the same command again: rows not done are resumed",
            scrub,
        )
        return EXIT_FAILED
    if summary.ambiguous:
        say(
            f"{summary.ambiguous} rows may have been processed by Plaid (see their journal "
            "lines); a resume leaves them alone unless given --retry-ambiguous"
        )
    return EXIT_FAILED if summary.failed else 0
