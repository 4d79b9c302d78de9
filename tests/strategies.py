"""Hypothesis strategies for any model, derived from its field plans."""

from __future__ import annotations

import datetime
from typing import Any

from hypothesis import strategies as st

from plaid_link_async import Model
from plaid_link_async._types import Kind, TypePlan, plan_model

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)

_offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
    lambda minutes: datetime.timezone(datetime.timedelta(minutes=minutes))
)
aware_datetimes = st.datetimes(
    min_value=datetime.datetime(1970, 1, 2), timezones=st.just(datetime.timezone.utc) | _offsets
)

_model_strategies: dict[type[Model], st.SearchStrategy[Any]] = {}


def for_plan(plan: TypePlan, meta: Any = None) -> st.SearchStrategy[Any]:
    meta = meta or {}
    kind = plan.kind
    strategy: st.SearchStrategy[Any]
    if kind == Kind.STR:
        if "one_of" in meta:
            strategy = st.sampled_from(meta["one_of"])
        else:
            strategy = st.text(min_size=meta.get("min_length", 0), max_size=12)
    elif kind == Kind.INT:
        strategy = st.integers(meta.get("minimum", -(2**31)), meta.get("maximum", 2**31))
    elif kind == Kind.FLOAT:
        strategy = st.floats(allow_nan=False, allow_infinity=False)
    elif kind == Kind.BOOL:
        strategy = st.booleans()
    elif kind == Kind.DATETIME:
        strategy = aware_datetimes
    elif kind == Kind.DATE:
        strategy = st.dates()
    elif kind == Kind.ENUM:
        assert plan.enum is not None
        # Known members, and strings newer than the models.
        strategy = st.sampled_from(list(plan.enum)) | st.text(max_size=8)
    elif kind == Kind.MODEL:
        assert plan.model is not None
        strategy = st.deferred(lambda: model_strategy(plan.model))  # type: ignore[arg-type]
    elif kind == Kind.LIST:
        assert plan.item is not None
        strategy = st.lists(for_plan(plan.item), min_size=meta.get("min_items", 0), max_size=3)
    elif kind == Kind.UNION:
        # The members the models know; a member they do not know (kept as a dict) does
        # not round-trip through the strict path, and has tests of its own.
        strategy = st.one_of(
            [for_plan(variant) for variant in plan.variants if variant.kind != Kind.DICT]
        )
    elif kind == Kind.DICT:
        strategy = st.dictionaries(st.text(max_size=8), json_values, max_size=3)
    else:
        assert kind == Kind.ANY
        strategy = json_values
    return st.none() | strategy if plan.nullable else strategy


def model_strategy(cls: type[Model]) -> st.SearchStrategy[Any]:
    """Any valid instance of `cls`, unknown `extra` keys included."""
    if cls not in _model_strategies:
        plans = plan_model(cls)
        names = {p.name for p in plans}
        fields = {}
        for plan in plans:
            value = for_plan(plan.type, plan.metadata)
            fields[plan.name] = value if plan.required else st.none() | value
        extra = st.dictionaries(
            st.text(min_size=1, max_size=8).filter(lambda k: k not in names),
            json_values,
            max_size=2,
        )
        _model_strategies[cls] = st.builds(cls, extra=extra, **fields)
    return _model_strategies[cls]
