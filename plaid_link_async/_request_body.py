"""A request model to the bytes sent: checked against its operation, then JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _json
from ._converter import to_dict
from ._exceptions import FieldError, RequestValidationError
from ._model_base import Model
from ._nesting import MAX_NESTING, nesting_within
from ._once import warn_unknown_enum
from ._sending import writer_of, writers
from ._validation import check_for_sending

if TYPE_CHECKING:
    from ._setup import Route


def encode_request(route: Route, request: Model) -> bytes:
    """The body of `request` to `route`.

    Raises:
        RequestValidationError: `request` is not the operation's model, or holds a
            value no JSON carries (naming the field where it can).
    """
    if not isinstance(request, route.request):
        got = type(request).__name__
        raise RequestValidationError(
            route.request.__name__,
            [FieldError("", f"{route.name} takes a {route.request.__name__}, got {got}")],
        )
    # Most requests are plain: checked and written in one pass. Anything else (a value
    # to refuse or warn about, a free-form one) is for the careful path to decide.
    try:
        write = writers.get(request.__class__) or writer_of(request.__class__)
        data = write(request)
    except RecursionError:  # a model nested in itself past the limit: the careful path's
        data = None
    if data is not None:
        return _json.dumps_plain(data)
    return encode_carefully(route, request)


def encode_carefully(route: Route, request: Model) -> bytes:
    """`encode_request` without the one-pass writer: check, warn, write, refuse."""
    # Unknown enum strings go through: Plaid may know a product these models do not.
    for path, value, nearest in check_for_sending(request):
        warn_unknown_enum(route.name, path, value, nearest)
    data = to_dict(request)
    try:
        return _json.dumps(data)
    except (RecursionError, ValueError, TypeError) as error:
        # A free-form value (an `extra`, a dict field, a union's dict) that no JSON
        # carries: nested past the recursion limit, or of a type json cannot write.
        where = next((str(key) for key, value in data.items() if not nesting_within(value)), "")
        problem = (
            f"nested deeper than {MAX_NESTING} levels"
            if where
            else f"cannot be written as JSON ({type(error).__name__})"
        )
        raise RequestValidationError(route.request.__name__, [FieldError(where, problem)]) from None
