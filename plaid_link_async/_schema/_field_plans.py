"""What a model's fields are on the wire, read once per class from its annotations.

The converter, the diagnosis of bad responses and request validation all walk these
plans, so the three agree on what each field accepts.
"""

from __future__ import annotations

import datetime
import enum
import types
import typing
from collections.abc import Mapping
from typing import Any, Final, Union

import attrs

from ._model_base import Model, OneOf


class Kind(str, enum.Enum):
    """What a type is on the wire."""

    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATETIME = "datetime"
    DATE = "date"
    ANY = "any"
    DICT = "dict"
    ENUM = "enum"  # a string, with the values the contract knows
    MODEL = "model"
    LIST = "list"
    UNION = "union"  # one of several members (a contract `oneOf`), see `OneOf`


_SCALARS: Final[Mapping[Any, Kind]] = {
    str: Kind.STR,
    int: Kind.INT,
    float: Kind.FLOAT,
    bool: Kind.BOOL,
    datetime.datetime: Kind.DATETIME,
    datetime.date: Kind.DATE,
    Any: Kind.ANY,
}


@attrs.frozen
class TypePlan:
    """One type: its kind, whether `None` is allowed, and what it holds."""

    kind: Kind
    nullable: bool = False
    enum: type[enum.Enum] | None = None  # Kind.ENUM: the enum whose values are known
    model: type[Model] | None = None  # Kind.MODEL: the class
    item: TypePlan | None = None  # Kind.LIST: the element type
    # Kind.UNION: the members in order (a trailing DICT keeps an unknown member), and how
    # they are told apart.
    variants: tuple[TypePlan, ...] = ()
    one_of: OneOf | None = None

    def describe(self) -> str:
        """A short name for messages: `a string`, `a list`, `a LinkEvent object`."""
        if self.kind == Kind.MODEL and self.model is not None:
            return f"a {self.model.__name__} object"
        if self.kind == Kind.UNION:
            if self.one_of is not None and self.one_of.tag is not None:
                return f"an object with `{self.one_of.tag}`"
            return "one of: " + ", ".join(variant.describe() for variant in self.variants)
        return _DESCRIPTIONS[self.kind]

    def member(self, value: Any) -> TypePlan | None:
        """Kind.UNION with a tag: the member `value` (an object) names, if it names one."""
        assert self.one_of is not None
        assert self.one_of.tag is not None
        tag = value.get(self.one_of.tag)
        cls = self.one_of.mapping.get(tag) if tag.__class__ is str else None
        return None if cls is None else TypePlan(Kind.MODEL, model=cls)

    @property
    def keeps_unknown(self) -> bool:
        """Kind.UNION: whether a member it does not know is kept as the plain dict."""
        return bool(self.variants) and self.variants[-1].kind == Kind.DICT


_DESCRIPTIONS: Final = {
    Kind.STR: "a string",
    Kind.INT: "an integer",
    Kind.FLOAT: "a number",
    Kind.BOOL: "a boolean",
    Kind.DATETIME: "an ISO 8601 date-time string",
    Kind.DATE: "an ISO 8601 date string",
    Kind.ANY: "any JSON value",
    Kind.DICT: "an object",
    Kind.ENUM: "a string",
    Kind.LIST: "a list",
}


@attrs.frozen
class FieldPlan:
    """One field of a model, with the contract's constraints on it."""

    name: str
    type: TypePlan
    required: bool
    metadata: Mapping[str, Any]


def plan_type(hint: Any) -> TypePlan:
    """The plan of one resolved annotation."""
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        one_of = next((m for m in hint.__metadata__ if isinstance(m, OneOf)), None)
        if one_of is None:
            return plan_type(hint.__origin__)
        members = [arg for arg in typing.get_args(hint.__origin__) if arg is not type(None)]
        nullable = len(members) < len(typing.get_args(hint.__origin__))
        variants = tuple(plan_type(member) for member in members)
        return TypePlan(Kind.UNION, nullable, variants=variants, one_of=one_of)
    if origin in (Union, types.UnionType):
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        nullable = len(args) < len(typing.get_args(hint))
        enums = [arg for arg in args if isinstance(arg, type) and issubclass(arg, enum.Enum)]
        if enums and len(args) == 2 and str in args:
            return TypePlan(Kind.ENUM, nullable, enum=enums[0])
        if len(args) != 1:
            raise TypeError(f"unsupported union {hint!r}")
        return attrs.evolve(plan_type(args[0]), nullable=nullable)
    if origin is list:
        (item,) = typing.get_args(hint)
        return TypePlan(Kind.LIST, item=plan_type(item))
    if origin is dict:
        return TypePlan(Kind.DICT)
    if isinstance(hint, type) and issubclass(hint, Model):
        return TypePlan(Kind.MODEL, model=hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return TypePlan(Kind.ENUM, enum=hint)
    if hint in _SCALARS:
        return TypePlan(_SCALARS[hint])
    raise TypeError(f"unsupported annotation {hint!r}")


_plans: dict[type[Model], tuple[FieldPlan, ...]] = {}


def plan_model(cls: type[Model]) -> tuple[FieldPlan, ...]:
    """The plans of every declared field of `cls`, `extra` left out (computed once)."""
    plans = _plans.get(cls)
    if plans is None:
        plans = _plans[cls] = _plan_fields(cls)
    return plans


def _plan_fields(cls: type[Model]) -> tuple[FieldPlan, ...]:
    hints = typing.get_type_hints(cls, include_extras=True)
    return tuple(
        FieldPlan(
            name=field.name,
            type=plan_type(hints[field.name]),
            required=field.default is attrs.NOTHING,
            metadata=field.metadata,
        )
        for field in attrs.fields(cls)
        if field.name != "extra"
    )


def is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Model) and tp is not Model
