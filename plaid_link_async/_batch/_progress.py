"""`ProgressBar`: a ready `progress=` callback for batches, drawn by tqdm if installed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors._exceptions import ConfigurationError

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from ._run import BatchProgress


class ProgressBar:
    """A tqdm bar for `link_token_create_many(..., progress=bar)`.

    Needs the `progress` extra (`pip install 'plaid-link-async[progress]'`). Use it as a
    context manager, or call `close()`. With `total` it shows a percentage and an ETA;
    `initial` counts work done before (a resumed batch's rows). Extra keyword arguments
    go to `tqdm`.
    """

    def __init__(self, total: int | None = None, initial: int = 0, **tqdm_options: Any) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            raise ConfigurationError(
                "ProgressBar needs tqdm: pip install 'plaid-link-async[progress]'"
            ) from None
        tqdm_options.setdefault("unit", "token")
        tqdm_options.setdefault("desc", "link tokens")
        self._initial = initial
        self._bar = tqdm(total=total, initial=initial, **tqdm_options)

    def __call__(self, progress: BatchProgress) -> None:
        self._bar.update(self._initial + progress.done - self._bar.n)
        self._bar.set_postfix(
            failed=progress.failed,
            in_flight=progress.in_flight,
            concurrency=progress.concurrency,
            refresh=False,
        )

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
