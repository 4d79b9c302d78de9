"""Requests are checked against the contract's constraints before anything is sent."""

from __future__ import annotations

import datetime
from typing import Any

import attrs
import pytest

from plaid_link_async import PlaidLinkError, RequestValidationError, models, validate
from plaid_link_async._schema._request_rules import unknown_enum_values


def _request(**changes: Any) -> models.LinkTokenCreateRequest:
    fields: dict[str, Any] = {
        "client_name": "App",
        "language": "en",
        "country_codes": ["US"],
        "user": models.LinkTokenCreateRequestUser(client_user_id="user-1"),
        "products": ["auth", models.Products.TRANSACTIONS],
    }
    fields.update(changes)
    return models.LinkTokenCreateRequest(**fields)


def _errors(request: Any, **options: Any) -> dict[str, str]:
    with pytest.raises(RequestValidationError) as caught:
        validate(request, **options)
    return {error.path: error.message for error in caught.value.errors}


def test_a_valid_request_passes() -> None:
    validate(_request())


def test_the_error_is_a_value_error_and_a_library_error() -> None:
    assert issubclass(RequestValidationError, ValueError)
    assert issubclass(RequestValidationError, PlaidLinkError)


def test_min_length() -> None:
    assert _errors(_request(client_name="")) == {
        "client_name": "must be at least 1 character(s) long"
    }


def test_min_length_nested() -> None:
    user = models.LinkTokenCreateRequestUser(client_user_id="")
    assert list(_errors(_request(user=user))) == ["user.client_user_id"]


def test_min_items() -> None:
    assert _errors(_request(country_codes=[])) == {"country_codes": "must have at least 1 item(s)"}


@pytest.mark.parametrize(("days", "word"), [(0, "at least 1"), (731, "at most 730")])
def test_minimum_and_maximum(days: int, word: str) -> None:
    request = _request(transactions=models.LinkTokenTransactions(days_requested=days))
    errors = _errors(request)
    assert list(errors) == ["transactions.days_requested"]
    assert word in errors["transactions.days_requested"]


def test_required_field_given_none() -> None:
    user = models.LinkTokenCreateRequestUser(client_user_id=None)  # type: ignore[arg-type]
    assert _errors(_request(user=user)) == {"user.client_user_id": "is required"}


def test_unknown_enum_value_is_rejected_in_strict_mode_with_the_allowed_values() -> None:
    errors = _errors(_request(products=["auth", "autth"]), strict=True)
    assert list(errors) == ["products[1]"]
    assert (
        "'autth' (did you mean 'auth'?) is not one of: assets, auth, balance"
        in errors["products[1]"]
    )
    assert "allow_unknown" not in errors["products[1]"]  # no Python parameter named


@pytest.mark.parametrize(("typo", "meant"), [("AUTH", "auth"), ("Transactions", "transactions")])
def test_a_case_only_typo_gets_its_did_you_mean(typo: str, meant: str) -> None:
    errors = _errors(_request(products=[typo]), strict=True)
    assert f"{typo!r} (did you mean {meant!r}?)" in errors["products[0]"]
    email = models.LinkTokenCreateHostedLink(delivery_method="EMAIL")
    hosted = _errors(_request(hosted_link=email), strict=True)
    assert "'EMAIL' (did you mean 'email'?)" in hosted["hosted_link.delivery_method"]


def test_unknown_enum_value_passes_by_default_and_is_found_with_its_nearest() -> None:
    request = _request(products=["auth", "autth", "launched_next_month"])
    validate(request)
    validate(request, allow_unknown_enum_values=True)  # the 0.1.0 spelling
    with pytest.raises(RequestValidationError):
        validate(request, allow_unknown_enum_values=False)
    found = unknown_enum_values(request)
    assert found[0] == ("products[1]", "autth", ["auth"])
    assert found[1][:2] == ("products[2]", "launched_next_month")
    assert unknown_enum_values(_request()) == []


def test_user_id_or_user_is_required_and_user_id_alone_is_enough() -> None:
    validate(_request(user=None, user_id="usr_123"))
    validate(_request(user_id="usr_123"))  # both: Plaid decides which one counts
    assert _errors(_request(user=None)) == {"user_id": "one of `user_id` or `user` is required"}


def test_a_naive_datetime_is_refused_not_taken_as_utc() -> None:
    naive = datetime.datetime(2024, 1, 1, 12, 0)
    user = models.LinkTokenCreateRequestUser(client_user_id="u", phone_number_verified_time=naive)
    errors = _errors(_request(user=user))
    assert errors == {
        "user.phone_number_verified_time": (
            "a naive datetime has no time zone: give one (datetime.timezone.utc)"
        )
    }
    aware = naive.replace(tzinfo=datetime.timezone.utc)
    validate(_request(user=attrs.evolve(user, phone_number_verified_time=aware)))


def test_enum_members_and_their_strings_are_both_accepted() -> None:
    validate(_request(country_codes=[models.CountryCode.GB, "US"]))


def test_inline_enum_of_a_property_is_checked() -> None:
    auth = models.LinkTokenCreateRequestAuth(reroute_to_credentials="SOMETIMES")
    assert list(_errors(_request(auth=auth))) == ["auth.reroute_to_credentials"]


def test_wrong_python_types_are_named() -> None:
    statements = models.LinkTokenCreateRequestStatements(
        start_date="2024-01-01",  # type: ignore[arg-type]
        end_date=datetime.datetime(2024, 1, 1),  # type: ignore[arg-type]
    )
    errors = _errors(_request(statements=statements, webhook=5))
    assert errors == {
        "webhook": "expected a string, got int",
        "statements.start_date": "expected a date, got str",
        "statements.end_date": "expected a date, got datetime",
    }


def test_every_offending_field_is_named_at_once() -> None:
    request = _request(
        client_name="",
        country_codes=[],
        user=models.LinkTokenCreateRequestUser(client_user_id=""),
        products=["nope"],
        transactions=models.LinkTokenTransactions(days_requested=0),
    )
    with pytest.raises(RequestValidationError) as caught:
        validate(request, strict=True)
    assert caught.value.paths == (
        "client_name",
        "country_codes",
        "user.client_user_id",
        "products[0]",
        "transactions.days_requested",
    )
    assert str(caught.value).startswith("invalid LinkTokenCreateRequest: 5 fields: client_name:")
    assert "\n" not in str(caught.value)


def test_validation_error_never_shows_a_sensitive_value() -> None:
    user = models.LinkTokenCreateRequestUser(client_user_id="u", ssn=123456789)  # type: ignore[arg-type]
    errors = _errors(_request(user=user, access_token=""))
    assert set(errors) == {"user.ssn", "access_token"}
    assert "123456789" not in str(errors)
