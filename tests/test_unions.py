"""Contract unions (`oneOf` with a discriminator): every mapped tag structures to its
member, an unknown or missing tag is kept as the plain dict (drift; strict names the
path), requests take members or dicts, and everything goes back through to_dict."""

from __future__ import annotations

import json
import typing
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from plaid_link_async import (
    RequestValidationError,
    UnexpectedResponseError,
    from_dict,
    to_dict,
    validate,
)
from plaid_link_async import models as m
from plaid_link_async._schema._field_plans import Kind, plan_type
from plaid_link_async._schema._model_base import OneOf
from plaid_link_async._schema._tolerant_reader import read_tolerantly

from .strategies import for_plan

PRODUCT = plan_type(m.CraReportProduct)
ONE_OF = typing.get_args(m.CraReportProduct)[1]


def parameter(*products: Any) -> dict[str, Any]:
    return {"scope": "CLIENT_USER", "decision_stage": "SERVICING", "products": list(products)}


def test_the_alias_is_a_union_of_its_members_and_a_dict() -> None:
    assert isinstance(ONE_OF, OneOf)
    assert ONE_OF.tag == "product"
    assert len(ONE_OF.mapping) == 9
    assert PRODUCT.kind == Kind.UNION
    assert PRODUCT.keeps_unknown


@pytest.mark.parametrize("tag", sorted(ONE_OF.mapping))
def test_every_mapped_tag_structures_to_its_member(tag: str) -> None:
    body = parameter({"product": tag, "version": "1"})
    parsed = from_dict(m.LinkTokenCreateRequestCraReportParameter, body)
    assert parsed.products is not None
    [product] = parsed.products
    assert type(product) is ONE_OF.mapping[tag]
    assert to_dict(parsed) == body


@pytest.mark.parametrize(
    ("member", "problem"),
    [
        ({"product": "cra_from_next_year", "version": "1"}, "`product` 'cra_from_next_year'"),
        ({"version": "1"}, "has no `product`"),
    ],
)
def test_an_unknown_or_missing_tag_is_kept_as_a_dict_and_strict_names_it(
    member: dict[str, Any], problem: str
) -> None:
    body = parameter({"product": "cra_base_report", "version": "2"}, member)
    parsed, drift = read_tolerantly(m.LinkTokenCreateRequestCraReportParameter, body)
    assert parsed.products is not None
    assert isinstance(parsed.products[0], m.CraReportCreateBaseReportProductConfig)
    assert parsed.products[1] == member  # readable, not fatal
    [item] = drift
    assert item.path == "products[1]"
    assert item.problem.startswith(problem)
    assert to_dict(parsed) == body
    with pytest.raises(UnexpectedResponseError) as caught:
        from_dict(m.LinkTokenCreateRequestCraReportParameter, body)
    assert caught.value.path == "products[1].product"


@pytest.mark.parametrize("tag", [["cra_base_report"], {"a": 1}, 7, None])
def test_a_tag_that_is_no_string_is_an_unknown_one(tag: Any) -> None:
    body = parameter({"product": tag, "version": "1"})
    parsed, drift = read_tolerantly(m.LinkTokenCreateRequestCraReportParameter, body)
    assert parsed.products == [{"product": tag, "version": "1"}]
    assert [d.path for d in drift] == ["products[0]"]
    with pytest.raises(UnexpectedResponseError):
        from_dict(m.LinkTokenCreateRequestCraReportParameter, body)


def test_a_member_that_is_no_object_is_drift() -> None:
    body = parameter("cra_base_report")
    parsed, drift = read_tolerantly(m.LinkTokenCreateRequestCraReportParameter, body)
    assert parsed.products == []
    assert [d.path for d in drift] == ["products[0]"]


def test_requests_take_a_member_or_a_dict_and_refuse_anything_else() -> None:
    known = m.CraReportCreateBaseReportProductConfig(product="cra_base_report", version="1")
    newer = {"product": "cra_from_next_year", "version": "1"}
    for products in ([known], [newer], [known, newer]):
        validate(
            m.LinkTokenCreateRequestCraReportParameter(
                scope="CLIENT_USER", decision_stage="SERVICING", products=products
            ),
            strict=True,
        )
    wrong = m.LinkTokenCreateRequestCraReportParameter(
        scope="CLIENT_USER",
        decision_stage="SERVICING",
        products=["cra_base_report"],  # type: ignore[list-item]
    )
    with pytest.raises(RequestValidationError, match=r"products\[0\]"):
        validate(wrong, strict=True)
    mistagged = m.CraReportCreateBaseReportProductConfig(product="cra_qualify", version="1")
    with pytest.raises(RequestValidationError, match=r"products\[0\]\.product"):
        validate(
            m.LinkTokenCreateRequestCraReportParameter(
                scope="CLIENT_USER", decision_stage="SERVICING", products=[mistagged]
            ),
            strict=True,
        )


@given(product=for_plan(PRODUCT))
def test_any_member_round_trips_through_json(product: Any) -> None:
    body = json.loads(
        json.dumps(
            to_dict(
                m.LinkTokenCreateRequestCraReportParameter(
                    scope="CLIENT_USER", decision_stage="SERVICING", products=[product]
                )
            )
        )
    )
    assert from_dict(m.LinkTokenCreateRequestCraReportParameter, body).products == [product]


@given(
    garbage=st.recursive(
        st.none() | st.integers() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_garbage_members_never_raise_an_untyped_error(garbage: Any) -> None:
    body = parameter(garbage)
    parsed, _ = read_tolerantly(m.LinkTokenCreateRequestCraReportParameter, body)
    json.dumps(to_dict(parsed))


@pytest.mark.parametrize("strict", [False, True])
def test_a_member_given_as_a_dict_is_checked_as_the_member_its_tag_names(strict: bool) -> None:
    # plaid-python refuses it at construction; it was sent unchecked.
    wrong = m.LinkTokenCreateRequestCraReportParameter(
        scope="CLIENT_USER",
        decision_stage="SERVICING",
        products=[{"product": "cra_qualify", "version": 5}],
    )
    with pytest.raises(RequestValidationError) as caught:
        validate(wrong, strict=strict)
    assert caught.value.paths == ("products[0].version",)
    assert "expected a string, got an integer" in str(caught.value)
    right = attrs.evolve(wrong, products=[{"product": "cra_qualify", "version": "1"}])
    validate(right, strict=strict)
