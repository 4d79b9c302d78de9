"""A griffe extension for the API reference of attrs classes (`mkdocs.yml` loads it).

Griffe reads source, so it knows nothing of what attrs generates. Without help a field
written `x: int | None = attrs.field(default=None, metadata={...})` would show the
whole `attrs.field(...)` call as its value under griffe's `class-attribute` label,
and the class would have no signature, its `__init__` being made at import time. So
for each class decorated by attrs this shows the field's real default (none for a
required one), labels the field `required` or `optional`, and gives the class the
`__init__` attrs makes, for `merge_init_into_class` to render as its signature.
Of other classes' attributes set in `__init__` it hides the value, which is only the
parameter they are set from.
"""

from __future__ import annotations

from typing import Any

import griffe

_DECORATORS = ("attrs.frozen", "attrs.define", "attrs.mutable", "attr.s", "attr.attrs")


def _is_attrs(cls: griffe.Class) -> bool:
    return any(str(d.callable_path) in _DECORATORS for d in cls.decorators)


def _keyword_only(cls: griffe.Class) -> bool:
    for decorator in cls.decorators:
        value = decorator.value
        if isinstance(value, griffe.ExprCall):
            for argument in value.arguments:
                if isinstance(argument, griffe.ExprKeyword) and argument.name == "kw_only":
                    return str(argument.value) == "True"
    return False


def _default(value: str | griffe.Expr | None) -> str | griffe.Expr | None:
    """The default an `attrs.field(...)` call sets, or the plain value; None if required."""
    if isinstance(value, griffe.ExprCall) and str(value.function) in ("attrs.field", "attr.ib"):
        for argument in value.arguments:
            if isinstance(argument, griffe.ExprKeyword) and argument.name == "default":
                return argument.value
        return None
    return value


def _hide_init_values(cls: griffe.Class) -> None:
    # An attribute annotated on the class and set in `__init__` (an exception's
    # `status`) would show `= status`, the parameter it is set from, as if a default.
    for member in cls.members.values():
        if isinstance(member, griffe.Attribute) and member.labels == {"instance-attribute"}:
            member.value = None


class AttrsFields(griffe.Extension):
    def on_class_members(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        if not _is_attrs(cls):
            _hide_init_values(cls)
            return
        kind = (
            griffe.ParameterKind.keyword_only
            if _keyword_only(cls)
            else griffe.ParameterKind.positional_or_keyword
        )
        parameters = [griffe.Parameter("self", kind=griffe.ParameterKind.positional_only)]
        for member in cls.members.values():
            if not isinstance(member, griffe.Attribute) or member.annotation is None:
                continue
            if "class-attribute" not in member.labels and "instance-attribute" not in member.labels:
                continue
            if member.name.startswith("_") or str(member.annotation).startswith("ClassVar"):
                continue
            member.value = _default(member.value)
            member.labels -= {"class-attribute", "instance-attribute"}
            member.labels.add("required" if member.value is None else "optional")
            parameters.append(
                griffe.Parameter(
                    member.name,
                    annotation=member.annotation,
                    kind=kind,
                    default=member.value,
                )
            )
        if "__init__" not in cls.members:
            init = griffe.Function(
                "__init__",
                parameters=griffe.Parameters(*parameters),
                returns="None",
                parent=cls,
            )
            cls.set_member("__init__", init)
