"""Four processes against one Plaid limit, and a Link campaign with a worker killed.

    python bench/fleet.py [--rounds 3] [--limit 50] [--rows 300] [--latency-ms 50]
                          [--campaign-limit 100] [--campaign-rows 3000]
                          [--waiting-rows 1000000]

The fake Plaid server runs in its own process on loopback with a per-client limit L
on `link_token_create` (`--rate-limit`: at most L calls in any one-second window) and
a realistic latency; redis-server runs on free loopback ports. Needs the `fleet` extra
and Debian's redis-server.

1. The shared limit. Each round runs, side by side and in turn:
   - at 0.95 L and at L: four `plaid-link batch create` processes of `--rows` rows
     each, all with `--max-per-second` (0.95 L, then L) and `--redis` (one limit for
     the fleet);
   - alone: the same four processes without Redis, each pacing itself at 0.95 L, as
     four independent jobs would.
   Printed for each: the achieved rate over L (rows created over the seconds from the
   first call Plaid received to the last, and also over the wall time with the
   processes' start-up), the share of creates answered 429, and the rows that failed.
   Goals (issue 26): asking L, at least 0.85 L with at most 2% 429s; asking 0.95 L,
   at least 0.92 L.
2. A campaign: four `plaid-link worker` processes (their defaults: a 15 s job
   heartbeat, a sweep every 10 s) and a feeder (`campaign start --hosted-link sms
   --wait`) of `--campaign-rows` rows at 0.95 of `--campaign-limit`. A third of the way
   through, one worker is SIGKILLed. Printed: the time over rows/L (goal: at most
   rows/L + 45 s), the rate over L, the 429 share, rows lost, users texted twice (from
   the fake's sent messages, goal 0), rows exported as an unknown delivery against the
   requests the fake had received and not yet answered at the kill (goal: no more),
   and Redis memory per finished row.
3. Waiting rows: a feeder of `--waiting-rows` rows and no worker, so the queue fills
   to its bound (10,000 jobs) and the feeder waits. Printed: Redis growth in all and
   per queued job, and the feeder's peak RSS. Goals: at most 32 MB and 100 MB.
Last, the extrapolation to 1,000,000 rows: hours at the shared rate, and Redis MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-0123456789abcdef"
CLIENT = "bench-client"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_redis(
    folder: Path, port: int | None = None, *, appendonly: bool = False
) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    port = port or free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder),
         "--appendonly", "yes" if appendonly else "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis_client(url).ping()
            return process, url
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=5)


def start_fake(limit: int, latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable, "-m", "plaid_link_async.testing", "--client-id", CLIENT,
            "--secret", SECRET, "--latency-ms", str(latency_ms),
            "--rate-limit", f"link_token_create={limit}", "--max-recorded", "100000",
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


def calls_span(url: str) -> float:
    """Seconds from the first `link_token_create` the fake received to the last."""
    recorded = control(url, "GET", "requests")
    assert isinstance(recorded, list)
    times = [r["received_at"] for r in recorded if r["endpoint"] == "link_token_create"]
    return max(times) - min(times)


def run(url: str, redis_url: str | None, rate: float, rows: int, folder: Path) -> tuple[float, int]:
    """Four batch processes at once; (wall seconds, rows failed)."""
    env = cli_env()
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


def cli_env(**variables: str) -> dict[str, str]:
    """The environment of a `plaid-link` process: the bench's credentials, `variables`,
    and none of the caller's own Plaid settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAID_")}
    return {**env, "PLAID_CLIENT_ID": CLIENT, "PLAID_SECRET": SECRET, **variables}


def cli(env: dict[str, str], *args: str, **options: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "plaid_link_async", *args], env=env, **options)


def worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return cli(env, "worker", "--concurrency", "25", stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL)  # fmt: skip


def meta(url: str, name: str, field: str) -> int:
    """A campaign's count, 0 while Redis restarts."""
    try:
        value = redis_client(url).hget(f"plaid-link:campaign:{name}:meta", field)
    except Exception:
        return 0
    return int(value or 0)


def campaign(url: str, limit: int, rows: int, latency: float, folder: Path) -> dict[str, float]:
    """One Hosted Link campaign at 0.95 L through a SIGKILLed worker."""
    aof = folder / "aof"
    aof.mkdir(exist_ok=True)
    redis, redis_url = start_redis(aof, appendonly=True)
    env = cli_env(PLAID_BASE_URL=url, PLAID_LINK_REDIS_URL=redis_url)
    control(url, "POST", "reset")
    users = folder / "campaign.csv"
    users.write_text(
        "user_id,phone_number\n" + "".join(f"c{n},+1415{n:07d}\n" for n in range(rows))
    )
    workers = [worker(env) for _ in range(4)]
    time.sleep(2.0)  # the workers' start-up is not the campaign's
    started = time.perf_counter()
    feeder = cli(
        env, "campaign", "start", "bench", "--input", str(users), "--client-name", "Bench",
        "--hosted-link", "sms", "--max-per-second", f"{0.95 * limit:g}", "--wait",
        "--no-progress", stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while meta(redis_url, "bench", "done") < rows // 3:
            time.sleep(0.05)
        killed_at = time.time()
        workers[0].send_signal(signal.SIGKILL)  # deliveries in flight and rows waiting
        marks = redis_client(redis_url).hvals("plaid-link:campaign:bench:inflight")
        marked = sum(1 for mark in marks if f":{workers[0].pid}:".encode() in mark)
        feeder.wait(900)
        seconds = time.perf_counter() - started
        output = folder / "campaign.jsonl"
        cli(env, "campaign", "export", "bench", "--output", str(output),
            stderr=subprocess.DEVNULL).wait(120)  # fmt: skip
        lines = [json.loads(line) for line in output.read_text().splitlines()]
        results = redis_client(redis_url).memory_usage("plaid-link:campaign:bench:results") or 0
    finally:
        for process in workers:
            if process.poll() is None:
                process.terminate()
        for process in workers:
            process.wait()
        redis.terminate()
        redis.wait()
    messages = control(url, "GET", "messages")
    assert isinstance(messages, list)
    texts = Counter(message["client_user_id"] for message in messages)
    limited = control(url, "GET", "rate_limited")
    assert isinstance(limited, dict)
    refused = limited.get("link_token_create", 0)
    recorded = control(url, "GET", "requests")
    assert isinstance(recorded, list)
    # Received by the fake and not yet answered when the worker died.
    creates = [r["received_at"] for r in recorded if r["endpoint"] == "link_token_create"]
    on_the_wire = sum(1 for at in creates if killed_at - latency < at <= killed_at)
    unknown = sum(1 for line in lines if line.get("error", {}).get("type") == "UnknownDelivery")
    return {
        "seconds": seconds,
        "over": seconds - rows / limit,
        "achieved": len(texts) / seconds / limit,
        "refused": refused / (len(texts) + refused),
        "lost": rows - len({line["row"] for line in lines}),
        "twice": sum(1 for count in texts.values() if count > 1),
        "unknown": unknown,
        "on_the_wire": on_the_wire,
        "marked": marked,
        "failed": sum(1 for line in lines if "error" in line) - unknown,
        "row_bytes": results / rows,
    }


def waiting(rows: int, folder: Path) -> dict[str, float]:
    """`rows` rows waiting behind a full queue: Redis growth and the feeder's RSS."""
    durable = folder / "waiting"
    durable.mkdir(exist_ok=True)
    redis, redis_url = start_redis(durable, appendonly=True)
    env = cli_env(PLAID_LINK_REDIS_URL=redis_url)
    users = folder / "waiting.csv"
    with users.open("w") as out:
        out.write("user_id,phone_number\n")
        for start in range(0, rows, 100_000):
            out.write(
                "".join(f"w{n},+1415{n:07d}\n" for n in range(start, min(rows, start + 100_000)))
            )
    client = redis_client(redis_url)
    before = client.info("memory")["used_memory"]
    feeder = cli(
        env, "campaign", "start", "waiting", "--input", str(users), "--client-name", "Bench",
        "--hosted-link", "sms", "--max-per-second", "45", stderr=subprocess.DEVNULL,
    )  # fmt: skip
    peak = 0
    fed, steady_since = 0, time.monotonic()
    try:
        # The feeder counts the input's rows first (fed stays 0), then feeds until the
        # queue is full and waits.
        while fed == 0 or time.monotonic() - steady_since < 3.0:
            peak = max(peak, rss_kib(feeder.pid))
            now = meta(redis_url, "waiting", "fed")
            if now != fed:
                fed, steady_since = now, time.monotonic()
            time.sleep(0.1)
        queued = client.llen(f"saq:plaid-link-campaigns:{CLIENT}:queued")
        after = client.info("memory")["used_memory"]
        peak = max(peak, rss_kib(feeder.pid), hwm_kib(feeder.pid))
    finally:
        feeder.terminate()  # SIGTERM lets go of the campaign, as Ctrl-C does
        feeder.wait(30)
        redis.terminate()
        redis.wait()
    return {
        "queued": queued,
        "growth_mb": (after - before) / 1e6,
        "per_job": (after - before) / max(queued, 1),
        "rss_mb": peak / 1024,
    }


def rss_kib(pid: int) -> int:
    return _status_kib(pid, "VmRSS")


def hwm_kib(pid: int) -> int:
    return _status_kib(pid, "VmHWM")


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=50, help="Plaid's limit L, per second")
    parser.add_argument("--rows", type=int, default=300, help="rows per process")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--campaign-limit", type=int, default=100, help="L for the campaign")
    parser.add_argument("--campaign-rows", type=int, default=3000, help="0: no campaign")
    parser.add_argument("--waiting-rows", type=int, default=1_000_000, help="0: not measured")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    redis, redis_url = start_redis(folder)
    fake, url = start_fake(args.limit, args.latency_ms)
    contenders = {"shared 0.95 L": (redis_url, 0.95), "shared L": (redis_url, 1.0),
                  "alone 0.95 L": (None, 0.95)}  # fmt: skip
    figures: dict[str, list[tuple[float, float, int, float]]] = {name: [] for name in contenders}
    try:
        for _ in range(args.rounds):
            for name, (redis_for, share) in contenders.items():
                control(url, "POST", "reset")
                seconds, failed = run(url, redis_for, share * args.limit, args.rows, folder)
                counts = control(url, "GET", "rate_limited")
                assert isinstance(counts, dict)
                limited = counts.get("link_token_create", 0)
                requests = 4 * args.rows + limited  # each 429 is one more request
                created = 4 * args.rows - failed
                span = calls_span(url)
                achieved = created / span / args.limit  # while the calls ran
                started_too = created / seconds / args.limit  # with the processes' start-up
                figures[name].append((achieved, limited / requests, failed, started_too))
        redis.terminate()
        redis.wait()
        fake.terminate()
        fake.wait()
        run_campaign = None
        if args.campaign_rows:
            fake, url = start_fake(args.campaign_limit, args.latency_ms)
            run_campaign = campaign(
                url, args.campaign_limit, args.campaign_rows, args.latency_ms / 1000, folder
            )
        queue = waiting(args.waiting_rows, folder) if args.waiting_rows else None
    finally:
        fake.terminate()
        if redis.poll() is None:
            redis.terminate()
        fake.wait()
        redis.wait()
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"1. 4 processes x {args.rows} rows, Plaid's limit L = {args.limit}/s (any one-second "
        f"window), {args.latency_ms:g} ms latency, {args.rounds} rounds"
    )
    for name, rounds in figures.items():
        achieved = [r[0] for r in rounds]
        shares = [r[1] for r in rounds]
        with_start = statistics.median(r[3] for r in rounds)
        print(
            f"  {name:13} achieved {statistics.median(achieved):.2f} L "
            f"(rounds {min(achieved):.2f}-{max(achieved):.2f}; {with_start:.2f} L counting "
            f"the processes' start-up); 429s "
            f"{statistics.median(shares):.1%} of creates ({min(shares):.1%}-{max(shares):.1%}); "
            f"rows failed {sum(r[2] for r in rounds)}"
        )
    print("   goals: asking L, at least 0.85 L and at most 2% 429s; asking 0.95 L, 0.92 L")
    if run_campaign is not None:
        c = run_campaign
        rows_over_l = args.campaign_rows / args.campaign_limit
        print(
            f"2. campaign of {args.campaign_rows} Hosted Link rows at 0.95 L, L = "
            f"{args.campaign_limit}/s, 4 workers, one SIGKILLed a third of the way: "
            f"{c['seconds']:.0f} s, rows/L + {c['over']:.0f} s (rows/L = {rows_over_l:.0f} s); "
            f"{c['achieved']:.2f} L, 429s {c['refused']:.1%}; rows lost {c['lost']:.0f}, "
            f"users texted twice {c['twice']:.0f}, unknown deliveries {c['unknown']:.0f}: the "
            f"killed worker had {c['marked']:.0f} requests on the wire (of 25 jobs it could "
            f"hold), the fleet {c['on_the_wire']:.0f}; other failures {c['failed']:.0f}; Redis "
            f"{c['row_bytes']:.0f} B a finished row"
        )
        print("   goals: within rows/L + 45 s, 0 lost, 0 texted twice, unknown <= on the wire")
    if queue is not None:
        print(
            f"3. {args.waiting_rows:,} rows waiting, {queue['queued']:.0f} jobs queued: Redis "
            f"grew {queue['growth_mb']:.1f} MB ({queue['per_job']:.0f} B a queued job); "
            f"feeder peak RSS {queue['rss_mb']:.0f} MB"
        )
        print("   goal: Redis at most 32 MB, feeder at most 100 MB")
    shared = statistics.median(r[0] for r in figures["shared 0.95 L"]) * args.limit
    hours = 1_000_000 / shared / 3600
    print(f"1,000,000 rows at the shared rate ({shared:.1f}/s): {hours:.1f} hours", end="")
    if run_campaign is not None and queue is not None:
        results_mb = 1_000_000 * run_campaign["row_bytes"] / 1e6
        print(
            f"; Redis at the end {results_mb:.0f} MB of results (Hosted Link rows), plus "
            f"{queue['growth_mb']:.0f} MB for the queue while it is full"
        )
    else:
        print()


if __name__ == "__main__":
    main()
