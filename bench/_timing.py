"""Side-by-side timing: rounds alternate between the contenders, ratios are taken per round."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def interleaved_samples(
    contenders: dict[str, Callable[[], object]], *, rounds: int = 30, number: int = 200
) -> dict[str, list[float]]:
    """Seconds per call of each contender, one sample per round, rounds alternating.

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
    return samples


def interleaved(
    contenders: dict[str, Callable[[], object]], *, rounds: int = 30, number: int = 200
) -> dict[str, float]:
    """Median seconds per call of each contender, measured in alternating rounds."""
    samples = interleaved_samples(contenders, rounds=rounds, number=number)
    return {name: statistics.median(values) for name, values in samples.items()}


def round_ratios(ours: Sequence[float], theirs: Sequence[float]) -> list[float]:
    """Each round's ratio, sorted: both sides of a round shared the machine's mood."""
    return sorted(a / b for a, b in zip(ours, theirs, strict=True))


def ratio_text(ours: Sequence[float], theirs: Sequence[float]) -> str:
    """The median of the per-round ratios, and their spread (lowest to highest)."""
    ratios = round_ratios(ours, theirs)
    return f"{statistics.median(ratios):.2f}x (rounds {ratios[0]:.2f} to {ratios[-1]:.2f})"
