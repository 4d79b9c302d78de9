"""Import time of plaid_link_async against that of its four dependencies.

    python bench/imports.py [--rounds 21]

Each import runs in a fresh interpreter; the cases alternate within each round, and
each figure is the median of the per-round ratios to the dependencies, with their
spread. "without speedups" hides orjson from the interpreter. Bytecode is written
and used, as after `pip install` (which compiles it): with PYTHONDONTWRITEBYTECODE
set, an editable checkout compiles every module of its own on every import, about
60 ms here, while the dependencies load theirs from bytecode.
Floor (issue 27): `import plaid_link_async, plaid_link_async.models` no slower than
before it (0.36 s there against 0.22 s for the four dependencies: 1.64x).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import ratio_text

SNIPPET = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
NO_ORJSON = "import sys; sys.modules['orjson'] = None; "
CASES = {
    "dependencies": "import aiohttp, attrs, cattrs, tenacity",
    "plaid_link_async": "import plaid_link_async",
    "plaid_link_async without speedups": NO_ORJSON + "import plaid_link_async",
    "plaid_link_async + models": "import plaid_link_async, plaid_link_async.models",
    "a first call's modules": (
        "import plaid_link_async; from plaid_link_async._calls._routes import routes; "
        "routes('http://x')"
    ),
}


ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def measure(rounds: int) -> dict[str, list[float]]:
    # Once, to write the bytecode of every module the cases import.
    warm = "import plaid_link_async, plaid_link_async.models, plaid_link_async._webhooks._verifier"
    subprocess.run([sys.executable, "-c", warm], check=True, env=ENV)
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(rounds):
        for name, stmt in CASES.items():
            prefix = NO_ORJSON if stmt.startswith(NO_ORJSON) else ""
            code = prefix + SNIPPET.format(stmt=stmt.removeprefix(prefix))
            out = subprocess.run(
                [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=ENV
            )
            samples[name].append(float(out.stdout))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    samples = measure(args.rounds)
    base = samples["dependencies"]
    print(f"import {CASES['dependencies'][7:]}: {statistics.median(base) * 1e3:.1f} ms")
    print(f"({args.rounds} rounds; ratios are medians of per-round ratios)")
    for name in list(CASES)[1:]:
        median = statistics.median(samples[name]) * 1e3
        print(f"import {name}: {median:.1f} ms = {ratio_text(samples[name], base)}")
    print("floor: import plaid_link_async + models <= 1.64x (as before issue 27)")


if __name__ == "__main__":
    main()
