"""Hypothesis strategies for any model, derived from its field plans."""

from __future__ import annotations

import datetime
from typing import Any

from hypothesis import strategies as st

from plaid_link_async import Model
from plaid_link_async._schema._field_plans import Kind, TypePlan, plan_model

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

_model_strategies: dict[tuple[type[Model], bool], st.SearchStrategy[Any]] = {}


def for_plan(plan: TypePlan, meta: Any = None, *, plain: bool = False) -> st.SearchStrategy[Any]:
    """Any valid value of `plan`; `plain`: only known enum values, and no free-form
    value (none for a `dict`, `Any` or union field, and no `extra`)."""
    meta = meta or {}
    kind = plan.kind
    if plain and kind in (Kind.DICT, Kind.ANY, Kind.UNION):
        return st.none()
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
        members = st.sampled_from(list(plan.enum))
        if plain:
            strategy = members | members.map(lambda member: member.value)
        else:
            strategy = members | st.text(max_size=8)
    elif kind == Kind.MODEL:
        assert plan.model is not None
        model = plan.model
        strategy = st.deferred(lambda: model_strategy(model, plain=plain))
    elif kind == Kind.LIST:
        assert plan.item is not None
        strategy = st.lists(
            for_plan(plan.item, plain=plain), min_size=meta.get("min_items", 0), max_size=3
        )
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


def model_strategy(cls: type[Model], *, plain: bool = False) -> st.SearchStrategy[Any]:
    """Any valid instance of `cls`, unknown `extra` keys included unless `plain`."""
    if (cls, plain) not in _model_strategies:
        plans = plan_model(cls)
        names = {p.name for p in plans}
        fields = {}
        for plan in plans:
            value = for_plan(plan.type, plan.metadata, plain=plain)
            fields[plan.name] = value if plan.required else st.none() | value
        extra = st.dictionaries(
            st.text(min_size=1, max_size=8).filter(lambda k: k not in names),
            json_values,
            max_size=2,
        )
        if plain:
            extra = st.just({})
        _model_strategies[(cls, plain)] = st.builds(cls, extra=extra, **fields)
    return _model_strategies[(cls, plain)]
