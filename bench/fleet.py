"""Four processes against one Plaid limit: with the shared limit and without it.

    python bench/fleet.py [--rounds 3] [--limit 50] [--rows 300] [--latency-ms 50]

The fake Plaid server runs in its own process on loopback with a per-client limit L
on `link_token_create` (`--rate-limit`) and a realistic latency; a redis-server runs on
a free loopback port. Each round runs, side by side:

- shared: four `plaid-link batch create` processes of `--rows` rows each, all with
  `--max-per-second` 0.95 L and `--redis` (one limit for the fleet);
- alone: the same four processes without Redis, each pacing itself at 0.95 L, as four
  independent jobs would.

Printed for each: the achieved rate over L (all rows created, divided by the wall time
and L), the share of creates answered 429, and the rows that failed. Goals (issue 17):
shared at least 0.9 L with at most 1% of calls answered 429. Campaign workers, the
feeder and Redis memory per row come with the campaign commands.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-0123456789abcdef"
CLIENT = "bench-client"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    return process, f"redis://127.0.0.1:{port}/0"


def start_fake(limit: int, latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable, "-m", "plaid_link_async.testing", "--client-id", CLIENT,
            "--secret", SECRET, "--latency-ms", str(latency_ms),
            "--rate-limit", f"link_token_create={limit}",
        ],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def control(url: str, method: str, action: str) -> object:
    data = b"{}" if method == "POST" else None
    request = urllib.request.Request(f"{url}/_fake/{action}", data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def run(url: str, redis_url: str | None, rate: float, rows: int, folder: Path) -> tuple[float, int]:
    """Four batch processes at once; (wall seconds, rows failed)."""
    env = {**os.environ, "PLAID_CLIENT_ID": CLIENT, "PLAID_SECRET": SECRET}
    env.pop("PLAID_LINK_REDIS_URL", None)
    processes = []
    started = time.perf_counter()
    for part in range(4):
        users = folder / f"users-{part}.csv"
        users.write_text("user_id\n" + "".join(f"u{part}-{n}\n" for n in range(rows)))
        output = folder / f"tokens-{part}-{time.time_ns()}.jsonl"
        command = [
            sys.executable, "-m", "plaid_link_async", "batch", "create", "--input", str(users),
            "--output", str(output), "--client-name", "Bench", "--base-url", url,
            "--concurrency", "50", "--max-per-second", f"{rate:g}", "--no-progress",
        ]  # fmt: skip
        if redis_url is not None:
            command += ["--redis", redis_url]
        processes.append((subprocess.Popen(command, env=env, stderr=subprocess.PIPE), output))
    failed = 0
    for process, output in processes:
        process.wait()
        lines = [json.loads(line) for line in output.read_text().splitlines()]
        failed += sum(1 for line in lines if "error" in line) + rows - len(lines)
    return time.perf_counter() - started, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=50, help="Plaid's limit L, per second")
    parser.add_argument("--rows", type=int, default=300, help="rows per process")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    redis, redis_url = start_redis(folder)
    fake, url = start_fake(args.limit, args.latency_ms)
    rate = 0.95 * args.limit
    figures: dict[str, list[tuple[float, float, int]]] = {"shared": [], "alone": []}
    try:
        for _ in range(args.rounds):
            for name, redis_for in (("shared", redis_url), ("alone", None)):
                control(url, "POST", "reset")
                seconds, failed = run(url, redis_for, rate, args.rows, folder)
                counts = control(url, "GET", "rate_limited")
                assert isinstance(counts, dict)
                limited = counts.get("link_token_create", 0)
                requests = 4 * args.rows + limited  # each 429 is one more request
                achieved = (4 * args.rows - failed) / seconds / args.limit
                figures[name].append((achieved, limited / requests, failed))
    finally:
        fake.terminate()
        redis.terminate()
        fake.wait()
        redis.wait()
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"4 processes x {args.rows} rows, Plaid's limit L = {args.limit}/s, each asked for "
        f"{rate:g}/s, {args.latency_ms:g} ms latency, {args.rounds} rounds"
    )
    for name, rounds in figures.items():
        achieved = [r[0] for r in rounds]
        shares = [r[1] for r in rounds]
        print(
            f"  {name:6} achieved {statistics.median(achieved):.2f} L "
            f"(rounds {min(achieved):.2f}-{max(achieved):.2f}); 429s "
            f"{statistics.median(shares):.1%} of creates ({min(shares):.1%}-{max(shares):.1%}); "
            f"rows failed {sum(r[2] for r in rounds)}"
        )
    print("goal (shared): at least 0.90 L, at most 1% answered 429")


if __name__ == "__main__":
    main()
