"""The common request in one pass: checked and made JSON-ready together, or handed back.

`encode_request` used to check a request (`check_for_sending`) and then write it
(`to_dict`): two walks over some forty fields, most of them unset, and half of a call's
own CPU. `plain_request` does both at once, with a function compiled per class whose
every check is inline, and gives up (returns None) at the first thing that is not plain:
a value the check refuses, an enum string the models do not know (which must warn), a
free-form value (`extra`, a dict, a union), a subclass where the model names a class.
The careful path then decides, with the messages and warnings it always gave.

What it returns holds only `str`, `bool`, `int`, finite `float`, `None`, and the lists
and dicts it built, so any JSON encoder writes it to the same value (`_json.dumps_plain`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any, Final

from ._codegen import compile_function
from ._datetimes import format_date, format_datetime
from ._model_base import NO_EXTRA, Model
from ._types import Kind, TypePlan, plan_model
from ._validation import ONE_OF_RULES, limits

_Writer = Callable[[Any], Any]

# Date kinds: the exact class, its writer, and what else refuses a value (a naive
# date-time has no zone to write).
_DATES: Final[Mapping[Kind, tuple[type[Any], Callable[[Any], str], str]]] = {
    Kind.DATETIME: (datetime.datetime, format_datetime, " or v.utcoffset() is None"),
    Kind.DATE: (datetime.date, format_date, ""),
}
#: The compiled writer of each class written so far (`writer_of` makes the others).
writers: dict[type[Model], _Writer] = {}


def plain_request(request: Model) -> dict[str, Any] | None:
    """`to_dict(request)` when `request` is valid and wholly plain, else None."""
    writer = writers.get(request.__class__) or writer_of(request.__class__)
    result: dict[str, Any] | None = writer(request)
    return result


def writer_of(cls: type[Model]) -> _Writer:
    """The compiled writer of `cls`: its dict, or None to hand the request back."""
    namespace: dict[str, Any] = {}

    def late(obj: Any) -> Any:
        return compiled(obj)

    # Registered before the fields are planned, so that recursive schemas terminate.
    writers[cls] = late
    # `extra` is nearly always the shared empty default: `is` costs less than its len().
    namespace["no_extra"] = NO_EXTRA
    lines = [
        "def write(o):",
        "    e = o.extra",
        "    if e is not no_extra and e:",
        "        return None",
        "    d = {}",
    ]
    for index, field in enumerate(plan_model(cls)):
        lines.append(f"    v = o.{field.name}")
        lines.append("    if v is not None:")
        value_lines = _value_lines(
            field.type, field.metadata, f"d[{field.name!r}]", index, namespace
        )
        lines += ["        " + line for line in value_lines]
        if field.required:
            # A required null is written as null where the field may be null, and
            # refused (by the careful path, which names it) where it may not.
            lines.append("    else:")
            lines.append(
                f"        d[{field.name!r}] = None"
                if field.type.nullable
                else "        return None"
            )
    for names in ONE_OF_RULES.get(cls.__name__, ()):
        unset = " and ".join(f"o.{name} is None" for name in names)
        lines += [f"    if {unset}:", "        return None"]
    lines.append("    return d")
    compiled = compile_function("write", "\n".join(lines), namespace)
    compiled.__name__ = compiled.__qualname__ = f"write_{cls.__name__}"
    writers[cls] = compiled
    return compiled


def _value_lines(
    plan: TypePlan, meta: Mapping[str, Any], target: str, key: Any, namespace: dict[str, Any]
) -> list[str]:
    """Lines (to be indented) that check `v` and store it in `target`, or return None."""
    give_up = ["    return None"]
    kind = plan.kind
    bounds = _bounds(meta)
    if kind == Kind.STR:
        checks = ["v.__class__ is not str"] + [f"len(v) {op} {limit!r}" for op, limit in bounds]
        if meta.get("one_of") is not None:
            namespace[f"one_of_{key}"] = frozenset(meta["one_of"])
            checks.append(f"v not in one_of_{key}")
        return [f"if {' or '.join(checks)}:", *give_up, f"{target} = v"]
    if kind == Kind.ENUM:
        assert plan.enum is not None
        namespace[f"known_{key}"] = plan.enum._value2member_map_
        namespace[f"enum_{key}"] = plan.enum
        return [
            f"if v.__class__ is str and v in known_{key}:",
            f"    {target} = v",
            f"elif v.__class__ is enum_{key}:",
            f"    {target} = v._value_",
            "else:",
            "    return None",
        ]
    if kind in (Kind.BOOL, Kind.INT, Kind.FLOAT):
        # Exact classes: bool is an int, and a subclass may write itself otherwise.
        if kind == Kind.FLOAT:
            checks = ["(v.__class__ is not float and v.__class__ is not int) or v - v != 0"]
        else:
            checks = [f"v.__class__ is not {kind.value}"]
        checks += [f"v {op} {limit!r}" for op, limit in bounds]
        return [f"if {' or '.join(checks)}:", *give_up, f"{target} = v"]
    if kind in _DATES:
        cls, write, naive = _DATES[kind]
        namespace[f"{kind.value}_class"], namespace[f"format_{kind.value}"] = cls, write
        return [
            f"if v.__class__ is not {kind.value}_class{naive}:",
            *give_up,
            f"{target} = format_{kind.value}(v)",
        ]
    if kind == Kind.MODEL:
        assert plan.model is not None
        # Found once: while `plan.model` is being written (a recursive schema) this is
        # its `late` stand-in, which calls the compiled writer once it exists.
        namespace[f"model_{key}"] = plan.model
        namespace[f"write_{key}"] = writers.get(plan.model) or writer_of(plan.model)
        # The class is checked here, not in a function around the writer: a frame
        # more for every nested model.
        return [
            f"if v.__class__ is not model_{key}:",
            *give_up,
            f"w = write_{key}(v)",
            "if w is None:",
            *give_up,
            f"{target} = w",
        ]
    if kind == Kind.LIST:
        namespace[f"write_{key}"] = _list_writer(plan, meta)
        return [
            f"w = write_{key}(v)",
            "if w is None:",
            *give_up,
            f"{target} = w",
        ]
    return ["return None"]  # free-form (a dict, any value, a union): the careful path's


def _bounds(meta: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The comparisons that refuse a value out of the field's bounds (see `limits`)."""
    return [(op, limit) for op, limit in zip("<>", limits(meta), strict=True) if limit is not None]


def _list_writer(plan: TypePlan, meta: Mapping[str, Any]) -> _Writer:
    assert plan.item is not None
    item = plan.item
    namespace: dict[str, Any] = {}
    size = " or ".join(f"len(values) {op} {limit!r}" for op, limit in _bounds(meta))
    lines = [
        "def write(values):",
        "    if values.__class__ is not list and values.__class__ is not tuple:",
        "        return None",
    ]
    if size:
        lines += [f"    if {size}:", "        return None"]
    lines += [
        "    out = []",
        "    append = out.append",
        "    for v in values:",
        "        if v is not None:",
    ]
    # The item's lines are written for one level of nesting; a loop adds a second.
    lines += ["            " + line for line in _value_lines(item, {}, "item", "item", namespace)]
    lines += [
        "            append(item)",
        "        else:",
        "            append(None)" if item.nullable else "            return None",
        "    return out",
    ]
    return compile_function("write", "\n".join(lines), namespace)
