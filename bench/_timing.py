"""Side-by-side timing: rounds alternate between the contenders, ratios are taken per round."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def interleaved_samples(
    contenders: dict[str, Callable[[], object]],
    *,
    rounds: int = 30,
    number: int = 200,
    sample_seconds: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, list[float]]:
    """Seconds per call of each contender, one sample per round, rounds alternating.

    Alternating keeps a noisy, shared machine fair: a slow patch hits every contender.
    With `sample_seconds`, each contender runs as many calls a round as fill about
    that long (found in the warm-up), instead of `number`: a contender 30 times slower
    than another then does not spend 30 times longer in each round, so the samples a
    ratio pairs come from the same stretch of the machine's mood. `clock` is what is
    read: wall time, or `time.process_time` for CPU-bound work (time the process spent
    descheduled on a shared machine is then not counted).
    """
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    numbers = dict.fromkeys(contenders, number)
    for name, fn in contenders.items():
        for _ in range(10):  # warm up caches and lazily built hooks
            fn()
        if sample_seconds is not None:
            start = time.perf_counter()
            for _ in range(10):
                fn()
            each = max((time.perf_counter() - start) / 10, 1e-9)
            numbers[name] = max(1, round(sample_seconds / each))
    for _ in range(rounds):
        for name, fn in contenders.items():
            count = numbers[name]
            start = clock()
            for _ in range(count):
                fn()
            samples[name].append((clock() - start) / count)
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
