"""The one cattrs converter between models and JSON-ready dicts, and its faces.

Each model class gets a structure function (`_structuring`) and an unstructure
function (`_unstructuring`), compiled once from its field plans the first time the
class is used, and registered with the converter (`_cattrs`). When the strict,
compiled structuring fails, the slow `diagnose` walk (`_diagnosis`) runs once to
name the bad field, so only broken bodies pay for the detail.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ._cattrs import converter
from ._diagnosis import diagnose, json_type, snippet
from ._exceptions import UnexpectedResponseError
from ._model_base import Model
from ._structuring import _FAST_ERRORS, _structure_hooks, try_from_dict, try_from_plain
from ._unstructuring import to_dict

__all__ = [
    "converter",
    "diagnose",
    "from_dict",
    "json_type",
    "snippet",
    "to_dict",
    "try_from_dict",
    "try_from_plain",
]

_M = TypeVar("_M", bound=Model)


def from_dict(cls: type[_M], data: Any) -> _M:
    """Build a `cls` from JSON-decoded `data`.

    Raises:
        UnexpectedResponseError: `data` is not of the shape the contract gives `cls`; its
            `path` names the first offending field.
    """
    hook = _structure_hooks.get(cls)
    if hook is None:
        hook = _structure_hooks[cls] = converter.get_structure_hook(cls)
    try:
        result: _M = hook(data, cls)
    except _FAST_ERRORS as exc:
        # The walk accepts the data if it finds nothing, so the fast path tripped on
        # something else: say what, as text.
        failure = diagnose(cls, data) or UnexpectedResponseError(
            f"could not parse: {type(exc).__name__}: {snippet(str(exc), 200)}",
            model=cls.__name__,
        )
    else:
        return result
    # Raised outside `except`: the exception behind it may quote the body, and a chain
    # is where loggers and error trackers look.
    try:
        raise failure
    finally:
        # Else this frame holds the error, whose traceback holds this frame: a cycle
        # keeping `data`, the whole parsed body, alive until the garbage collector runs.
        del failure, data
