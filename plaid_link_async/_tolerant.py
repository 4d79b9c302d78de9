"""The tolerant reader: an answer is checked strictly, the details it carries are not.

Plaid relaxes and adds fields every month, and one null deep inside a list of events
must not cost the caller the public tokens beside it. So when the fast, strict parse of
an answer fails, this walk reads it again: the answer's own required fields must be
there and of the right kind, or the call fails; below them, a missing or null required
field, or a value of the wrong type or format, reads as `None` (a bad list item is left
out) and is recorded as a `Drift` with its path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final, TypeVar

import attrs

from . import _datetimes
from ._converter import json_type as _json_type
from ._converter import snippet as _snippet
from ._exceptions import UnexpectedResponseError
from ._model_base import ExtraFields, Model
from ._types import Kind, TypePlan, plan_model

_M = TypeVar("_M", bound=Model)

_CHECKS: Final[dict[Kind, Callable[[Any], bool]]] = {
    Kind.STR: lambda v: v.__class__ is str,
    Kind.ENUM: lambda v: v.__class__ is str,
    Kind.BOOL: lambda v: v.__class__ is bool,
    Kind.INT: lambda v: v.__class__ is int,
    Kind.FLOAT: lambda v: v.__class__ in (int, float),
    Kind.DICT: lambda v: v.__class__ is dict,
    Kind.LIST: lambda v: v.__class__ is list,
    Kind.MODEL: lambda v: v.__class__ is dict,
}


@attrs.frozen
class Drift:
    """One detail of an answer that did not fit the contract; it reads as `None`.

    `path` names it (`link_sessions[0].events[2].event_metadata.request_id`), `problem`
    says what was wrong (`required field is missing`, `expected a string, got an integer`).
    """

    path: str
    problem: str

    @property
    def pattern(self) -> str:
        """The path without list indices: the same drift in every event is one pattern."""
        return path_pattern(self.path)

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


_INDEX: Final = re.compile(r"\[\d+\]")


def path_pattern(path: str) -> str:
    """`path` without list indices: `events[2].event_id` -> `events[].event_id`."""
    return _INDEX.sub("[]", path)


def read_tolerantly(
    cls: type[_M], data: Any, *, lenient_top: bool = False
) -> tuple[_M, list[Drift]]:
    """`cls` from `data`, and what drifted in it.

    Raises:
        UnexpectedResponseError: `data` is not an object, or one of `cls`'s own required
            fields is missing, null or of the wrong kind (unless `lenient_top`, for error
            bodies, where nothing but the object itself is required).
    """
    refusal = _refusal(cls, data, lenient_top)
    if refusal is not None:
        del data  # the traceback keeps this frame; it need not keep the parsed body
        raise refusal
    drifts: list[Drift] = []
    return _model(cls, data, "", drifts), drifts


def _refusal(cls: type[Model], data: Any, lenient_top: bool) -> UnexpectedResponseError | None:
    """Why `data` is no answer of `cls` at all, or None if it is one."""
    if data.__class__ is not dict:
        return UnexpectedResponseError(
            f"expected {cls.__name__} object, got {_json_type(data)}", model=cls.__name__
        )
    if lenient_top:
        return None
    for field in plan_model(cls):
        value = data.get(field.name)
        problem = None
        if field.required and field.name not in data:
            problem = "required field is missing"
        elif field.required and value is None and not field.type.nullable:
            problem = "is null, but the contract requires a value"
        elif value is not None:
            problem = _top_problem(field.type, value)
        if problem is not None:
            return UnexpectedResponseError(problem, model=cls.__name__, path=field.name)
    return None


def _top_problem(plan: TypePlan, value: Any) -> str | None:
    # The answer's own fields: of the right kind, and a date-time that parses.
    check = _CHECKS.get(plan.kind)
    if check is not None and not check(value):
        return f"expected {plan.describe()}, got {_json_type(value)}"
    if plan.kind in (Kind.DATETIME, Kind.DATE):
        parse = _datetimes.parse_datetime if plan.kind == Kind.DATETIME else _datetimes.parse_date
        try:
            parse(value)
        except (TypeError, ValueError, OverflowError):
            return f"expected {plan.describe()}, got {_snippet(value)}"
    return None


def _model(cls: type[_M], data: dict[str, Any], path: str, drifts: list[Drift]) -> _M:
    values: dict[str, Any] = {}
    known = set()
    for field in plan_model(cls):
        known.add(field.name)
        where = f"{path}.{field.name}" if path else field.name
        if field.name not in data:
            if field.required:
                drifts.append(Drift(where, "required field is missing"))
            values[field.name] = None
            continue
        value = data[field.name]
        if value is None:
            if field.required and not field.type.nullable:
                drifts.append(Drift(where, "is null, but the contract requires a value"))
            values[field.name] = None
            continue
        values[field.name] = _value(field.type, value, where, drifts)
    extra = {key: value for key, value in data.items() if key not in known}
    # Built slot by slot, like the compiled structure functions: a required field that
    # drifted holds None, which attrs' __init__ would accept too but not say why.
    instance = object.__new__(cls)
    for name, value in values.items():
        object.__setattr__(instance, name, value)
    object.__setattr__(instance, "extra", ExtraFields(extra))
    return instance


def _value(plan: TypePlan, value: Any, path: str, drifts: list[Drift]) -> Any:
    if value is None:
        if not plan.nullable and plan.kind != Kind.ANY:
            drifts.append(Drift(path, "is null"))
        return None
    kind = plan.kind
    check = _CHECKS.get(kind)
    if check is not None and not check(value):
        drifts.append(Drift(path, f"expected {plan.describe()}, got {_json_type(value)}"))
        return None
    if kind == Kind.FLOAT:
        return float(value)
    if kind == Kind.ENUM:
        assert plan.enum is not None
        return plan.enum._value2member_map_.get(value, value)
    if kind in (Kind.DATETIME, Kind.DATE):
        parse = _datetimes.parse_datetime if kind == Kind.DATETIME else _datetimes.parse_date
        try:
            return parse(value)
        except (TypeError, ValueError, OverflowError):
            drifts.append(Drift(path, f"expected {plan.describe()}, got {_snippet(value)}"))
            return None
    if kind == Kind.LIST:
        assert plan.item is not None
        items = []
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            before = len(drifts)
            parsed = _value(plan.item, item, where, drifts)
            if parsed is None and item is not None and len(drifts) > before:
                continue  # an item of the wrong kind is left out; its drift says so
            if parsed is None and not plan.item.nullable:
                continue
            items.append(parsed)
        return items
    if kind == Kind.MODEL:
        assert plan.model is not None
        return _model(plan.model, value, path, drifts)
    return value
