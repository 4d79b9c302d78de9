"""Taking the session's own credentials out of whatever a server sent back.

Some proxies and error pages echo the request headers. The library knows its own
secret, so it removes that exact value from every error it raises (and so from the log
lines and CLI output made from them), whatever shape the echo arrived in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .._schema._model_base import Model
from .._wire._masks import MASK
from .._wire._nesting import MAX_NESTING

# Plaid's secrets are 30 characters and its client ids 24. A value much shorter is no
# Plaid credential (a test's "s2", a stray PLAID_SECRET=e), and replacing it in text
# would mangle ordinary words ("***xpiration"), so it is left alone.
_MIN_SCRUBBED: Final = 12
# The models' own nesting (under 10 levels) plus the deepest free-form value they keep.
_MAX_DEPTH: Final = MAX_NESTING + 16


class Scrubber:
    """Replaces the session's secret (and its client id) with `***` in text and data."""

    __slots__ = ("_values",)

    def __init__(self, secret: str, client_id: str = "") -> None:
        values = {value for value in (secret, client_id) if len(value) >= _MIN_SCRUBBED}
        # Longest first: one value may contain the other.
        self._values: tuple[str, ...] = tuple(sorted(values, key=len, reverse=True))

    def __repr__(self) -> str:
        return "<Scrubber>"

    def text(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def data(self, data: Any, depth: int = 0) -> Any:
        """A copy of JSON-like `data` with every string (keys too) scrubbed.

        What a model holds nests at most a few levels plus `MAX_NESTING`; anything deeper
        (no model holds it) is masked whole rather than walked.
        """
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, (Mapping, list, tuple)) and depth > _MAX_DEPTH:
            return MASK
        if isinstance(data, Mapping):
            return {self.text(str(key)): self.data(value, depth + 1) for key, value in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.data(item, depth + 1) for item in data]
        return data

    def error(self, error: BaseException) -> None:
        """Scrub `error` in place: its args and every text or model attribute."""
        error.args = tuple(self.data(arg) for arg in error.args)
        for name, value in list(vars(error).items()):
            if isinstance(value, str):
                setattr(error, name, self.text(value))
            elif isinstance(value, Model):
                setattr(error, name, self._model(value))

    def _model(self, model: Model) -> Model:
        from .._schema._converter import to_dict
        from .._schema._tolerant_reader import read_tolerantly

        # Tolerantly: a scrubbed value that no longer fits its field reads None.
        scrubbed, _ = read_tolerantly(type(model), self.data(to_dict(model)), lenient_top=True)
        return scrubbed
