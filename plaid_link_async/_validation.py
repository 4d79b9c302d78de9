"""Client-side checks of requests against the contract's own constraints.

Plaid rejects a bad request with one error about one field; checking here names every
offending field at once, before anything leaves the process.

One rule for enum strings the models do not list, here, in the session and in the
docs: they are accepted (Plaid may know a value newer than these models; the session
sends them and logs a warning naming the nearest known values), and `strict=True`
rejects them, for a typo to fail a test or a command line.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final

from ._codegen import compile_function
from ._exceptions import FieldError, RequestValidationError
from ._model_base import Model
from ._types import Kind, TypePlan, plan_model


def validate(
    request: Model, *, strict: bool = False, allow_unknown_enum_values: bool | None = None
) -> None:
    """Check `request` and everything nested in it against the contract.

    A string where the contract lists enum values may be one it does not list (Plaid
    may know a newer one); with `strict` it must be a listed one. Datetimes must carry
    a time zone. `allow_unknown_enum_values` is the 0.1.0 spelling of `not strict`.

    Raises:
        RequestValidationError: one or more fields break a constraint; all are listed.
    """
    allow = not strict if allow_unknown_enum_values is None else allow_unknown_enum_values
    cls = type(request)
    if _model_checker(cls, allow)(request):
        errors = list(_rule_errors(request))
    else:
        errors = list(_check_model(request, "", allow))
    if errors:
        raise RequestValidationError(cls.__name__, errors)


def check_for_sending(request: Model) -> list[tuple[str, str, list[str]]]:
    """`validate(request)`, returning `unknown_enum_values(request)`: what the session
    runs before every call, with one compiled check when the request is all known."""
    if _model_checker(type(request), False)(request):
        if type(request).__name__ in ONE_OF_RULES:
            errors = list(_rule_errors(request))
            if errors:
                raise RequestValidationError(type(request).__name__, errors)
        return []
    validate(request)
    return unknown_enum_values(request)


def unknown_enum_values(request: Model) -> list[tuple[str, str, list[str]]]:
    """(path, value, the nearest known values) for every enum string the models do not
    list; empty, at the cost of one compiled check, when there is none."""
    if _model_checker(type(request), False)(request):
        return []
    return [
        (path, value, nearest(value, known))
        for path, value, known in _unknown_in_model(request, "")
    ]


def nearest(value: str, known: Iterable[str], count: int = 3) -> list[str]:
    """The known values closest to `value`, case ignored (`AUTH` finds `auth`)."""
    import difflib  # here: only a request with an unknown value pays for it

    by_folded: dict[str, str] = {}
    for name in known:
        by_folded.setdefault(name.casefold(), name)
    if value.casefold() in by_folded:  # only the case is off: that one, alone
        return [by_folded[value.casefold()]]
    matches = difflib.get_close_matches(value.casefold(), by_folded, n=count, cutoff=0.6)
    return [by_folded[match] for match in matches]


def _not_one_of(value: Any, known: Iterable[str]) -> str:
    names = list(known)
    close = nearest(value, names) if isinstance(value, str) else []
    # The hint first: the list may be long, and a line is cut at 500 characters.
    hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
    return f"{value!r}{hint} is not one of: {', '.join(names)}"


def _unknown_in_model(obj: Model, path: str) -> Iterator[tuple[str, str, list[str]]]:
    for field in plan_model(type(obj)):
        value = getattr(obj, field.name)
        if value is not None:
            yield from _unknown_in_value(field.type, value, _join(path, field.name))


def _unknown_in_value(
    plan: TypePlan, value: Any, path: str
) -> Iterator[tuple[str, str, list[str]]]:
    if plan.kind == Kind.ENUM and isinstance(value, str):
        assert plan.enum is not None
        if value not in plan.enum._value2member_map_:
            yield path, value, list(plan.enum._value2member_map_)
    elif plan.kind == Kind.LIST and isinstance(value, (list, tuple)):
        assert plan.item is not None
        for index, item in enumerate(value):
            if item is not None:
                yield from _unknown_in_value(plan.item, item, f"{path}[{index}]")
    elif plan.kind in (Kind.MODEL, Kind.UNION) and isinstance(value, Model):
        yield from _unknown_in_model(value, path)


# Rules the contract states in prose only. Checked after the fields, by class name so
# that a regenerated model keeps its rule.
ONE_OF_RULES: Final[Mapping[str, tuple[tuple[str, ...], ...]]] = {
    # "One of either the user_id or the user field is required" (since 1.6xx).
    "LinkTokenCreateRequest": (("user_id", "user"),),
}


def _rule_errors(obj: Model) -> Iterator[FieldError]:
    for names in ONE_OF_RULES.get(type(obj).__name__, ()):
        if all(getattr(obj, name, None) is None for name in names):
            listed = " or ".join(f"`{name}`" for name in names)
            yield FieldError(names[0], f"one of {listed} is required")


# -- fast path: a yes/no check compiled once per class ----------------------------------
# It mirrors the walk below exactly, without paths or messages: every request is
# checked before it is sent, and the walk's generators cost several times more. Only
# a "no" runs the walk, which then names every offending field.

_Check = Callable[[Any], bool]
_checkers: dict[tuple[type[Model], bool], _Check] = {}


def _model_checker(cls: type[Model], allow: bool) -> _Check:
    checker = _checkers.get((cls, allow))
    if checker is not None:
        return checker
    namespace: dict[str, Any] = {}

    def late(obj: Any) -> bool:
        return compiled(obj)

    # Registered before the fields are planned, so that recursive schemas terminate.
    _checkers[(cls, allow)] = late
    # One straight line per field: most request fields are unset, and a loop of getattr
    # calls over forty of them costs more than the rest of the check.
    lines = ["def check(obj):"]
    for index, field in enumerate(plan_model(cls)):
        name = f"check_{index}"
        namespace[name] = _value_checker(field.type, field.metadata, allow)
        lines.append(f"    value = obj.{field.name}")
        if field.required and not field.type.nullable:
            lines.append(f"    if value is None or not {name}(value):")
        else:
            lines.append(f"    if value is not None and not {name}(value):")
        lines.append("        return False")
    lines.append("    return True")
    compiled: _Check = compile_function("check", "\n".join(lines), namespace)
    _checkers[(cls, allow)] = compiled
    return compiled


def limits(meta: Mapping[str, Any]) -> tuple[Any, Any]:
    """A field's (low, high) bounds, whichever the contract states: a number's value,
    a string's length or a list's size (one kind per field); None where unbounded."""
    low = meta.get("minimum", meta.get("min_length", meta.get("min_items")))
    high = meta.get("maximum", meta.get("max_length", meta.get("max_items")))
    return low, high


def _value_checker(plan: TypePlan, meta: Mapping[str, Any], allow: bool) -> _Check:
    kind = plan.kind
    low, high = limits(meta)
    if kind == Kind.STR:
        one_of = meta.get("one_of")
        return lambda value: (
            isinstance(value, str)
            and (low is None or len(value) >= low)
            and (high is None or len(value) <= high)
            and (one_of is None or value in one_of)
        )
    if kind == Kind.ENUM:
        assert plan.enum is not None
        known = plan.enum._value2member_map_
        if allow:
            return lambda value: isinstance(value, str)
        return lambda value: isinstance(value, str) and value in known
    if kind == Kind.LIST:
        assert plan.item is not None
        item = plan.item
        check_item = _value_checker(item, {}, allow)
        item_may_be_null = item.nullable or item.kind == Kind.ANY

        def check_list(value: Any) -> bool:
            if not isinstance(value, (list, tuple)):
                return False
            if (low is not None and len(value) < low) or (high is not None and len(value) > high):
                return False
            for element in value:
                if element is None:
                    if not item_may_be_null:
                        return False
                elif not check_item(element):
                    return False
            return True

        return check_list
    if kind == Kind.MODEL:
        assert plan.model is not None
        model = plan.model
        return lambda value: isinstance(value, model) and _model_checker(model, allow)(value)
    if kind == Kind.UNION:
        return lambda value: not list(_check_union(plan, value, "", allow))
    if kind in (Kind.INT, Kind.FLOAT):
        return lambda value: (
            _wrong_type(plan, value) is None
            and (low is None or value >= low)
            and (high is None or value <= high)
        )
    return lambda value: _wrong_type(plan, value) is None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check_model(obj: Model, path: str, allow: bool) -> Iterator[FieldError]:
    for field in plan_model(type(obj)):
        where = _join(path, field.name)
        value = getattr(obj, field.name)
        if value is None:
            if field.required and not field.type.nullable:
                yield FieldError(where, "is required")
            continue
        yield from _check_value(field.type, value, where, field.metadata, allow)
    if not path:
        yield from _rule_errors(obj)


def _check_value(
    plan: TypePlan, value: Any, path: str, meta: Mapping[str, Any], allow: bool
) -> Iterator[FieldError]:
    if value is None:
        if not plan.nullable and plan.kind != Kind.ANY:
            yield FieldError(path, "must not be null")
        return
    if plan.kind == Kind.UNION:
        yield from _check_union(plan, value, path, allow)
        return
    wrong = _wrong_type(plan, value)
    if wrong:
        yield FieldError(path, wrong)
        return
    kind = plan.kind
    if kind == Kind.STR:
        yield from _check_string(value, path, meta)
    elif kind in (Kind.INT, Kind.FLOAT):
        if "minimum" in meta and value < meta["minimum"]:
            yield FieldError(path, f"must be at least {meta['minimum']}, got {value}")
        if "maximum" in meta and value > meta["maximum"]:
            yield FieldError(path, f"must be at most {meta['maximum']}, got {value}")
    elif kind == Kind.ENUM:
        assert plan.enum is not None
        known = plan.enum._value2member_map_
        if not allow and value not in known:
            yield FieldError(path, _not_one_of(value, known))
    elif kind == Kind.LIST:
        assert plan.item is not None
        if "min_items" in meta and len(value) < meta["min_items"]:
            yield FieldError(path, f"must have at least {meta['min_items']} item(s)")
        if "max_items" in meta and len(value) > meta["max_items"]:
            yield FieldError(path, f"must have at most {meta['max_items']} item(s)")
        for index, item in enumerate(value):
            yield from _check_value(plan.item, item, f"{path}[{index}]", {}, allow)
    elif kind == Kind.MODEL:
        yield from _check_model(value, path, allow)


def _check_union(plan: TypePlan, value: Any, path: str, allow: bool) -> Iterator[FieldError]:
    """A union's value is one of its members: a member's model (checked as such), a
    dict where the union keeps members it does not know, or a scalar member's type."""
    if isinstance(value, Model):
        if any(variant.model is type(value) for variant in plan.variants):
            yield from _check_model(value, path, allow)
            return
    elif isinstance(value, Mapping):
        if plan.keeps_unknown:
            return
    else:
        for variant in plan.variants:
            if variant.kind not in (Kind.MODEL, Kind.DICT) and not _wrong_type(variant, value):
                yield from _check_value(variant, value, path, {}, allow)
                return
    yield FieldError(path, f"expected {plan.describe()}, got {type(value).__name__}")


def _check_string(value: str, path: str, meta: Mapping[str, Any]) -> Iterator[FieldError]:
    if "min_length" in meta and len(value) < meta["min_length"]:
        yield FieldError(path, f"must be at least {meta['min_length']} character(s) long")
    if "max_length" in meta and len(value) > meta["max_length"]:
        yield FieldError(path, f"must be at most {meta['max_length']} character(s) long")
    if "one_of" in meta and value not in meta["one_of"]:
        yield FieldError(path, _not_one_of(value, meta["one_of"]))


def _wrong_type(plan: TypePlan, value: Any) -> str | None:
    """A message if `value` is not of the Python type `plan` asks for."""
    kind = plan.kind
    ok: bool
    if kind in (Kind.STR, Kind.ENUM):
        ok = isinstance(value, str)
    elif kind == Kind.BOOL:
        ok = isinstance(value, bool)
    elif kind == Kind.INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == Kind.FLOAT:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind == Kind.DATETIME:
        ok = isinstance(value, datetime.datetime)
        if ok and value.utcoffset() is None:
            # Taking a naive value as UTC would silently shift a local time by hours.
            return "a naive datetime has no time zone: give one (datetime.timezone.utc)"
    elif kind == Kind.DATE:
        ok = isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)
    elif kind == Kind.DICT:
        ok = isinstance(value, Mapping)
    elif kind == Kind.LIST:
        ok = isinstance(value, (list, tuple))
    elif kind == Kind.MODEL:
        ok = isinstance(value, plan.model)  # type: ignore[arg-type]
    else:
        ok = True
    if ok:
        return None
    expected = {Kind.DATETIME: "a datetime", Kind.DATE: "a date"}.get(kind, plan.describe())
    return f"expected {expected}, got {type(value).__name__}"
