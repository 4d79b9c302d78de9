"""Client-side checks of requests against the contract's own constraints.

Plaid rejects a bad request with one error about one field; checking here names every
offending field at once, before anything leaves the process. One walk reads one table,
the field plans of `_field_plans` (a field's type, and the bounds, lengths and allowed values
the contract states in its metadata), plus the rules the contract states in prose only
(`ONE_OF_RULES`); the request is then written by the converter.

One rule for enum strings the models do not list, here, in the session and in the
docs: they are accepted (Plaid may know a value newer than these models; the session
sends them and logs a warning naming the nearest known values), and `strict=True`
rejects them, for a typo to fail a test or a command line.
"""

from __future__ import annotations

import datetime
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import attrs

from .._errors._exceptions import FieldError, RequestValidationError, UnexpectedResponseError
from .._wire._nesting import MAX_NESTING
from ._converter import from_dict, json_type
from ._field_plans import Kind, TypePlan, plan_model
from ._model_base import Model

#: An enum string the models do not list: (path, value, the values they list).
Unknown = tuple[str, str, list[str]]


@attrs.define
class Checked:
    """What one walk over a request found."""

    errors: list[FieldError] = attrs.Factory(list)
    """What breaks the contract (or, with `strict`, is unknown to the models)."""
    unknown: list[Unknown] = attrs.Factory(list)
    """Enum strings the models do not list (without `strict`, sent with a warning)."""


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
    found = check(request, strict=not allow)
    if found.errors:
        raise RequestValidationError(type(request).__name__, found.errors)


def unknown_enum_values(request: Model) -> list[tuple[str, str, list[str]]]:
    """(path, value, the nearest known values) for every enum string the models do not list."""
    return [(path, value, nearest(value, known)) for path, value, known in check(request).unknown]


def check(request: Model, *, strict: bool = False) -> Checked:
    """The one walk: every field of `request`, nested ones too, against its rules."""
    found = Checked()
    _model(request, "", strict, found)
    for names in ONE_OF_RULES.get(type(request).__name__, ()):
        if all(getattr(request, name, None) is None for name in names):
            listed = " or ".join(f"`{name}`" for name in names)
            found.errors.append(FieldError(names[0], f"one of {listed} is required"))
    return found


# Rules the contract states in prose only. Checked after the fields, by class name so
# that a regenerated model keeps its rule.
ONE_OF_RULES: Final[Mapping[str, tuple[tuple[str, ...], ...]]] = {
    # "One of either the user_id or the user field is required" (since 1.6xx).
    "LinkTokenCreateRequest": (("user_id", "user"),),
}


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


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


@attrs.frozen
class _Table:
    """A model's fields as the walk reads them, made once per class."""

    # Every field's value and then `extra`'s, in one call.
    values: Callable[[Model], tuple[Any, ...]]
    # Name, plan and constraints of each field, in the order of `values`.
    fields: tuple[tuple[str, TypePlan, Mapping[str, Any]], ...]
    # The indexes of the fields where None is an error.
    needed: tuple[int, ...]


_tables: dict[type[Model], _Table] = {}


def _table(cls: type[Model]) -> _Table:
    table = _tables.get(cls)
    if table is None:
        plans = plan_model(cls)
        table = _tables[cls] = _Table(
            values=operator.attrgetter(*(field.name for field in plans), "extra"),
            fields=tuple((field.name, field.type, field.metadata) for field in plans),
            needed=tuple(
                index
                for index, field in enumerate(plans)
                if field.required and not field.type.nullable
            ),
        )
    return table


def _model(obj: Model, path: str, strict: bool, found: Checked) -> None:
    table = _table(type(obj))
    values = table.values(obj)
    for index in table.needed:
        if values[index] is None:
            found.errors.append(FieldError(_join(path, table.fields[index][0]), "is required"))
    for (name, plan, meta), value in zip(table.fields, values):  # noqa: B905 - extra is last
        if value is not None:
            _value(plan, value, _join(path, name), meta, strict, found)
    extra = values[-1]
    if extra:
        for key, value in extra.items():
            _free_form(value, _join(path, str(key)), found)


def _value(
    plan: TypePlan, value: Any, path: str, meta: Mapping[str, Any], strict: bool, found: Checked
) -> None:
    errors = found.errors
    if value is None:
        if not plan.nullable and plan.kind is not Kind.ANY:
            errors.append(FieldError(path, "must not be null"))
        return
    kind = plan.kind
    if kind is Kind.UNION:
        _union(plan, value, path, strict, found)
        return
    wrong = _wrong_type(plan, value)
    if wrong:
        errors.append(FieldError(path, wrong))
        return
    if kind is Kind.ENUM:
        assert plan.enum is not None
        known = plan.enum._value2member_map_
        if value not in known:
            if strict:
                errors.append(FieldError(path, _not_one_of(value, known)))
            else:
                found.unknown.append((path, value, list(known)))
    elif kind is Kind.MODEL:
        _model(value, path, strict, found)
    elif kind is Kind.LIST:
        assert plan.item is not None
        if meta:
            if "min_items" in meta and len(value) < meta["min_items"]:
                errors.append(FieldError(path, f"must have at least {meta['min_items']} item(s)"))
            if "max_items" in meta and len(value) > meta["max_items"]:
                errors.append(FieldError(path, f"must have at most {meta['max_items']} item(s)"))
        for index, item in enumerate(value):
            _value(plan.item, item, f"{path}[{index}]", _NONE, strict, found)
    elif kind is Kind.STR:
        if meta:
            _check_string(value, path, meta, errors)
    elif kind is Kind.INT or kind is Kind.FLOAT:
        if "minimum" in meta and value < meta["minimum"]:
            errors.append(FieldError(path, f"must be at least {meta['minimum']}, got {value}"))
        if "maximum" in meta and value > meta["maximum"]:
            errors.append(FieldError(path, f"must be at most {meta['maximum']}, got {value}"))
    elif kind is Kind.DICT or kind is Kind.ANY:
        _free_form(value, path, found)


_NONE: Final[Mapping[str, Any]] = {}


def _check_string(value: str, path: str, meta: Mapping[str, Any], errors: list[FieldError]) -> None:
    if "min_length" in meta and len(value) < meta["min_length"]:
        errors.append(FieldError(path, f"must be at least {meta['min_length']} character(s) long"))
    if "max_length" in meta and len(value) > meta["max_length"]:
        errors.append(FieldError(path, f"must be at most {meta['max_length']} character(s) long"))
    if "one_of" in meta and value not in meta["one_of"]:
        errors.append(FieldError(path, _not_one_of(value, meta["one_of"])))


def _union(plan: TypePlan, value: Any, path: str, strict: bool, found: Checked) -> None:
    """A union's value is one of its members: a member's model (checked as such), a
    dict read as the member its tag names, a dict where the union keeps members it
    does not know, or a scalar member's type."""
    one_of = plan.one_of
    if isinstance(value, Model):
        if any(variant.model is type(value) for variant in plan.variants):
            _model(value, path, strict, found)
            return
    elif isinstance(value, Mapping):
        member = None
        if one_of is not None and one_of.tag is not None:
            tag = value.get(one_of.tag)
            member = one_of.mapping.get(tag) if isinstance(tag, str) else None
        if member is not None:
            # As plaid-python builds it: the member its tag names, then that member's rules.
            try:
                read = from_dict(member, dict(value))
            except UnexpectedResponseError as error:
                found.errors.append(FieldError(_join(path, error.path or ""), error.message))
                return
            _model(read, path, strict, found)
            return
        if plan.keeps_unknown:  # a member newer than the models: Plaid judges it
            _free_form(value, path, found)
            return
    else:
        for variant in plan.variants:
            if variant.kind not in (Kind.MODEL, Kind.DICT) and not _wrong_type(variant, value):
                _value(variant, value, path, {}, strict, found)
                return
    found.errors.append(FieldError(path, f"expected {plan.describe()}, got {type(value).__name__}"))


#: The Python types of the kinds whose check is only `isinstance`.
_PLAIN: Final[Mapping[Kind, Any]] = {
    Kind.STR: str,
    Kind.ENUM: str,
    Kind.BOOL: bool,
    Kind.DICT: Mapping,
    Kind.LIST: (list, tuple),
    Kind.ANY: object,
}


def _wrong_type(plan: TypePlan, value: Any) -> str | None:
    """A message if `value` is not of the Python type `plan` asks for."""
    kind = plan.kind
    plain = _PLAIN.get(kind)
    ok: bool
    if plain is not None:
        ok = isinstance(value, plain)
    elif kind is Kind.INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is Kind.FLOAT:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and not math.isfinite(value):
            return f"must be a finite number, got {value}"  # JSON has no NaN or infinity
    elif kind is Kind.DATETIME:
        ok = isinstance(value, datetime.datetime)
        if ok and value.utcoffset() is None:
            # Taking a naive value as UTC would silently shift a local time by hours.
            return "a naive datetime has no time zone: give one (datetime.timezone.utc)"
    elif kind is Kind.DATE:
        ok = isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)
    else:  # Kind.MODEL
        ok = isinstance(value, plan.model)  # type: ignore[arg-type]
    if ok:
        return None
    expected = {Kind.DATETIME: "a datetime", Kind.DATE: "a date"}.get(kind, plan.describe())
    return f"expected {expected}, got {type(value).__name__}"


_SCALARS: Final = (str, int, float, bool, type(None))


def _free_form(value: Any, path: str, found: Checked) -> None:
    """A value kept as given (an extra, a dict, an `Any` field) must be JSON: objects
    with string keys, lists, strings, finite numbers, booleans and null, nested at most
    `MAX_NESTING` levels. Checked by a loop, not a recursion, whatever its depth."""
    pending = [(value, 0)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, _SCALARS):
            if isinstance(node, float) and not math.isfinite(node):
                found.errors.append(FieldError(path, f"holds {node}, which JSON cannot carry"))
                return
            continue
        if depth >= MAX_NESTING:
            found.errors.append(FieldError(path, f"nested deeper than {MAX_NESTING} levels"))
            return
        if isinstance(node, Mapping):
            if not all(isinstance(key, str) for key in node):
                found.errors.append(FieldError(path, "has a key that is not a string"))
                return
            pending.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, (list, tuple)):
            pending.extend((child, depth + 1) for child in node)
        else:
            found.errors.append(
                FieldError(path, f"cannot be written as JSON (holds {json_type(node)})")
            )
            return
