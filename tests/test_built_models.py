"""How the fast parse builds models, and that nothing a user can do tells them from
made ones: each instance is filled in a mutable twin of its class and then given its
class, an absent optional field is None, and an unknown key is kept in `extra`."""

from __future__ import annotations

import copy
import gc
import pickle
import weakref
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from hypothesis import given, settings

from plaid_link_async import Model, UnexpectedResponseError, from_dict, to_dict
from plaid_link_async import models as m

from ._helpers import examples, get_answer
from .strategies import model_strategy

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


def _models_in(value: Any) -> Iterator[Model]:
    if isinstance(value, Model):
        yield value
        for field in attrs.fields(type(value)):
            yield from _models_in(getattr(value, field.name))
    elif isinstance(value, list):
        for item in value:
            yield from _models_in(item)


@settings(max_examples=examples(60), deadline=None)
@given(made=model_strategy(m.LinkTokenGetResponse))
def test_every_parsed_model_is_of_its_own_class_and_frozen(made: Any) -> None:
    parsed = from_dict(m.LinkTokenGetResponse, to_dict(made))
    for model in _models_in(parsed):
        cls = type(model)
        assert getattr(m, cls.__name__) is cls
        assert weakref.ref(model)() is model
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            model.extra = {}  # type: ignore[misc]
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            del model.extra  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(parsed)) == parsed == copy.deepcopy(parsed)


def test_no_half_built_model_is_left_behind() -> None:
    event = {"event_id": "1", "event_name": "OPEN", "timestamp": "2026-01-01T00:00:00Z"}
    body = get_answer(
        link_sessions=[
            {"link_session_id": "a", "events": [event, {**event, "event_name": 7}]},
        ]
    )
    with pytest.raises(UnexpectedResponseError):
        from_dict(m.LinkTokenGetResponse, body)  # refused three models deep
    gc.collect()
    twins = [
        obj
        for obj in gc.get_objects()
        if isinstance(obj, Model) and type(obj).__qualname__.startswith("_twin.")
    ]
    assert twins == []


@pytest.mark.parametrize(
    ("more", "extra"),
    [
        ({}, {}),
        ({"hosted_link_url": None}, {}),  # present, null: a key the count does not see
        ({"hosted_link_url": "https://h"}, {}),
        ({"new": 1}, {"new": 1}),
        ({"hosted_link_url": None, "new": 1}, {"new": 1}),
        ({"hosted_link_url": "https://h", "new": [1]}, {"new": [1]}),
    ],
)
def test_unknown_keys_are_kept_whatever_optional_keys_come_with_them(
    more: dict[str, Any], extra: dict[str, Any]
) -> None:
    parsed = from_dict(m.LinkTokenCreateResponse, {**BODY, **more})
    assert dict(parsed.extra) == extra
    assert parsed.hosted_link_url == more.get("hosted_link_url")


def test_no_model_class_hooks_attribute_reads() -> None:
    # A `__getattr__` on a model's class or its base makes every attribute read a call
    # of the hook, which the interpreter cannot specialise: it was a quarter of the
    # library's own work per call (21,000 of 87,000 instructions, by callgrind).
    classes = [
        Model,
        *(c for c in vars(m).values() if isinstance(c, type) and issubclass(c, Model)),
    ]
    hooked = [c.__name__ for c in classes if {"__getattr__", "__getattribute__"} & set(vars(c))]
    assert hooked == []
