"""Webhook verification with a cached key, against PyJWT's bare ES256 verify.

    python bench/webhooks.py [--rounds 15]

The same signed `SESSION_FINISHED` webhook is verified over and over: by
`WebhookVerifier.verify` (the key cached, as after the first webhook of a `kid`:
header checks, expiry, signature, window, body hash, then parsing into the model), and
by `jwt.decode` alone with the same key. Rounds alternate; the median of per-round
ratios is printed with its range, with the `speedups` extra (orjson) and without it.
Goal: at most 1.5x the bare verify. Also printed: webhooks verified per second on one
core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import jwt

from plaid_link_async import WebhookVerifier
from plaid_link_async._wire import _json
from plaid_link_async.testing import WebhookSigner

BODY = json.dumps(
    {
        "webhook_type": "LINK",
        "webhook_code": "SESSION_FINISHED",
        "status": "SUCCESS",
        "link_session_id": "356dbb28-7f98-44d1-8e6d-0cec580f3171",
        "link_token": "link-sandbox-af1a0311-da53-4636-b754-dd15cc058176",
        "public_tokens": ["public-sandbox-b0e2c4ee-a763-4df5-bfe9-46a46bce993d"],
        "environment": "sandbox",
    }
).encode()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--number", type=int, default=300)
    args = parser.parse_args()

    signer = WebhookSigner()
    signed = signer.sign(BODY)
    token = signed.headers["Plaid-Verification"]
    jwk = signer.jwk()

    async def fetch(kid: str) -> dict[str, Any]:
        return jwk

    verifier = WebhookVerifier(fetch)
    await verifier.verify(signed.body, signed.headers)  # the key is now cached
    key = jwt.PyJWK({k: jwk[k] for k in ("kty", "crv", "x", "y")}, "ES256").key

    def bare() -> None:
        for _ in range(args.number):
            jwt.decode(token, key, algorithms=["ES256"], options={"verify_iat": False})

    async def ours(speedups: bool) -> None:
        _json.use_speedups(speedups)
        for _ in range(args.number):
            await verifier.verify(signed.body, signed.headers)

    modes = {"standard json": False}
    if _json.SPEEDUPS:
        modes = {"speedups": True, **modes}
    ratios: dict[str, list[float]] = {mode: [] for mode in modes}
    ours_us: dict[str, list[float]] = {mode: [] for mode in modes}
    bare_us = []
    for _ in range(args.rounds):
        started = time.process_time()
        bare()
        bare_time = (time.process_time() - started) / args.number
        bare_us.append(bare_time * 1e6)
        for mode, speedups in modes.items():
            started = time.process_time()
            await ours(speedups)
            our_time = (time.process_time() - started) / args.number
            ratios[mode].append(our_time / bare_time)
            ours_us[mode].append(our_time * 1e6)
    print(f"PyJWT's bare ES256 verify: {statistics.median(bare_us):7.1f} us per webhook")
    for mode in modes:
        ordered = sorted(ratios[mode])
        ours_median = statistics.median(ours_us[mode])
        print(f"verify_webhook, cached key, {mode}: {ours_median:7.1f} us per webhook")
        print(
            f"  ratio: {statistics.median(ordered):.2f}x "
            f"(rounds {ordered[0]:.2f} to {ordered[-1]:.2f}); goal <= 1.5x; "
            f"{1e6 / ours_median:,.0f} webhooks a second on one core"
        )


if __name__ == "__main__":
    asyncio.run(main())
