"""Where data breaks a model's contract: the slow walk that runs only once the
compiled fast path refused it, to name the first offending field."""

from __future__ import annotations

import reprlib
from typing import Any, Final

from . import _datetimes
from ._exceptions import UnexpectedResponseError
from ._nesting import MAX_NESTING, nesting_within
from ._types import Kind, TypePlan, is_model, plan_model


def _find_problem(plan: TypePlan, value: Any, path: str) -> tuple[str, str] | None:
    """The first place in `value` that `plan` rejects, as (path, message)."""
    if value is None:
        return None if plan.nullable or plan.kind == Kind.ANY else (path, "is null")
    kind = plan.kind
    expected = plan.describe()
    got = json_type(value)
    if kind in (Kind.STR, Kind.ENUM) and value.__class__ is not str:
        return path, f"expected {expected}, got {got}"
    if kind == Kind.BOOL and value.__class__ is not bool:
        return path, f"expected {expected}, got {got}"
    if kind == Kind.INT and value.__class__ is not int:
        return path, f"expected {expected}, got {got}"
    if kind == Kind.FLOAT and value.__class__ not in (int, float):
        return path, f"expected {expected}, got {got}"
    if kind == Kind.DICT and value.__class__ is not dict:
        return path, f"expected {expected}, got {got}"
    if kind in (Kind.DICT, Kind.ANY) and not nesting_within(value):
        return path, _TOO_DEEP
    if kind in (Kind.DATETIME, Kind.DATE):
        parse = _datetimes.parse_datetime if kind == Kind.DATETIME else _datetimes.parse_date
        try:
            parse(value)
        except (TypeError, ValueError, OverflowError):
            return path, f"expected {expected}, got {snippet(value)}"
    if kind == Kind.LIST:
        if value.__class__ is not list:
            return path, f"expected {expected}, got {got}"
        assert plan.item is not None
        for index, item in enumerate(value):
            found = _find_problem(plan.item, item, f"{path}[{index}]")
            if found:
                return found
    if kind == Kind.UNION:
        return _union_problem(plan, value, path)
    if kind == Kind.MODEL:
        if value.__class__ is not dict:
            return path, f"expected {expected}, got {got}"
        assert plan.model is not None
        for field in plan_model(plan.model):
            where = f"{path}.{field.name}" if path else field.name
            if field.name not in value:
                if field.required:
                    return where, "required field is missing"
                continue
            if value[field.name] is None and field.required and not field.type.nullable:
                return where, "is null, but the contract requires a value"
            found = _find_problem(field.type, value[field.name], where)
            if found:
                return found
        known = {field.name for field in plan_model(plan.model)}
        for key, item in value.items():
            if key not in known and not nesting_within(item):
                return (f"{path}.{key}" if path else str(key)), f"unknown field {_TOO_DEEP}"
    return None


def _union_problem(plan: TypePlan, value: Any, path: str) -> tuple[str, str] | None:
    one_of = plan.one_of
    assert one_of is not None
    if one_of.tag is not None:
        if value.__class__ is not dict:
            return path, f"expected {plan.describe()}, got {json_type(value)}"
        member = plan.member(value)
        if member is None:
            where = f"{path}.{one_of.tag}" if path else one_of.tag
            if one_of.tag not in value:
                return where, "is missing: it says which kind of object this is"
            return where, _unknown_tag(value.get(one_of.tag), one_of.mapping)
        return _find_problem(member, value, path)
    if any(_find_problem(v, value, path) is None for v in plan.variants if v.kind != Kind.DICT):
        return None
    return path, f"expected {plan.describe()}, got {json_type(value)}"


def _unknown_tag(value: Any, mapping: Any) -> str:
    known = ", ".join(mapping)
    return f"{snippet(value)} is not a kind this library knows (known: {known})"


_TOO_DEEP: Final = f"nested deeper than {MAX_NESTING} levels"


def json_type(value: Any) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }
    return names.get(value.__class__, type(value).__name__)


def snippet(value: Any, limit: int = 40) -> str:
    # reprlib, not repr: a value nested a thousand deep reprs in a few levels, no recursion.
    text = _SNIPPET_REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SNIPPET_REPR: Final = reprlib.Repr()
_SNIPPET_REPR.maxlevel = 3
_SNIPPET_REPR.maxstring = 60
_SNIPPET_REPR.maxother = 60


def diagnose(cls: type[Any], data: Any) -> UnexpectedResponseError | None:
    """The error that names where `data` breaks the contract of `cls`, if it does."""
    found = _find_problem(TypePlan(Kind.MODEL, model=cls), data, "") if is_model(cls) else None
    if found is None:
        return None
    path, message = found
    return UnexpectedResponseError(message, model=cls.__name__, path=path)
