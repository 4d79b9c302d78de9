"""Parse speed of a LinkTokenGetResponse: json.loads alone, plaid_link_async with and
without the `speedups` extra (orjson), and plaid-python.

    python bench/parse.py [--rounds 25]

Same ~9 KB body for all (three finished Link sessions, each with on_success metadata,
two accounts, item_add_results and five events), rounds interleaved; each contender's
sample is about 20 ms of CPU time; each figure is the median of the per-round ratios,
with their spread. The floor (issue 27): at least 8x faster than plaid-python's
ApiClient.deserialize (install it with `pip install -e '.[bench]'`); the ratios to
`json.loads` are printed for comparison.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bodies import link_token_get_body
from _timing import interleaved_samples, ratio_text

from plaid_link_async import TransportResponse
from plaid_link_async._calls._answers import decode
from plaid_link_async._wire import _json
from plaid_link_async.models import LinkTokenGetResponse


def ours(raw: TransportResponse, speedups: bool) -> object:
    """The session's own reading of an answer, with or without orjson."""
    _json.use_speedups(speedups)
    return decode(raw, LinkTokenGetResponse, endpoint="link_token_get")


def plaid_python_deserializer(body: bytes):  # type: ignore[no-untyped-def]
    """A call running plaid-python's own deserialisation of `body`, or None if not installed."""
    try:
        from plaid.api_client import ApiClient
        from plaid.model.link_token_get_response import LinkTokenGetResponse as Theirs
    except ImportError:
        return None

    class Response:  # the part of plaid's RESTResponse that deserialize reads
        data = body

        def getheader(self, name: str, default: object = None) -> object:
            return default

    client, response = ApiClient(), Response()
    return lambda: client.deserialize(response, (Theirs,), True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    body = link_token_get_body(sessions=3)
    raw = TransportResponse(200, {"Content-Type": "application/json"}, body)
    contenders = {
        "json.loads": lambda: json.loads(body),
        "ours, standard json": lambda: ours(raw, False),
    }
    if _json.SPEEDUPS:
        import orjson

        contenders["orjson.loads"] = lambda: orjson.loads(body)
        contenders["ours, speedups"] = lambda: ours(raw, True)
    theirs = plaid_python_deserializer(body)
    if theirs is not None:
        theirs()  # fail loudly here if it cannot parse the body at all
        contenders["plaid-python"] = theirs
    # CPU time, and samples of about 20 ms each whatever the contender: plaid-python
    # takes 30 times longer a parse, and 100 of its parses against 100 of ours would
    # pair a half-second sample with a fifteen-millisecond one.
    samples = interleaved_samples(
        contenders, rounds=args.rounds, sample_seconds=0.02, clock=time.process_time
    )
    base = samples["json.loads"]
    print(f"body: {len(body):,} bytes, LinkTokenGetResponse with 3 link_sessions")
    print(
        f"{args.rounds} interleaved rounds of about 20 ms of CPU per contender; ratios are "
        "medians of per-round ratios"
    )
    for name, values in samples.items():
        print(f"  {name:22} {statistics.median(values) * 1e6:8.1f} us")
    print(f"ours, standard json / json.loads: {ratio_text(samples['ours, standard json'], base)}")
    if _json.SPEEDUPS:
        print(f"ours, speedups / json.loads:      {ratio_text(samples['ours, speedups'], base)}")
        print(f"orjson.loads / json.loads:        {ratio_text(samples['orjson.loads'], base)}")
    else:
        print("speedups: orjson not installed (pip install 'plaid-link-async[speedups]')")
    if theirs is None:
        print("plaid-python: not installed (pip install -e '.[bench]'); ratio not measured")
        return
    slow = samples["plaid-python"]
    for name in ("ours, standard json", "ours, speedups"):
        if name in samples:
            print(f"plaid-python / {name}: {ratio_text(slow, samples[name])} (floor >= 8)")


if __name__ == "__main__":
    main()
