"""Rows of a CSV or JSON Lines file turned into `LinkTokenCreateRequest`s, for the CLI."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ._converter import from_dict
from ._exceptions import PlaidLinkError, RequestValidationError, UnexpectedResponseError
from ._validation import validate
from .models import LinkTokenCreateRequest, LinkTokenCreateRequestUser


class InputError(PlaidLinkError, ValueError):
    """A row of the input cannot become a request; `row` and `field` say where."""

    def __init__(self, row: int, field: str, message: str) -> None:
        self.row = row
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [f"row {self.row}"] if self.row else []
        if self.field:
            parts.append(self.field)
        return ", ".join(parts) + f": {self.message}" if parts else self.message


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
    """One input row: its number (1 for the first data row), user id and request or error."""

    number: int
    user_id: str | None
    request: LinkTokenCreateRequest | None = None
    error: InputError | None = None


def split_list(value: str) -> list[str]:
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]


def build_request(
    row: int, fields: Mapping[str, Any], defaults: Defaults
) -> LinkTokenCreateRequest:
    """A checked request from the flat fields of one row (or one `--json` object).

    An object with a `user` key is taken as a whole `/link/token/create` body.
    """
    if "user" in fields:
        try:
            request = from_dict(LinkTokenCreateRequest, dict(fields))
        except UnexpectedResponseError as error:
            raise InputError(row, error.path, error.message) from None
    else:
        user_id = fields.get("user_id") or fields.get("client_user_id")
        if not user_id:
            raise InputError(row, "user_id", "missing (a user_id column or key is required)")
        client_name = fields.get("client_name") or defaults.client_name
        if not client_name:
            raise InputError(row, "client_name", "missing (a column or --client-name)")
        request = LinkTokenCreateRequest(
            client_name=str(client_name),
            language=str(fields.get("language") or defaults.language),
            country_codes=_list(fields.get("country_codes"), defaults.country_codes),
            user=LinkTokenCreateRequestUser(client_user_id=str(user_id)),
            products=_list(fields.get("products"), defaults.products) or None,
            webhook=fields.get("webhook") or defaults.webhook,
            redirect_uri=fields.get("redirect_uri") or defaults.redirect_uri,
        )
    try:
        # Strict here: a typo in a product name is the user's, not a newer Plaid value.
        validate(request)
    except RequestValidationError as error:
        first = error.errors[0]
        # The library's hint about allow_unknown_enum_values means nothing on the CLI.
        message = first.message.split(" (pass allow_unknown_enum_values")[0]
        raise InputError(row, first.path, message) from None
    return request


def _list(value: Any, default: Sequence[str]) -> list[Any]:
    if value is None or value == "":
        return list(default)
    if isinstance(value, list):
        return value
    return split_list(str(value))


def read_rows(path: Path, defaults: Defaults) -> Iterator[Row]:
    """The rows of a `.csv` (header line first) or `.jsonl` file, lazily."""
    if path.suffix.lower() == ".csv":
        yield from _csv_rows(path, defaults)
    else:
        yield from _jsonl_rows(path, defaults)


def _csv_rows(path: Path, defaults: Defaults) -> Iterator[Row]:
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"user_id", "client_user_id"} & set(reader.fieldnames):
            raise InputError(0, "user_id", f"{path.name} has no user_id column")
        for number, fields in enumerate(reader, start=1):
            yield _row(number, fields, defaults)


def _jsonl_rows(path: Path, defaults: Defaults) -> Iterator[Row]:
    # Undecodable bytes become U+FFFD and fail that row alone, not the whole file.
    with path.open(encoding="utf-8", errors="replace") as handle:
        number = 0
        for line in handle:
            if not line.strip():
                continue
            number += 1
            try:
                fields = json.loads(line)
            except json.JSONDecodeError as error:
                yield Row(number, None, error=InputError(number, "", f"not JSON: {error.msg}"))
                continue
            if not isinstance(fields, dict):
                yield Row(number, None, error=InputError(number, "", "not a JSON object"))
                continue
            yield _row(number, fields, defaults)


def _row(number: int, fields: Mapping[str, Any], defaults: Defaults) -> Row:
    user = fields.get("user")
    user_id = fields.get("user_id") or fields.get("client_user_id")
    if user_id is None and isinstance(user, Mapping):
        user_id = user.get("client_user_id")
    try:
        request = build_request(number, fields, defaults)
    except InputError as error:
        return Row(number, None if user_id is None else str(user_id), error=error)
    return Row(number, request.user.client_user_id, request=request)
