"""An answer's absent optional fields are left unset by the fast parse (a fifth of its
time) and read as None: nothing a user can do with a model tells the two apart."""

from __future__ import annotations

import copy
import pickle

import attrs
import pytest

from plaid_link_async import from_dict, to_dict
from plaid_link_async import models as m

from ._helpers import get_answer

BODY = {"link_token": "link-sandbox-1", "expiration": "2026-12-01T00:00:00Z", "request_id": "r1"}


def test_an_absent_optional_field_reads_none_and_compares_equal() -> None:
    parsed = from_dict(m.LinkTokenCreateResponse, BODY)
    made = m.LinkTokenCreateResponse(
        link_token="link-sandbox-1",
        expiration=parsed.expiration,
        request_id="r1",
        hosted_link_url=None,
    )
    assert parsed.hosted_link_url is None
    assert getattr(parsed, "hosted_link_url", "missing") is None
    assert hasattr(parsed, "hosted_link_url")
    assert parsed == made
    assert hash(parsed) == hash(made)
    assert repr(parsed) == repr(made)
    assert to_dict(parsed) == to_dict(made)


def test_copies_pickles_and_evolves_as_a_made_model() -> None:
    parsed = from_dict(m.LinkTokenCreateResponse, BODY)
    for again in (
        pickle.loads(pickle.dumps(parsed)),
        copy.copy(parsed),
        copy.deepcopy(parsed),
        attrs.evolve(parsed),
    ):
        assert again == parsed
        assert again.hosted_link_url is None
    assert attrs.evolve(parsed, hosted_link_url="https://x").hosted_link_url == "https://x"
    assert attrs.asdict(parsed)["hosted_link_url"] is None


def test_a_name_that_is_no_field_is_still_missing() -> None:
    parsed = from_dict(m.LinkTokenCreateResponse, BODY)
    with pytest.raises(AttributeError, match="'LinkTokenCreateResponse' object has no attribute"):
        parsed.hosted_link  # noqa: B018
    assert not hasattr(parsed, "__html__")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        parsed.hosted_link_url = "https://x"  # type: ignore[misc]


def test_a_nested_answer_reads_the_same_either_way() -> None:
    body = get_answer()
    del body["link_sessions"]  # optional: absent, it is left unset
    parsed = from_dict(m.LinkTokenGetResponse, body)
    assert parsed.link_sessions is None
    assert parsed.metadata.institution_data is None
    assert parsed.metadata.webhook is None
    assert from_dict(m.LinkTokenGetResponse, to_dict(parsed)) == parsed
