"""JSON to models: a structure function compiled per model class from its field plans.

The compiled code checks types strictly (no `3` quietly becoming `"3"`) and does
nothing else; nested models are inlined into their parent's function. When anything
in it fails, the caller gets None (or, through `from_dict`, the slow `diagnose` walk
names the bad field), so only broken bodies pay for the detail.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, Final, TypeVar

import attrs

from . import _datetimes
from ._cattrs import converter
from ._codegen import compile_function
from ._model_base import NO_EXTRA, ExtraFields, Model
from ._nesting import MAX_NESTING, nesting_within, plain_within
from ._types import Kind, TypePlan, is_model, plan_model

_M = TypeVar("_M", bound=Model)


# Kinds whose check is only "is it of one of these classes" (a float field takes ints too,
# and converts them, so Kind.FLOAT is not here).
_SCALAR_CLASSES: Final = {
    Kind.STR: (str,),
    Kind.BOOL: (bool,),
    Kind.INT: (int,),
    Kind.DICT: (dict,),
}


_NULLABLE_CLASSES: Final = {
    kind: frozenset({type(None), *classes}) for kind, classes in _SCALAR_CLASSES.items()
}


#: Kinds whose own check refuses None (its class is none of theirs, or the parse of a
#: date or a model or union member fails on it): a required field of these kinds needs
#: no separate test for null.
_REFUSING_NONE: Final = frozenset(
    {Kind.STR, Kind.BOOL, Kind.INT, Kind.FLOAT, Kind.DICT, Kind.LIST, Kind.ENUM, Kind.MODEL}
)


#: How deep models are inlined into one structure function (see `_StructureWriter`).
#: Six takes in the deepest answer, `link_token_get`'s (its accounts are five down):
#: 4.5% less structuring than four, for 7 ms more compiling, once, on its first parse.
_INLINE_DEPTH: Final = 6

#: Items of a list whose check is written into the loop over it, not called per item.
_INLINE_ITEMS: Final = frozenset(
    {Kind.STR, Kind.BOOL, Kind.INT, Kind.FLOAT, Kind.ENUM, Kind.DATETIME, Kind.DATE}
)
_FROMISOFORMAT: Final = datetime.datetime.fromisoformat


class _Invalid(Exception):
    """Raised inside compiled code; only ever a signal to run the diagnosis."""


# -- structuring (JSON -> models) ------------------------------------------------------


class _StructureWriter:
    """Writes the body of one class's structure function."""

    def __init__(self, cls: type[Model], *, plain: bool = False) -> None:
        self.cls = cls
        # For data read by orjson unchecked: free-form values must hold no float.
        self.plain = plain
        self.within = plain_within if plain else nesting_within
        self.ns: dict[str, Any] = {"_Invalid": _Invalid, "ExtraFields": ExtraFields}
        self.lines: list[str] = []
        # The models being written, outermost first: a model is inlined into its
        # parent's function unless it is already in this chain (a recursive schema)
        # or the chain is `_INLINE_DEPTH` deep; a call per nested object costs more
        # than the rest of its structuring.
        self.chain: list[type[Model]] = [cls]
        self.unique = 0

    def name(self, prefix: str, value: Any) -> str:
        """The name under which the compiled code sees `value` (one per distinct value)."""
        for key, existing in self.ns.items():
            if existing is value or (type(existing) is frozenset and existing == value):
                return key
        key = f"_{prefix}{len(self.ns)}"
        self.ns[key] = value
        return key

    def check(self, var: str, plan: TypePlan, indent: str) -> None:
        """Emit code that checks `var` against `plan` and rebinds it to the parsed value."""
        lines = self.lines
        kind = plan.kind
        if plan.nullable and kind in _SCALAR_CLASSES:
            # One set lookup checks "None or the right class" for the common case.
            ok = self.name("ok", _NULLABLE_CLASSES[kind])
            lines.append(f"{indent}if {var}.__class__ not in {ok}: raise _Invalid")
            return
        if plan.nullable and kind != Kind.ANY:
            lines.append(f"{indent}if {var} is not None:")
            indent += "    "
        if kind == Kind.STR:
            lines.append(f"{indent}if {var}.__class__ is not str: raise _Invalid")
        elif kind == Kind.BOOL:
            lines.append(f"{indent}if {var}.__class__ is not bool: raise _Invalid")
        elif kind == Kind.INT:
            lines.append(f"{indent}if {var}.__class__ is not int: raise _Invalid")
        elif kind == Kind.FLOAT:
            lines.append(f"{indent}if {var}.__class__ is not float:")
            lines.append(f"{indent}    if {var}.__class__ is not int: raise _Invalid")
            lines.append(f"{indent}    {var} = float({var})")
        elif kind == Kind.DATETIME:
            # `parse_datetime` written out for what nearly every value is (one that
            # `fromisoformat` reads), a call less per value; it parses the rest.
            fromiso = self.name("fromiso", _FROMISOFORMAT)
            fn = self.name("dt", _datetimes.parse_datetime)
            utc = self.name("utc", _datetimes.UTC)
            lines += [
                f"{indent}if {var}.__class__ is not str: raise _Invalid",
                f"{indent}try:",
                f"{indent}    {var} = {fromiso}({var})",
                f"{indent}except ValueError:",
                f"{indent}    {var} = {fn}({var})",
                f"{indent}else:",
                f"{indent}    if {var}.tzinfo is None: {var} = {var}.replace(tzinfo={utc})",
            ]
        elif kind == Kind.DATE:
            fn = self.name("d", _datetimes.parse_date)
            lines.append(f"{indent}{var} = {fn}({var})")
        elif kind == Kind.DICT:
            lines.append(f"{indent}if {var}.__class__ is not dict: raise _Invalid")
            self.bounded(var, MAX_NESTING, indent)
        elif kind == Kind.ANY:
            self.bounded(var, MAX_NESTING, indent)
        elif kind == Kind.ENUM:
            assert plan.enum is not None
            lookup = self.name("enum", plan.enum._value2member_map_.get)
            # A value newer than the models stays a plain string.
            lines.append(f"{indent}if {var}.__class__ is not str: raise _Invalid")
            lines.append(f"{indent}{var} = {lookup}({var}, {var})")
        elif kind == Kind.MODEL:
            assert plan.model is not None
            if self.inlines(plan.model):
                self.body(plan.model, var, var, indent)
            else:
                hook = self.name("model", _hook(plan.model, self.plain))
                lines.append(f"{indent}{var} = {hook}({var}, None)")
        elif kind == Kind.UNION:
            fn = self.name("union", _union_structurer(plan, self.plain))
            lines.append(f"{indent}{var} = {fn}({var})")
        elif kind == Kind.LIST:
            assert plan.item is not None
            lines.append(f"{indent}if {var}.__class__ is not list: raise _Invalid")
            item = plan.item
            if item.kind in (Kind.STR, Kind.BOOL, Kind.INT, Kind.DICT) and not item.nullable:
                py = {Kind.STR: "str", Kind.BOOL: "bool", Kind.INT: "int", Kind.DICT: "dict"}[
                    item.kind
                ]
                lines.append(f"{indent}for _i in {var}:")
                lines.append(f"{indent}    if _i.__class__ is not {py}: raise _Invalid")
            elif item.kind == Kind.MODEL and not item.nullable:
                assert item.model is not None
                if self.inlines(item.model):
                    self.unique += 1
                    each, made = f"_i{self.unique}", f"_l{self.unique}"
                    lines.append(f"{indent}{made} = []")
                    lines.append(f"{indent}for {each} in {var}:")
                    self.body(item.model, each, each, indent + "    ")
                    lines.append(f"{indent}    {made}.append({each})")
                    lines.append(f"{indent}{var} = {made}")
                else:
                    hook = self.name("model", _hook(item.model, self.plain))
                    lines.append(f"{indent}{var} = [{hook}(_i, None) for _i in {var}]")
            elif item.kind in _INLINE_ITEMS:
                # A loop here, not a function called per item (a frame each).
                self.unique += 1
                each, made = f"_i{self.unique}", f"_l{self.unique}"
                lines.append(f"{indent}{made} = []")
                lines.append(f"{indent}for {each} in {var}:")
                self.check(each, item, indent + "    ")
                lines.append(f"{indent}    {made}.append({each})")
                lines.append(f"{indent}{var} = {made}")
            elif item.kind != Kind.ANY:
                fn = self.name("list", _item_structurer(item, self.plain))
                lines.append(f"{indent}{var} = [{fn}(_i) for _i in {var}]")
            if item.kind in (Kind.ANY, Kind.DICT):
                self.bounded(var, MAX_NESTING + 1, indent)

    def bounded(self, var: str, limit: int, indent: str) -> None:
        """Emit code refusing a free-form value nested deeper than `limit` (see _nesting)."""
        within = self.name("within", self.within)
        self.lines.append(f"{indent}if not {within}({var}, {limit}): raise _Invalid")

    def inlines(self, model: type[Model]) -> bool:
        return model not in self.chain and len(self.chain) < _INLINE_DEPTH

    def body(self, cls: type[Model], source: str, target: str, indent: str) -> None:
        """Emit code reading the dict in `source` into a new `cls` bound to `target`."""
        self.chain.append(cls)
        self.unique += 1
        n = self.unique
        lines = self.lines
        plans = plan_model(cls)
        known = self.name("known", frozenset(p.name for p in plans))
        # Instances are built as attrs' own __init__ would, slot by slot, minus its
        # per-call overhead (keyword parsing, the `extra` converter): a third faster.
        # Where it can, in `cls`'s mutable twin, whose slots take plain stores.
        twin = _twin(cls)
        building = cls if twin is None else twin
        obj, get = f"_o{n}", f"_g{n}"
        lines += [
            f"{indent}if {source}.__class__ is not dict: raise _Invalid",
            f"{indent}{obj} = _new({self.name('cls', building)})",
        ]
        # The keys read: every required one, and each optional one present with a
        # value. When the dict holds no more, it holds nothing unknown, and the set
        # test below (a lookup per key, a tenth of the structuring) is skipped.
        count, required = f"_c{n}", sum(plan.required for plan in plans)
        optional = len(plans) > required
        if optional:
            lines.append(f"{indent}{get} = {source}.get")
            lines.append(f"{indent}{count} = {required}")
        for plan in plans:
            var = f"_f{n}_{plan.name}"
            if plan.required:
                lines.append(f"{indent}{var} = {source}[{plan.name!r}]")
                if not plan.type.nullable and plan.type.kind not in _REFUSING_NONE:
                    # A null where the contract promises a value: see docs/models.md.
                    lines.append(f"{indent}if {var} is None: raise _Invalid")
                self.check(var, plan.type, indent)
                lines.append(f"{indent}{self.store(building, obj, plan.name, var)}")
            else:
                # An optional field absent or null is None, as attrs' __init__ sets it.
                lines.append(f"{indent}{var} = {get}({plan.name!r})")
                lines.append(f"{indent}if {var} is not None:")
                self.check(var, attrs.evolve(plan.type, nullable=False), indent + "    ")
                lines.append(f"{indent}    {count} += 1")
                lines.append(f"{indent}{self.store(building, obj, plan.name, var)}")
        within = self.name("within", self.within)
        lines += [
            f"{indent}if len({source}) == {count if optional else required} "
            f"or {known}.issuperset({source}):",
            f"{indent}    {self.store(building, obj, 'extra', '_NO_EXTRA')}",
            f"{indent}else:",
            f"{indent}    _e = {{k: v for k, v in {source}.items() if k not in {known}}}",
            f"{indent}    if not {within}(_e, {MAX_NESTING + 1}): raise _Invalid",
            f"{indent}    {self.store(building, obj, 'extra', 'ExtraFields(_e)')}",
        ]
        if twin is not None:
            lines.append(f"{indent}{obj}.__class__ = {self.name('cls', cls)}")
        lines.append(f"{indent}{target} = {obj}")
        self.chain.pop()

    def store(self, building: type[Any], obj: str, name: str, value: str) -> str:
        """The statement storing `value` in slot `name` of `obj`, an instance of `building`:
        a plain store into a twin (the generator makes every field name an identifier,
        and no keyword), else a call of the slot's descriptor."""
        if building.__dict__.get("__setattr__") is object.__setattr__:
            return f"{obj}.{name} = {value}"
        return f"{self.name('set', _slot_setter(building, name))}({obj}, {value})"

    def write(self) -> Callable[[Any, Any], Model]:
        self.ns["_new"] = object.__new__
        self.ns["_NO_EXTRA"] = NO_EXTRA
        self.chain = []
        self.lines = ["def structure(d, _):"]
        self.body(self.cls, "d", "o", "    ")
        self.lines.append("    return o")
        fn = compile_function("structure", "\n".join(self.lines) + "\n", self.ns)
        fn.__name__ = fn.__qualname__ = f"structure_{self.cls.__name__}"
        return fn


def _slot_setter(cls: type[Any], name: str) -> Callable[[Any, Any], None]:
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None and hasattr(descriptor, "__set__"):
            setter: Callable[[Any, Any], None] = descriptor.__set__
            return setter
    raise TypeError(f"{cls.__name__}.{name} is not a slot")


_twins: dict[type[Model], type[Any] | None] = {}


def _twin(cls: type[Model]) -> type[Any] | None:
    """A class with `cls`'s exact layout, but mutable: an instance is built in it with
    plain attribute stores, then given `cls` as its class.

    attrs' frozen classes refuse `obj.name = value` in a Python `__setattr__`, so the
    structuring wrote each slot through its descriptor; a store into a class whose
    `__setattr__` and `__delattr__` are object's own is specialised by the interpreter,
    and costs about a third of that. None where the interpreter does not allow the
    switch of class (then the descriptors are used, as before).
    """
    if cls in _twins:
        return _twins[cls]
    made = type(
        cls.__name__,
        cls.__bases__,
        {
            "__slots__": cls.__dict__.get("__slots__", ()),
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
            "__module__": __name__,
            "__qualname__": f"_twin.<{cls.__qualname__}>",
        },
    )
    twin: type[Any] | None = made
    try:
        trial: Any = object.__new__(made)
        trial.__class__ = cls
    except TypeError:  # pragma: no cover - CPython allows it for these layouts
        twin = None
    _twins[cls] = twin
    return twin


def _item_structurer(item: TypePlan, plain: bool = False) -> Callable[[Any], Any]:
    writer = _StructureWriter(Model, plain=plain)
    writer.lines = ["def structure(v):"]
    writer.check("v", item, "    ")
    writer.lines.append("    return v")
    return compile_function("structure", "\n".join(writer.lines) + "\n", writer.ns)


def _union_structurer(plan: TypePlan, plain: bool = False) -> Callable[[Any], Any]:
    """The fast path of a union: the member its tag names, or the first member that
    fits. Anything else (an unknown tag, none, no member fitting) is left to the
    tolerant read, which keeps it as the plain dict and says so, or to strict's error."""
    one_of = plan.one_of
    assert one_of is not None
    tag = one_of.tag
    if tag is not None:
        hooks: dict[Any, Callable[[Any, Any], Any]] = {}

        def structure_tagged(value: Any) -> Any:
            if value.__class__ is not dict:
                raise _Invalid
            name = value.get(tag)
            hook = hooks.get(name)
            if hook is None:
                cls = one_of.mapping.get(name) if name.__class__ is str else None
                if cls is None:
                    raise _Invalid
                # Looked up on first use: a member may hold this union again.
                hook = hooks[name] = _hook(cls, plain)
            return hook(value, None)

        return structure_tagged
    tries: list[Callable[[Any], Any]] = []

    def structure_first(value: Any) -> Any:
        if not tries:
            tries.extend(
                _item_structurer(variant, plain)
                for variant in plan.variants
                if variant.kind != Kind.DICT
            )
        for attempt in tries:
            try:
                return attempt(value)
            except _FAST_ERRORS:
                continue
        raise _Invalid

    return structure_first


converter.register_structure_hook_factory(is_model, lambda cls: _StructureWriter(cls).write())


# from_dict runs per response: a dict lookup is cheaper than the converter's dispatch.
_structure_hooks: dict[type[Any], Callable[[Any, Any], Any]] = {}


#: What the compiled structure functions raise when anything in the data is off.
_FAST_ERRORS: Final = (_Invalid, KeyError, TypeError, ValueError, OverflowError, AttributeError)


def try_from_dict(cls: type[_M], data: Any) -> _M | None:
    """`cls` from `data` by the compiled fast path, or None if anything does not fit."""
    hook = _structure_hooks.get(cls)
    if hook is None:
        hook = _structure_hooks[cls] = converter.get_structure_hook(cls)
    try:
        result: _M = hook(data, cls)
    except _FAST_ERRORS:
        return None
    return result


def try_from_plain(cls: type[_M], data: Any) -> _M | None:
    """`try_from_dict` for data orjson read unchecked (see `_json.loads_unchecked`):
    also None where a free-form value holds a float, which may have been an integer
    past 64 bits. Typed fields need no such care: an integer field refuses a float,
    and a float field holds the same value either way."""
    hook = _plain_hooks.get(cls) or _hook(cls, plain=True)
    try:
        result: _M = hook(data, cls)
    except _FAST_ERRORS:
        return None
    return result


def _hook(cls: type[Any], plain: bool) -> Callable[[Any, Any], Any]:
    if not plain:
        return converter.get_structure_hook(cls)
    hook = _plain_hooks.get(cls)
    if hook is None:
        hook = _plain_hooks[cls] = _StructureWriter(cls, plain=True).write()
    return hook


_plain_hooks: dict[type[Any], Callable[[Any, Any], Any]] = {}
