"""Rows of a CSV or JSON Lines file turned into `LinkTokenCreateRequest`s, for the CLI.

A bad row is that row's error, never the whole file's. The file is read into
`Record`s by `_records`; here each becomes a checked request, with the defaults
the command line gives.
"""

from __future__ import annotations

import codecs
import shlex
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .._errors._exceptions import RequestValidationError, UnexpectedResponseError
from .._schema._converter import from_dict
from .._schema._request_rules import validate
from ..models import LinkTokenCreateRequest, LinkTokenCreateRequestUser
from ._records import DEFAULT_ENCODING, InputError, read_records


@attrs.frozen
class Defaults:
    """What a row does not say: from the command line."""

    client_name: str | None = None
    products: tuple[str, ...] = ()
    country_codes: tuple[str, ...] = ("US",)
    language: str = "en"
    webhook: str | None = None
    redirect_uri: str | None = None


@attrs.frozen
class Row:
    """A `Record` made into a request, or the error that kept it from being one."""

    number: int
    user_id: str | None
    fingerprint: str
    request: LinkTokenCreateRequest | None = None
    error: InputError | None = None


def split_list(value: str) -> list[str]:
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]


def check_encoding(name: str) -> str:
    """`name` if Python knows the encoding; an `InputError` naming it otherwise."""
    try:
        codecs.lookup(name)
    except LookupError:
        raise InputError(0, "", f"unknown --encoding {name!r}") from None
    return name


def build_request(
    row: int, fields: Mapping[str, Any], defaults: Defaults, *, source: str = "column"
) -> LinkTokenCreateRequest:
    """A checked request from the flat fields of one row (or one `--json-input` object).

    An object with a `user` key is taken as a whole `/link/token/create` body. `source`
    names where fields come from in messages: "column" for files, "key" for a JSON
    object, "flag" for the command line.
    """
    if "user" in fields:
        try:
            request = from_dict(LinkTokenCreateRequest, dict(fields))
        except UnexpectedResponseError as error:
            raise InputError(row, error.path, error.message) from None
    else:
        user_id = fields.get("client_user_id") or fields.get("user_id")
        if not user_id:
            needed = "--client-user-id" if source == "flag" else f"a client_user_id {source}"
            raise InputError(row, "user_id", f"missing ({needed} is required)")
        client_name = fields.get("client_name") or defaults.client_name
        if not client_name:
            needed = (
                "--client-name" if source == "flag" else f"a client_name {source} or --client-name"
            )
            raise InputError(row, "client_name", f"missing ({needed} is required)")
        request = LinkTokenCreateRequest(
            client_name=str(client_name),
            language=str(fields.get("language") or defaults.language),
            country_codes=_list(fields.get("country_codes"), defaults.country_codes),
            user=LinkTokenCreateRequestUser(
                client_user_id=str(user_id),
                # For Hosted Link delivery (campaigns): where Plaid sends the URL.
                phone_number=fields.get("phone_number") or None,
                email_address=fields.get("email_address") or None,
            ),
            products=_list(fields.get("products"), defaults.products) or None,
            webhook=fields.get("webhook") or defaults.webhook,
            redirect_uri=fields.get("redirect_uri") or defaults.redirect_uri,
        )
    try:
        # Strict here: a typo in a product name is the user's, not a newer Plaid value.
        validate(request, strict=True)
    except RequestValidationError as error:
        first = error.errors[0]
        raise InputError(row, first.path, first.message) from None
    return request


def _list(value: Any, default: Sequence[str]) -> list[Any]:
    if value is None or value == "":
        return list(default)
    if isinstance(value, list):
        return value
    return split_list(str(value))


def read_rows(path: Path, defaults: Defaults, encoding: str = DEFAULT_ENCODING) -> Iterator[Row]:
    """The rows of a `.csv` (header line first) or `.jsonl` file, lazily, made requests."""
    for record in read_records(path, encoding):
        problem: InputError | None = None
        if record.problem is not None or record.fields is None:
            problem = InputError(record.number, "", record.problem or "no fields")
        else:
            try:
                request = build_request(record.number, record.fields, defaults)
            except InputError as error:
                problem = error
            except RecursionError:
                problem = InputError(record.number, "", "nested too deep")
        if problem is not None:
            yield Row(record.number, record.user_id, record.fingerprint, error=problem)
        else:
            user_id = request.user.client_user_id if request.user else record.user_id
            yield Row(record.number, user_id, record.fingerprint, request=request)


def command_line() -> str:
    """The command as typed, to say "run it again", with any `--secret` value hidden."""
    words = ["plaid-link", *sys.argv[1:]]
    for index, word in enumerate(words[:-1]):
        if word == "--secret":
            words[index + 1] = "$PLAID_SECRET"
    return " ".join(shlex.quote(word) for word in words)
