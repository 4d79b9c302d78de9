"""Import time of plaid_link_async against that of its four dependencies.

    python bench/imports.py

Each import runs in a fresh interpreter; the two are alternated and medians compared.
Goal: `import plaid_link_async` at most 1.15x `import aiohttp, attrs, cattrs, tenacity`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

SNIPPET = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
CASES = {
    "dependencies": "import aiohttp, attrs, cattrs, tenacity",
    "plaid_link_async": "import plaid_link_async",
    "plaid_link_async + models": "import plaid_link_async, plaid_link_async.models",
}


def measure(rounds: int = 21) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(rounds):
        for name, stmt in CASES.items():
            out = subprocess.run(
                [sys.executable, "-c", SNIPPET.format(stmt=stmt)],
                check=True,
                capture_output=True,
                text=True,
            )
            samples[name].append(float(out.stdout))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    times = measure()
    base = times["dependencies"]
    print(f"import {CASES['dependencies'][7:]}: {base * 1e3:.1f} ms (median of 21)")
    for name in ("plaid_link_async", "plaid_link_async + models"):
        ratio = times[name] / base
        print(f"import {name}: {times[name] * 1e3:.1f} ms = {ratio:.2f}x the dependencies")
    print("goal: import plaid_link_async <= 1.15x")


if __name__ == "__main__":
    main()
