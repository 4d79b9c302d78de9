"""The generated models: round trips, the contract's examples, forward compatibility, reprs."""

from __future__ import annotations

import datetime
import json
import pickle
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plaid_link_async import ExtraFields, Model, UnexpectedResponseError, from_dict, models, to_dict
from plaid_link_async._schema._converter import try_from_dict
from plaid_link_async._wire._datetimes import parse_datetime

from ._helpers import examples
from .conftest import response_examples
from .strategies import model_strategy

MODEL_CLASSES = sorted(
    (
        obj
        for obj in vars(models).values()
        if isinstance(obj, type) and issubclass(obj, Model) and obj is not Model
    ),
    key=lambda cls: cls.__name__,
)


def test_there_is_one_class_per_object_schema() -> None:
    assert len(MODEL_CLASSES) == 128 + 2  # the contract's, and the supplement's


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda cls: cls.__name__)
@settings(max_examples=examples(40))
@given(data=st.data())
def test_every_model_survives_a_json_round_trip(cls: type[Model], data: st.DataObject) -> None:
    original = data.draw(model_strategy(cls))
    wire = json.loads(json.dumps(to_dict(original)))
    assert from_dict(cls, wire) == original


def test_every_example_of_the_contract_parses(spec: dict[str, Any]) -> None:
    examples = response_examples(spec)
    assert len(examples) == 8  # one per operation
    for schema, body in examples:
        parsed = from_dict(getattr(models, schema), body)
        assert to_dict(parsed)["request_id"] == body["request_id"]


def _example(spec: dict[str, Any], schema: str) -> dict[str, Any]:
    return next(body for name, body in response_examples(spec) if name == schema)


def _deep_session() -> dict[str, Any]:
    return {
        "link_session_id": "ls-1",
        "started_at": "2024-07-29T20:22:36.522196741Z",
        "finished_at": None,
        "future_session_field": {"nested": [1, 2]},
        "events": [
            {
                "event_id": "e1",
                "event_name": "A_NEW_EVENT",
                "timestamp": "2024-07-29T20:23:59Z",
                "event_metadata": {"request_id": "r1", "brand_new": True},
                "sequence": 7,
            }
        ],
        "results": {
            "item_add_results": [
                {
                    "public_token": "public-sandbox-1",
                    "institution": {"name": "Bank", "institution_id": "ins_1", "logo": "x"},
                    "accounts": [{"id": "a1", "subtype": "hologram", "fancy": 1}],
                }
            ],
            "bank_income_results": [
                {
                    "status": "A_STATUS_FROM_2030",
                    "item_id": "i1",
                    "institution": None,
                }
            ],
            "cra_item_add_results": [],
            "cra_update_results": [],
            "payroll_income_results": [],
            "document_income_results": None,
            "future_results": [],
        },
    }


def test_unknown_fields_and_enum_values_anywhere_are_kept(spec: dict[str, Any]) -> None:
    body = _example(spec, "LinkTokenGetResponse")
    body["brand_new_top_level"] = "usr_1"
    body["metadata"]["initial_products"] = ["auth", "product_of_the_future"]
    body["metadata"]["country_codes"] = ["US", "ZZ"]
    body["metadata"]["account_filters"] = {
        "depository": {"account_subtypes": ["checking", "crypto"]}
    }
    body["link_sessions"] = [_deep_session()]

    parsed = from_dict(models.LinkTokenGetResponse, body)

    assert parsed.extra == {"brand_new_top_level": "usr_1"}
    assert parsed.metadata.initial_products == [models.Products.AUTH, "product_of_the_future"]
    assert parsed.metadata.country_codes[1] == "ZZ"
    assert parsed.metadata.country_codes[1].__class__ is str
    session = parsed.link_sessions[0]  # type: ignore[index]
    assert session.extra == {"future_session_field": {"nested": [1, 2]}}
    assert session.events[0].extra == {"sequence": 7}  # type: ignore[index]
    assert session.events[0].event_metadata.extra == {"brand_new": True}  # type: ignore[index]
    assert session.results.extra == {"future_results": []}  # type: ignore[union-attr]
    result = session.results.item_add_results[0]  # type: ignore[union-attr,index]
    assert result.institution.extra == {"logo": "x"}  # type: ignore[union-attr]
    assert result.accounts[0].extra == {"fancy": 1}
    income = session.results.bank_income_results[0]  # type: ignore[union-attr,index]
    assert income.status == "A_STATUS_FROM_2030"
    # Everything unknown goes back out unchanged.
    assert to_dict(parsed) == to_dict(from_dict(models.LinkTokenGetResponse, to_dict(parsed)))
    assert to_dict(parsed)["link_sessions"][0]["future_session_field"] == {"nested": [1, 2]}
    assert to_dict(parsed)["metadata"]["initial_products"] == ["auth", "product_of_the_future"]


def test_extra_is_read_only() -> None:
    parsed = from_dict(models.LinkTokenGetRequest, {"link_token": "t", "x": 1})
    assert isinstance(parsed.extra, ExtraFields)
    with pytest.raises(TypeError):
        parsed.extra["x"] = 2  # type: ignore[index]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        parsed.extra = {}  # type: ignore[misc]


def test_date_times_are_timezone_aware_whatever_plaid_sends() -> None:
    utc = datetime.timezone.utc
    for text, expected in [
        ("2020-03-27T12:56:34Z", datetime.datetime(2020, 3, 27, 12, 56, 34, tzinfo=utc)),
        ("2020-03-27T12:56:34.5Z", datetime.datetime(2020, 3, 27, 12, 56, 34, 500000, tzinfo=utc)),
        (
            "2024-07-29T20:24:05.330312653Z",
            datetime.datetime(2024, 7, 29, 20, 24, 5, 330312, tzinfo=utc),
        ),
        ("2020-03-27T12:56:34", datetime.datetime(2020, 3, 27, 12, 56, 34, tzinfo=utc)),
        ("2020-03-27T14:56:34+02:00", datetime.datetime(2020, 3, 27, 12, 56, 34, tzinfo=utc)),
    ]:
        body = {"link_token": "t", "expiration": text, "request_id": "r"}
        parsed = from_dict(models.LinkTokenCreateResponse, body)
        assert parsed.expiration == expected
        assert parsed.expiration.tzinfo is not None
    wire = to_dict(
        from_dict(
            models.LinkTokenCreateResponse,
            {"link_token": "t", "expiration": "2020-03-27T12:56:34Z", "request_id": "r"},
        )
    )
    assert wire["expiration"] == "2020-03-27T12:56:34Z"


@given(
    st.text(st.sampled_from("0123456789-:T .,Zz+"), max_size=32)
    | st.datetimes(timezones=st.none() | st.timezones()).map(datetime.datetime.isoformat)
)
def test_the_strict_parse_reads_date_times_as_parse_datetime(text: str) -> None:
    try:
        expected: datetime.datetime | None = parse_datetime(text)
    except ValueError:
        expected = None
    body = {"link_token": "t", "expiration": text, "request_id": "r"}
    parsed = try_from_dict(models.LinkTokenCreateResponse, body)
    if expected is None:
        assert parsed is None
    else:
        assert parsed is not None
        assert parsed.expiration == expected
        assert parsed.expiration.utcoffset() == expected.utcoffset()


def test_null_in_an_optional_response_field_is_none() -> None:
    body = {
        "link_token": "t",
        "expiration": "2020-03-27T12:56:34Z",
        "request_id": "r",
        "hosted_link_url": None,
    }
    assert from_dict(models.LinkTokenCreateResponse, body).hosted_link_url is None


def test_null_in_a_required_non_nullable_field_is_a_typed_error() -> None:
    # The policy (docs/models.md): the contract promises a value there, so a null is a
    # broken response, reported with its path rather than handed on as a None the type
    # annotation says cannot happen.
    body = {"link_token": None, "expiration": "2020-03-27T12:56:34Z", "request_id": "r"}
    with pytest.raises(UnexpectedResponseError) as caught:
        from_dict(models.LinkTokenCreateResponse, body)
    assert caught.value.path == "link_token"
    assert "null" in str(caught.value)


def test_null_in_a_required_nullable_field_is_none(spec: dict[str, Any]) -> None:
    body = _example(spec, "LinkTokenGetResponse")
    body["created_at"] = None
    assert from_dict(models.LinkTokenGetResponse, body).created_at is None
    assert to_dict(from_dict(models.LinkTokenGetResponse, body))["created_at"] is None


def test_requests_leave_unset_fields_out_and_send_enums_as_strings() -> None:
    request = models.LinkTokenCreateRequest(
        client_name="App",
        language="en",
        country_codes=[models.CountryCode.US, "GB"],
        user=models.LinkTokenCreateRequestUser(
            client_user_id="u1", date_of_birth=datetime.date(1990, 1, 2)
        ),
        products=[models.Products.AUTH],
        statements=models.LinkTokenCreateRequestStatements(
            start_date=datetime.date(2024, 1, 1), end_date=datetime.date(2024, 3, 31)
        ),
    )
    assert to_dict(request) == {
        "client_name": "App",
        "language": "en",
        "country_codes": ["US", "GB"],
        "user": {"client_user_id": "u1", "date_of_birth": "1990-01-02"},
        "products": ["auth"],
        "statements": {"start_date": "2024-01-01", "end_date": "2024-03-31"},
    }
    assert type(to_dict(request)["products"][0]) is str
    assert json.loads(json.dumps(to_dict(request))) == to_dict(request)


def test_extra_on_a_request_is_sent_for_parameters_newer_than_the_models() -> None:
    request = models.LinkTokenGetRequest(link_token="t", extra={"future_flag": True})
    assert to_dict(request) == {"link_token": "t", "future_flag": True}


def test_repr_masks_credentials_and_personal_data() -> None:
    user = models.LinkTokenCreateRequestUser(
        client_user_id="u1",
        ssn="123-45-6789",
        date_of_birth=datetime.date(1990, 1, 2),
        phone_number="+14155550123",
        email_address="leslie@example.com",
        id_number=models.UserIDNumber(value="987654321", type=models.IDNumberType.US_SSN),
    )
    request = models.LinkTokenCreateRequest(
        client_name="App",
        language="en",
        country_codes=["US"],
        user=user,
        access_token="access-sandbox-8ab976e6-64bc-4b38-98f7-731e7a349970",
        access_tokens=["access-production-1a2b3c"],
        user_token="user-sandbox-b0e2c4ee-a763-4df5-bfe9-46a46bce993d",
        extra={"secret": "shh-its-a-secret"},
    )
    text = repr(request)
    for secret in [
        "123-45-6789",
        "1990",
        "4155550123",
        "leslie@",
        "987654321",
        "8ab976e6",
        "1a2b3c",
        "b0e2c4ee",
        "shh-its-a-secret",
    ]:
        assert secret not in text
    assert "access-sandbox-***" in text
    assert "client_user_id='u1'" in text
    assert "webhook" not in text  # unset optional fields stay out of the way


def test_models_are_frozen_hashable_when_flat_and_picklable() -> None:
    response = from_dict(
        models.LinkTokenCreateResponse,
        {"link_token": "t", "expiration": "2020-03-27T12:56:34Z", "request_id": "r", "new": 1},
    )
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        response.link_token = "other"  # type: ignore[misc]
    assert hash(response) == hash(pickle.loads(pickle.dumps(response)))
    assert pickle.loads(pickle.dumps(response)) == response


def test_enum_members_print_as_their_value() -> None:
    assert str(models.Products.AUTH) == "auth"
    assert f"{models.CountryCode.US}" == "US"
    assert models.InvestmentAccountSubtype._401K == "401k"


@pytest.mark.parametrize(
    "text", ["2020-03-27t12:56:34z", "2020-03-27T12:56:34z", "2020-03-27t12:56:34.5+01:00"]
)
def test_a_date_time_with_a_lower_case_t_or_z_reads(text: str) -> None:
    # RFC 3339 (5.6) allows both; a required one refused would fail the whole call.
    body = {"link_token": "t", "expiration": text, "request_id": "r"}
    parsed = from_dict(models.LinkTokenCreateResponse, body)
    assert parsed.expiration == parse_datetime(text.upper())
