"""A request model to the bytes sent: checked against its operation, then JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._errors._exceptions import FieldError, RequestValidationError
from .._schema._converter import to_dict
from .._schema._model_base import Model
from .._schema._request_rules import check, nearest
from .._schema._warn_once import warn_unknown_enum
from .._wire import _json

if TYPE_CHECKING:
    from ._routes import Route


def encode_request(route: Route, request: Model) -> bytes:
    """The body of `request` to `route`.

    Raises:
        RequestValidationError: `request` is not the operation's model, or breaks its
            rules (every offending field named), or holds a value no JSON carries.
    """
    if not isinstance(request, route.request):
        got = type(request).__name__
        raise RequestValidationError(
            route.request.__name__,
            [FieldError("", f"{route.name} takes a {route.request.__name__}, got {got}")],
        )
    found = check(request)
    if found.errors:
        raise RequestValidationError(route.request.__name__, found.errors)
    # Unknown enum strings go through: Plaid may know a product these models do not.
    for path, value, known in found.unknown:
        warn_unknown_enum(route.name, path, value, nearest(value, known))
    return _json.dumps(to_dict(request))
