"""Where each operation goes and the models it sends and reads: a `Route` per
operation of the generated table, under a session's base URL."""

from __future__ import annotations

from typing import NamedTuple

from .._schema._model_base import Model
from .._schema._operations import ENDPOINTS


class Route(NamedTuple):
    """Where an operation goes and the models it sends and reads."""

    name: str
    url: str
    request: type[Model]
    response: type[Model]


def routes(base_url: str) -> dict[str, Route]:
    """Every operation's route under `base_url`."""
    # Imported here, at the session's making, not per call: loading the models takes
    # tens of milliseconds, which is fine at startup and not inside a request.
    from .. import models

    return {
        name: Route(
            name,
            base_url + endpoint.path,
            getattr(models, endpoint.request),
            getattr(models, endpoint.response),
        )
        for name, endpoint in ENDPOINTS.items()
    }
