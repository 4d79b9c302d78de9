"""Models to JSON: an unstructure function compiled per model class, and `to_dict`."""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable
from typing import Any

import attrs

from . import _datetimes
from ._cattrs import converter
from ._codegen import compile_function
from ._model_base import Model
from ._types import Kind, TypePlan, is_model, plan_model


def _value_of(member: Any) -> Any:
    # `_value_`, not `value`: the property costs more than the rest of this function.
    return member._value_ if isinstance(member, enum.Enum) else member


def _unstructure_member(value: Any) -> Any:
    """One union member as JSON, by what it is: the union's plan does not say which."""
    if isinstance(value, Model):
        return to_dict(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime.datetime):
        return _datetimes.format_datetime(value)
    if isinstance(value, datetime.date):
        return _datetimes.format_date(value)
    return value  # a dict kept as sent, or a scalar


def _item_unstructurer(plan: TypePlan) -> Callable[[Any], Any] | None:
    """A function turning one value of `plan` into JSON, or None where it is JSON already."""
    kind = plan.kind
    inner: Callable[[Any], Any] | None
    if kind == Kind.DATETIME:
        inner = _datetimes.format_datetime
    elif kind == Kind.DATE:
        inner = _datetimes.format_date
    elif kind == Kind.ENUM:
        inner = _value_of
    elif kind == Kind.MODEL:
        assert plan.model is not None
        inner = converter.get_unstructure_hook(plan.model)
    elif kind == Kind.UNION:
        inner = _unstructure_member
    elif kind == Kind.LIST:
        assert plan.item is not None
        each = _item_unstructurer(plan.item)
        if each is None:
            inner = list
        else:

            def inner(values: list[Any], each: Callable[[Any], Any] = each) -> list[Any]:
                return [each(value) for value in values]

    else:
        return None
    if plan.nullable and inner is not None:
        convert = inner

        def inner(value: Any) -> Any:
            return None if value is None else convert(value)

    return inner


def _make_unstructure(cls: type[Model]) -> Callable[[Model], dict[str, Any]]:
    ns: dict[str, Any] = {}
    lines = ["def unstructure(o):", "    d = {}"]
    for plan in plan_model(cls):
        # Every field is tested for None right here, so its converter need not be.
        type_ = attrs.evolve(plan.type, nullable=False)
        convert = _item_unstructurer(type_)
        value = f"o.{plan.name}"
        if convert is not None:
            ns[f"_u_{plan.name}"] = convert
        if plan.required:
            # A required field holds None when the tolerant reader found it drifted:
            # every model the library hands out goes back through to_dict, as null.
            if convert is None:
                lines.append(f"    d[{plan.name!r}] = {value}")
            else:
                lines.append(f"    v = {value}")
                lines.append(f"    d[{plan.name!r}] = None if v is None else _u_{plan.name}(v)")
        else:
            # Unset optional fields are left out: Plaid reads null as a value.
            lines.append(f"    v = {value}")
            expr = f"_u_{plan.name}(v)" if convert else "v"
            lines.append(f"    if v is not None: d[{plan.name!r}] = {expr}")
    lines += [
        "    if o.extra:",
        "        for k, v in o.extra.items():",
        "            d.setdefault(k, v)",
        "    return d",
    ]
    fn = compile_function("unstructure", "\n".join(lines) + "\n", ns)
    fn.__name__ = fn.__qualname__ = f"unstructure_{cls.__name__}"
    return fn


converter.register_unstructure_hook_factory(is_model, _make_unstructure)


def to_dict(obj: Model) -> dict[str, Any]:
    """The JSON-ready dict of `obj`: enums as strings, ISO 8601 dates, unset fields left out."""
    cls = obj.__class__
    hook = _unstructure_hooks.get(cls)
    if hook is None:
        hook = _unstructure_hooks[cls] = converter.get_unstructure_hook(cls)
    result: dict[str, Any] = hook(obj)
    return result


_unstructure_hooks: dict[type[Any], Callable[[Any], Any]] = {}
