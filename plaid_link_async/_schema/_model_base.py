"""What every generated model shares: the `extra` mapping and a masked repr."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final, cast

import attrs

from .._wire._masks import is_sensitive, mask_value, preview


class ExtraFields(Mapping[str, Any]):
    """Read-only mapping of the JSON keys a model does not declare, kept as Plaid sent them."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(data) if data else {}

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ExtraFields):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable contents, like dict

    def __reduce__(self) -> tuple[type[ExtraFields], tuple[dict[str, Any]]]:
        return (ExtraFields, (self._data,))

    def __repr__(self) -> str:
        return f"ExtraFields({preview(self._data)!r})"


def _freeze_extra(value: Mapping[str, Any] | None) -> ExtraFields:
    if type(value) is ExtraFields:
        return value
    return ExtraFields(value) if value else NO_EXTRA


@attrs.define(frozen=True, kw_only=True, repr=False)
class Model:
    """Base of every generated model.

    `extra` holds the JSON keys the model does not declare: Plaid adds response fields
    every month, and a request may carry a parameter newer than the models.
    """

    extra: Mapping[str, Any] = attrs.field(
        default=ExtraFields(), converter=_freeze_extra, hash=False
    )
    """The JSON keys the model does not declare, and what was received for a field
    that drifted (read as None); read-only; empty when there are none."""

    def __repr__(self) -> str:
        cls = type(self)
        parts = []
        extra = ""
        for field in attrs.fields(cls):
            value = getattr(self, field.name)
            if value is None and field.default is None:
                continue  # unset optional fields would drown the ones that are set
            if field.name == "extra":
                if not value:
                    continue
                extra = f"extra={preview(dict(value), cls.__name__)!r}"
                continue
            if is_sensitive(cls.__name__, field.name):
                value = mask_value(field.name, value)
            elif not isinstance(value, Model):
                # Declared `Any` and list fields can hold data as deep as the extras.
                value = preview(value, field.name)
            parts.append(f"{field.name}={value!r}")
        if extra:
            parts.append(extra)  # after the declared fields, which matter more
        return f"{cls.__name__}({', '.join(parts)})"


#: The one empty `ExtraFields`, shared by every model without unknown keys.
NO_EXTRA: Final = cast("ExtraFields", attrs.fields(Model).extra.default)


@attrs.frozen(eq=False)
class OneOf:
    """How the converter tells the members of a contract union (`oneOf`/`anyOf`) apart.

    With a `tag`, by the value of that property, through `mapping` (value to member
    class); a value it does not map, or none, is kept as the plain dict (and is drift).
    Without one, by trying each member in turn. Carried in the union's `Annotated`
    alias in `models`; compared by identity, so that the alias stays hashable.
    """

    tag: str | None = None
    mapping: Mapping[str, type[Any]] = attrs.field(factory=dict)
