"""Parse speed of a LinkTokenGetResponse: json.loads alone, plaid_link_async, plaid-python.

    python bench/parse.py

Same ~9 KB body for all (three finished Link sessions, each with on_success metadata,
two accounts, item_add_results and five events), rounds interleaved, medians compared.
Goals: (json.loads + from_dict) / json.loads <= 3.0; at least 30x faster than
plaid-python's ApiClient.deserialize (install it with `pip install -e '.[bench]'`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bodies import link_token_get_body
from _timing import interleaved

from plaid_link_async import from_dict
from plaid_link_async.models import LinkTokenGetResponse


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
    body = link_token_get_body(sessions=3)
    contenders = {
        "json.loads": lambda: json.loads(body),
        "plaid_link_async": lambda: from_dict(LinkTokenGetResponse, json.loads(body)),
    }
    theirs = plaid_python_deserializer(body)
    if theirs is not None:
        theirs()  # fail loudly here if it cannot parse the body at all
        contenders["plaid-python"] = theirs
    times = interleaved(contenders, rounds=25, number=100)
    base = times["json.loads"]
    ours = times["plaid_link_async"]
    print(f"body: {len(body):,} bytes, LinkTokenGetResponse with 3 link_sessions")
    print(f"json.loads:                 {base * 1e6:8.1f} us")
    print(
        f"json.loads + from_dict:     {ours * 1e6:8.1f} us = {ours / base:.2f}x json.loads"
        " (goal <= 3.0)"
    )
    if theirs is None:
        print("plaid-python: not installed (pip install -e '.[bench]'); ratio not measured")
        return
    slow = times["plaid-python"]
    print(
        f"plaid-python deserialize:   {slow * 1e6:8.1f} us = {slow / base:.1f}x json.loads;"
        f" plaid_link_async is {slow / ours:.1f}x faster (goal >= 30)"
    )


if __name__ == "__main__":
    main()
