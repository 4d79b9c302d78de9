"""The tolerant reader: an answer is checked strictly, the details it carries are not.

Plaid relaxes and adds fields every month, and one null deep inside a list of events
must not cost the caller the public tokens beside it. So when the fast, strict parse of
an answer fails, this walk reads it again: the answer's own required fields must be
there and of the right kind, or the call fails; below them, a missing or null required
field, or a value of the wrong type or format, reads as `None` (a bad list item is left
out) and is recorded as a `Drift` with its path.

Its cost is bounded whatever the answer: it keeps the first `MAX_KEPT_DRIFT` drifts and
counts the rest, stops with `TooMuchDrift` past `MAX_DRIFT` of them, drops kept values
nested deeper than `MAX_NESTING`, and, given a deadline, stops with `ReadingTooLong`
when it passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

from .._errors._exceptions import UnexpectedResponseError
from .._wire import _datetimes
from .._wire._nesting import MAX_NESTING, nesting_within
from ._converter import from_dict
from ._converter import json_type as _json_type
from ._converter import snippet as _snippet
from ._drift import MAX_DRIFT, MAX_KEPT_DRIFT, NO_DRIFTS, Drift, Drifts
from ._field_plans import Kind, TypePlan, plan_model
from ._model_base import Model

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


# The deadline is looked at once per this many objects read: often enough to stop
# within a millisecond or two, rarely enough to cost nothing.
_CLOCK_EVERY: Final = 512


class ReadingTooLong(Exception):
    """The tolerant reader passed its deadline; the caller turns it into its own error."""


class TooMuchDrift(Exception):
    """The answer drifted in more than `MAX_DRIFT` places; the caller refuses it."""


class _Reading:
    """The state of one tolerant read: the drifts kept, their count, and the time left."""

    __slots__ = ("count", "deadline", "kept", "steps")

    def __init__(self, deadline: float | None) -> None:
        self.kept: list[Drift] = []
        self.count = 0
        self.deadline = deadline
        self.steps = 0

    def drift(self, path: str, name: str | int | None, problem: str) -> None:
        """Record a drift at `name` under `path`; the path text is built only if kept."""
        self.count += 1
        if len(self.kept) < MAX_KEPT_DRIFT:
            self.kept.append(Drift(_join(path, name), problem))
        elif self.count > MAX_DRIFT:
            raise TooMuchDrift

    def step(self) -> None:
        self.steps += 1
        if (
            self.deadline is not None
            and not self.steps % _CLOCK_EVERY
            and time.monotonic() > self.deadline
        ):
            raise ReadingTooLong

    def drifts(self) -> Drifts:
        return Drifts(self.kept, self.count) if self.count else NO_DRIFTS


_TOO_DEEP: Final = f"nested deeper than {MAX_NESTING} levels; dropped"
_MISSING: Final = object()


def _join(path: str, name: str | int | None) -> str:
    """`path` and one step below it: a field name, or a list index."""
    if name is None:
        return path
    if name.__class__ is int:
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else str(name)


def read_tolerantly(
    cls: type[_M], data: Any, *, lenient_top: bool = False, deadline: float | None = None
) -> tuple[_M, Drifts]:
    """`cls` from `data`, and what drifted in it.

    `deadline` is a `time.monotonic()` reading after which the read gives up.

    Raises:
        UnexpectedResponseError: `data` is not an object, or one of `cls`'s own required
            fields is missing, null or of the wrong kind (unless `lenient_top`, for error
            bodies, where nothing but the object itself is required).
        ReadingTooLong: the deadline passed.
        TooMuchDrift: more than `MAX_DRIFT` details drifted.
    """
    refusal = _refusal(cls, data, lenient_top)
    if refusal is not None:
        del data  # the traceback keeps this frame; it need not keep the parsed body
        raise refusal
    reading = _Reading(deadline)
    return _model(cls, data, "", reading), reading.drifts()


def strict_error(
    cls: type[Model], data: Any, *, deadline: float | None = None
) -> UnexpectedResponseError:
    """The error naming the first place where `data`, which the strict read refused,
    breaks the contract of `cls`, at a bounded cost.

    The tolerant read counts the damage first, within its bounds; only then does
    cattrs' detailed validation (`from_dict`), which costs per error, name the field.

    Raises:
        UnexpectedResponseError: `data` is no `cls` at all (returned, not raised, for
            anything else).
        ReadingTooLong, TooMuchDrift: as `read_tolerantly`.
    """
    read_tolerantly(cls, data, deadline=deadline)
    try:
        from_dict(cls, data)
    except UnexpectedResponseError as error:
        return error
    return UnexpectedResponseError(  # pragma: no cover - the strict read refused it
        "does not fit the contract", model=cls.__name__
    )


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


def _model(cls: type[_M], data: dict[str, Any], path: str, reading: _Reading) -> _M:
    # Paths are built only where a drift is kept or an object nests: most of a drifted
    # answer is fine, and most of a hostile one drifts past the kept hundred.
    reading.step()
    # A field that drifted holds None (attrs' __init__ takes it: the models have no
    # validators), and the drift says why. What was received for it is kept in
    # `extra` under its name, so that `to_dict` writes back what Plaid sent.
    values: dict[str, Any] = {}
    received: dict[str, Any] = {}
    for field in plan_model(cls):
        name = field.name
        value = data.get(name, _MISSING)
        if value is _MISSING or value is None:
            if field.required and (value is _MISSING or not field.type.nullable):
                problem = (
                    "required field is missing"
                    if value is _MISSING
                    else "is null, but the contract requires a value"
                )
                reading.drift(path, name, problem)
                if value is None:
                    received[name] = None
            values[name] = None
            continue
        before = reading.count
        read = values[name] = _value(field.type, value, path, name, reading)
        if read is None and reading.count > before and nesting_within(value):
            received[name] = value
    known = _names(cls)
    if not received and known.issuperset(data):
        return cls(**values)
    extra = received
    for key, value in data.items():
        if key in known:
            continue
        if nesting_within(value):
            extra[key] = value
        else:
            reading.drift(path, str(key), _TOO_DEEP)
    return cls(**values, extra=extra)


_known: dict[type[Model], frozenset[str]] = {}


def _names(cls: type[Model]) -> frozenset[str]:
    names = _known.get(cls)
    if names is None:
        names = _known[cls] = frozenset(field.name for field in plan_model(cls))
    return names


def _value(plan: TypePlan, value: Any, path: str, name: str | int | None, reading: _Reading) -> Any:
    """`value` read as `plan`, found at `name` under `path`."""
    if value is None:
        if not plan.nullable and plan.kind != Kind.ANY:
            reading.drift(path, name, "is null")
        return None
    kind = plan.kind
    check = _CHECKS.get(kind)
    if check is not None and not check(value):
        reading.drift(path, name, f"expected {plan.describe()}, got {_json_type(value)}")
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
            reading.drift(path, name, f"expected {plan.describe()}, got {_snippet(value)}")
            return None
    if kind == Kind.LIST:
        assert plan.item is not None
        where = _join(path, name)
        items = []
        for index, item in enumerate(value):
            before = reading.count
            parsed = _value(plan.item, item, where, index, reading)
            if parsed is None and item is not None and reading.count > before:
                continue  # an item of the wrong kind is left out; its drift says so
            if parsed is None and not plan.item.nullable and plan.item.kind != Kind.ANY:
                continue
            items.append(parsed)
        return items
    if kind == Kind.MODEL:
        assert plan.model is not None
        return _model(plan.model, value, _join(path, name), reading)
    if kind == Kind.UNION:
        return _member(plan, value, path, name, reading)
    if not nesting_within(value):  # a free-form value, kept as sent: bounded like extras
        reading.drift(path, name, _TOO_DEEP)
        return None
    return value


def _member(
    plan: TypePlan, value: Any, path: str, name: str | int | None, reading: _Reading
) -> Any:
    """A union's value: the member its tag names, read tolerantly; else the first member
    it fits. One it does not fit (a tag newer than the models, or none) is kept as the
    plain dict where the union allows, and is drift either way."""
    one_of = plan.one_of
    assert one_of is not None
    if one_of.tag is not None:
        if value.__class__ is not dict:
            reading.drift(path, name, f"expected {plan.describe()}, got {_json_type(value)}")
            return None
        member = plan.member(value)
        if member is not None:
            return _value(member, value, path, name, reading)
        tag = one_of.tag
        known = tag in value
        problem = f"`{tag}` {_snippet(value.get(tag))} is unknown" if known else f"has no `{tag}`"
    else:
        for variant in plan.variants:
            if variant.kind == Kind.DICT:
                continue
            trial = _Reading(reading.deadline)  # the read's own deadline bounds the tries
            found = _value(variant, value, path, name, trial)
            if not trial.count:
                return found
        problem = f"fits none of: {plan.describe().removeprefix('one of: ')}"
    if plan.keeps_unknown and value.__class__ is dict and nesting_within(value):
        reading.drift(path, name, f"{problem}; kept as a dict")
        return value
    reading.drift(path, name, problem)
    return None
