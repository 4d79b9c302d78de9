"""Side-by-side timing: rounds alternate between the contenders, medians are compared."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def interleaved(
    contenders: dict[str, Callable[[], object]], *, rounds: int = 30, number: int = 200
) -> dict[str, float]:
    """Median seconds per call of each contender, measured in alternating rounds.

    Alternating keeps a noisy, shared machine fair: a slow patch hits every contender.
    """
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for fn in contenders.values():  # warm up caches and lazily built hooks
        for _ in range(10):
            fn()
    for _ in range(rounds):
        for name, fn in contenders.items():
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    return {name: statistics.median(values) for name, values in samples.items()}
