"""The one cattrs converter between models and JSON-ready data, and its faces.

Every model is read and written by `converter`, configured here with cattrs' own
tools: `make_dict_structure_fn` and `make_dict_unstructure_fn` per model class, and a
hook per rule of the package:

- scalars are strict: a string field takes a string, never `3` (JSON has no other
  way to say it, and a silent `"3"` hides a broken answer); a number field takes an
  integer too;
- an enum field is open: a value newer than the models stays a plain string;
- date-times are ISO 8601, one without an offset taken as UTC, and written with `Z`;
- a free-form value (`Any`, a `dict`, the keys a model does not declare, which are
  kept in its `extra`) is kept as sent if it nests at most `MAX_NESTING` levels;
- a contract union (`OneOf`) reads as the member its tag names.

A bad answer is named by cattrs' detailed validation: `from_dict` turns the first
error of its `ClassValidationError` (through `transform_error`) into an
`UnexpectedResponseError` with the field's path.
"""

from __future__ import annotations

import datetime
import enum
import reprlib
import types
import typing
from collections.abc import Callable
from typing import Any, Final, TypeVar, Union

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.errors import AttributeValidationNote, BaseValidationError, ClassValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import transform_error

from .._errors._exceptions import UnexpectedResponseError
from .._wire import _datetimes
from .._wire._nesting import MAX_NESTING, nesting_within
from ._model_base import Model, OneOf

__all__ = [
    "converter",
    "from_dict",
    "json_type",
    "snippet",
    "to_dict",
    "try_from_dict",
]

_M = TypeVar("_M", bound=Model)

#: Every model, read and written.
converter: Final = cattrs.Converter(detailed_validation=True)


class WrongValue(ValueError):
    """A value a hook refuses; its text is the message the caller sees."""


def _wrong(expected: str, value: Any) -> WrongValue:
    if value is None:
        return WrongValue("is null, but the contract requires a value")
    return WrongValue(f"expected {expected}, got {json_type(value)}")


_TOO_DEEP: Final = f"nested deeper than {MAX_NESTING} levels"


# -- scalars ---------------------------------------------------------------------------


def _origin(tp: Any) -> Any:
    return typing.get_origin(tp)


def _exact(cls: type[Any], expected: str) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        # The exact class: `True` is an int to Python, not to JSON.
        if value.__class__ is not cls:
            raise _wrong(expected, value)
        return value

    return structure


def _structure_float(value: Any, _: Any) -> float:
    if value.__class__ is float:
        return value
    if value.__class__ is int:
        return float(value)
    raise _wrong("a number", value)


def _iso(parse: Callable[[str], Any], expected: str) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        if value.__class__ is not str:
            raise _wrong(expected, value)
        try:
            return parse(value)
        except (ValueError, OverflowError):
            pass
        raise WrongValue(f"expected {expected}, got {snippet(value)}")

    return structure


def _structure_any(value: Any, _: Any) -> Any:
    if not nesting_within(value):
        raise WrongValue(_TOO_DEEP)
    return value


def _structure_dict(value: Any, _: Any) -> Any:
    if value.__class__ is not dict:
        raise _wrong("an object", value)
    if not nesting_within(value):
        raise WrongValue(_TOO_DEEP)
    return value


converter.register_structure_hook(str, _exact(str, "a string"))
converter.register_structure_hook(int, _exact(int, "an integer"))
converter.register_structure_hook(bool, _exact(bool, "a boolean"))
converter.register_structure_hook(float, _structure_float)
converter.register_structure_hook(
    datetime.datetime, _iso(_datetimes.parse_datetime, "an ISO 8601 date-time string")
)
converter.register_structure_hook(
    datetime.date, _iso(_datetimes.parse_date, "an ISO 8601 date string")
)
converter.register_structure_hook_func(lambda t: t is Any, _structure_any)
converter.register_structure_hook_func(lambda t: _origin(t) is dict, _structure_dict)
converter.register_unstructure_hook(datetime.datetime, _datetimes.format_datetime)
converter.register_unstructure_hook(datetime.date, _datetimes.format_date)


# -- lists -----------------------------------------------------------------------------


def _is_list(tp: Any) -> bool:
    return _origin(tp) is list


@converter.register_structure_hook_factory(_is_list)
def _list_hook(tp: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    # cattrs' own list hook names the index of a bad item; it takes any iterable, and
    # a string or an object where the contract says list is a broken answer.
    each = list_structure_factory(tp, conv)
    free_form = typing.get_args(tp)[0] is Any  # cattrs copies such a list as it is

    def structure(value: Any, _: Any) -> Any:
        if value.__class__ is not list:
            raise _wrong("a list", value)
        if free_form and not nesting_within(value, MAX_NESTING + 1):
            raise WrongValue(_TOO_DEEP)
        return each(value, tp)

    return structure


# -- optional values and open enums ------------------------------------------------------


def _members(tp: Any) -> tuple[list[Any], bool] | None:
    """A union's members other than None, and whether None is one; None if no union."""
    if typing.get_origin(tp) not in (Union, types.UnionType):
        return None
    args = typing.get_args(tp)
    members = [arg for arg in args if arg is not type(None)]
    return members, len(members) < len(args)


def _optional(tp: Any) -> Any:
    """`X` of `X | None`, or None."""
    found = _members(tp)
    return found[0][0] if found is not None and found[1] and len(found[0]) == 1 else None


@converter.register_structure_hook_factory(lambda t: _optional(t) is not None)
def _optional_hook(tp: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    # cattrs' own looks the member's hook up on every value; this finds it once.
    member = _optional(tp)
    hook = conv.get_structure_hook(member)

    def structure(value: Any, _: Any) -> Any:
        return None if value is None else hook(value, member)

    return structure


def _nullable(tp: Any) -> bool:
    """Whether None is one of `tp`'s values."""
    if typing.get_origin(tp) is typing.Annotated:
        tp = tp.__origin__
    found = _members(tp)
    return found is not None and found[1]


def _open_enum(tp: Any) -> type[enum.Enum] | None:
    """`E` of an open enum, `E | str` (or `E | str | None`)."""
    found = _members(tp)
    if found is None or len(found[0]) != 2 or str not in found[0]:
        return None
    (other,) = (member for member in found[0] if member is not str)
    return other if isinstance(other, type) and issubclass(other, enum.Enum) else None


@converter.register_structure_hook_factory(lambda t: _open_enum(t) is not None)
def _open_enum_hook(tp: Any) -> Callable[[Any, Any], Any]:
    known = typing.cast("type[enum.Enum]", _open_enum(tp))._value2member_map_.get
    nullable = typing.cast("tuple[list[Any], bool]", _members(tp))[1]

    def structure(value: Any, _: Any) -> Any:
        if value.__class__ is str:
            return known(value, value)  # a value newer than the models stays a string
        if value is None and nullable:
            return None
        raise _wrong("a string", value)

    return structure


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


# cattrs takes a union of `str` and a `str` enum for one it passes through as it is.
converter.register_unstructure_hook_func(lambda t: _open_enum(t) is not None, _enum_value)


# -- contract unions (`OneOf`) ---------------------------------------------------------


def _one_of(tp: Any) -> OneOf | None:
    if typing.get_origin(tp) is not typing.Annotated:
        return None
    return next((m for m in tp.__metadata__ if isinstance(m, OneOf)), None)


@converter.register_structure_hook_factory(lambda t: _one_of(t) is not None)
def _union_hook(tp: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    one_of = typing.cast(OneOf, _one_of(tp))
    members, nullable = typing.cast("tuple[list[Any], bool]", _members(tp.__origin__))
    tag = one_of.tag
    if tag is None:
        # Untagged: the first member the value fits, in the contract's order.
        tries = [member for member in members if typing.get_origin(member) is not dict]
        names = ", ".join(getattr(member, "__name__", str(member)) for member in tries)

        def structure_first(value: Any, _: Any) -> Any:
            if value is None and nullable:
                return None
            for member in tries:
                try:
                    return conv.structure(value, member)
                except (BaseValidationError, ValueError, TypeError, KeyError):
                    continue
            raise WrongValue(f"expected one of: {names}, got {json_type(value)}")

        return structure_first
    known = ", ".join(one_of.mapping)

    def structure_tagged(value: Any, _: Any) -> Any:
        if value is None and nullable:
            return None
        if value.__class__ is not dict:
            raise _wrong(f"an object with `{tag}`", value)
        name = value.get(tag)
        member = one_of.mapping.get(name) if name.__class__ is str else None
        if member is not None:
            return conv.structure(value, member)
        if tag not in value:
            problem = WrongValue("is missing: it says which kind of object this is")
        else:
            problem = WrongValue(
                f"{snippet(name)} is not a kind this library knows (known: {known})"
            )
        raise _at_field(problem, tag, tp)

    return structure_tagged


def _at_field(problem: Exception, name: str, tp: Any) -> ClassValidationError:
    """`problem` as cattrs reports an error in field `name`, so that its path names it."""
    # PEP 678's notes, as cattrs' own hooks attach them (`add_note` is Python 3.11's).
    note = AttributeValidationNote(f"Structuring @ attribute {name}", name, tp)
    problem.__notes__ = [note]  # type: ignore[attr-defined]
    return ClassValidationError(f"While structuring {tp!r}", [problem], tp)


# -- models ----------------------------------------------------------------------------


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Model) and tp is not Model


@converter.register_structure_hook_factory(_is_model)
def _model_hook(cls: type[Model], conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    fields = make_dict_structure_fn(cls, conv, extra=override(omit=True))
    known = frozenset(field.name for field in attrs.fields(cls)) - {"extra"}
    expected = f"a {cls.__name__} object"

    def structure(data: Any, _: Any) -> Model:
        if data.__class__ is not dict:
            raise _wrong(expected, data)
        made: Model = fields(data, cls)
        if known.issuperset(data):
            return made
        # Keys the models do not declare: Plaid added them; kept, bounded.
        extra = {key: value for key, value in data.items() if key not in known}
        for key, value in extra.items():
            if not nesting_within(value):
                raise _at_field(WrongValue(f"unknown field {_TOO_DEEP}"), key, cls)
        return attrs.evolve(made, extra=extra)

    return structure


def _or_null(write: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else write(value)


@converter.register_unstructure_hook_factory(_is_model)
def _model_writer(cls: type[Model], conv: cattrs.Converter) -> Callable[[Model], Any]:
    # Unset optional fields are left out: Plaid reads null as a value. A required field
    # holds None only where the tolerant reader found it drifted, or where the caller
    # broke the contract: written as null only if the contract allows null there.
    fields = attrs.fields(attrs.resolve_types(cls))
    required = {
        field.name: override(unstruct_hook=_or_null(conv.get_unstructure_hook(field.type)))
        for field in fields
        if field.default is attrs.NOTHING
    }
    never_null = tuple(
        field.name
        for field in fields
        if field.default is attrs.NOTHING and not _nullable(field.type)
    )
    overrides = {"extra": override(omit=True), **required}
    write = make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True, **overrides)  # type: ignore[arg-type]

    def unstructure(obj: Model) -> dict[str, Any]:
        data: dict[str, Any] = write(obj)
        for name in never_null:
            if data[name] is None:
                del data[name]
        if obj.extra:
            # Unknown keys, and what was received for a field that drifted: the
            # field's own value wins wherever it has one.
            for key, value in obj.extra.items():
                if data.get(key) is None:
                    data[key] = value
        return data

    return unstructure


# -- the faces -------------------------------------------------------------------------

#: `converter` without detailed validation (see `try_from_dict`), every hook the same.
_first_error_only: Final = converter.copy(detailed_validation=False)


def try_from_dict(cls: type[_M], data: Any) -> _M | None:
    """`cls` from `data`, or None if anything in it breaks the contract.

    By `converter`'s copy without detailed validation, which stops at the first error:
    the detailed one goes on to collect every error, about 30 µs each, and an answer
    built to break everywhere holds hundreds of thousands.
    """
    try:
        result: _M = _first_error_only.structure(data, cls)
    except (BaseValidationError, ValueError, TypeError, KeyError, AttributeError):
        return None
    return result


def from_dict(cls: type[_M], data: Any) -> _M:
    """Build a `cls` from JSON-decoded `data`.

    A bad `data` costs about 30 µs per error in it (cattrs' detailed validation
    collects them all); for data from a server or a webhook sender, whose errors are
    unbounded, `_tolerant_reader.strict_error` counts them first.

    Raises:
        UnexpectedResponseError: `data` is not of the shape the contract gives `cls`; its
            `path` names the first offending field.
    """
    result = try_from_dict(cls, data)
    if result is not None:
        return result
    try:
        converter.structure(data, cls)
    except (BaseValidationError, ValueError) as error:
        failure = _named(error, cls)
    else:  # pragma: no cover - the two converters share every hook
        failure = UnexpectedResponseError("does not fit the contract", model=cls.__name__)
    # Raised outside `except`: the exception behind it may quote the body, and a chain
    # is where loggers and error trackers look.
    try:
        raise failure
    finally:
        # Else this frame holds the error, whose traceback holds this frame: a cycle
        # keeping `data`, the whole parsed body, alive until the garbage collector runs.
        del failure, data


def _named(error: Exception, cls: type[Model]) -> UnexpectedResponseError:
    """The first problem in cattrs' `error`, as the package's error with its path."""
    first = transform_error(error, "$", _describe)[0]
    message, _, path = first.rpartition(" @ ")
    return UnexpectedResponseError(
        message, model=cls.__name__, path=path.removeprefix("$").removeprefix(".")
    )


def _describe(error: BaseException, _: Any) -> str:
    if isinstance(error, WrongValue):
        return str(error)
    if isinstance(error, KeyError):
        return "required field is missing"
    return f"could not parse: {type(error).__name__}: {snippet(str(error), 200)}"


def to_dict(obj: Model) -> dict[str, Any]:
    """The JSON-ready dict of `obj`: enums as strings, ISO 8601 dates, unset fields left out."""
    result: dict[str, Any] = converter.unstructure(obj)
    return result


# -- describing values in messages -------------------------------------------------------


_JSON_TYPES: Final = {
    dict: "an object",
    list: "a list",
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    type(None): "null",
}


def json_type(value: Any) -> str:
    """What `value` is in JSON terms: `an object`, `a string`, `null`."""
    return _JSON_TYPES.get(value.__class__, type(value).__name__)


def snippet(value: Any, limit: int = 40) -> str:
    """A short repr of `value` for a message, however large or deep it is."""
    # reprlib, not repr: a value nested a thousand deep reprs in a few levels, no recursion.
    text = _SNIPPET_REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SNIPPET_REPR: Final = reprlib.Repr()
_SNIPPET_REPR.maxlevel = 3
_SNIPPET_REPR.maxstring = 60
_SNIPPET_REPR.maxother = 60
