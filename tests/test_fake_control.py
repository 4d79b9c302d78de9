"""The fake server's edges: where it binds, who may control it, what the control API
accepts, one control surface for every style, and what `reset` forgets."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import sys
from typing import Any

import aiohttp
import attrs
import pytest

from plaid_link_async.testing import (
    FakePlaidControl,
    FakePlaidServer,
    FakePlaidThread,
    Fault,
    WebhookFault,
)

from ._helpers import CREATE, session_for


def test_a_non_loopback_bind_is_refused_unless_allowed() -> None:
    with pytest.raises(ValueError, match="not a loopback address"):
        FakePlaidServer(host="0.0.0.0")
    FakePlaidServer(host="0.0.0.0", allow_remote=True)  # made, not started
    FakePlaidServer(host="::1")
    FakePlaidServer(host="localhost")


@pytest.mark.slow
async def test_the_command_line_refuses_a_non_loopback_host_in_one_line() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "plaid_link_async", "fake-server", "--host", "0.0.0.0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert out == b""
    assert "not a loopback address" in err.decode()
    assert len(err.decode().strip().splitlines()) == 1


async def post(
    url: str, action: str, body: Any, *, local: str | None = None, raw: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    connector = aiohttp.TCPConnector(local_addr=(local, 0) if local else None)
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.post(
            f"{url}/_fake/{action}",
            data=raw if raw is not None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        ) as response,
    ):
        return response.status, await response.json()


async def test_the_control_api_answers_only_loopback_peers(fake_plaid: FakePlaidServer) -> None:
    status, answer = await post(fake_plaid.url, "reset", {}, local="127.0.0.2")
    assert status == 403
    assert "answers only" in answer["error"]
    status, _ = await post(fake_plaid.url, "reset", {}, local="127.0.0.1")
    assert status == 200


def fault(**fields: Any) -> dict[str, Any]:
    return {"endpoint": "link_token_create", "faults": [{"kind": "plaid_error", **fields}]}


@pytest.mark.parametrize(
    ("action", "body", "named"),
    [
        ("faults", fault(status="abc"), "faults[0].status: must be an HTTP status"),
        ("faults", fault(status=99999), "faults[0].status: must be an HTTP status"),
        ("faults", fault(retry_after="1\r\nX-Injected: 1"), "faults[0].retry_after"),
        ("faults", fault(seconds=1e400), "faults[0].seconds"),
        ("faults", fault(colour="red"), "faults[0].colour: unknown field"),
        (
            "faults",
            {"endpoint": "link_token_create", "faults": [{"kind": "rate_limit"}]},
            "faults[0].kind: 'rate_limit' is not one of: plaid_error, proxy_error",
        ),
        ("faults", {"endpoint": "link_token_create"}, "faults: required"),
        ("faults", {"endpoint": "nope", "faults": []}, "unknown endpoint 'nope'"),
        (
            "webhook_faults",
            {"faults": [{"kind": "delay", "seconds": 1e400}]},
            "faults[0].seconds: must be a number of seconds",
        ),
        ("complete_link", {"link_token": "x", "items": 1e400}, "items: expected an integer"),
        ("complete_link", {"link_token": "x", "items": 3_000_000}, "items: must be a finite"),
        ("complete_link", {"link_token": "x", "items": True}, "items: expected an integer"),
        ("complete_link", {"link_token": "link-sandbox-nope"}, "unknown link token"),
        ("sign_webhook", {"payload": {}, "iat": "yesterday"}, "iat: expected"),
        ("sign_webhook", {"payload": {}, "expiry": 1}, "expiry: unknown field"),
        ("webhooks_settled", {"timeout": -1}, "timeout: must be a finite number"),
        ("reset", {"everything": True}, "everything: unknown field"),
    ],
)
async def test_control_input_is_checked_and_the_field_named(
    fake_plaid: FakePlaidServer, action: str, body: Any, named: str
) -> None:
    status, answer = await post(fake_plaid.url, action, body)
    assert status == 400
    assert named in answer["error"]
    assert "Error:" not in answer["error"]  # never a Python exception's text
    assert fake_plaid.pending_faults("link_token_create") == 0


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        # Past json's recursion limit ("not JSON"), or within a raised one ("too deep").
        (b"[" * 10_000 + b"]" * 10_000, "not JSON|nests too deep"),
        (b'{"a":' * 100 + b"1" + b"}" * 100, "nests too deep"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
    ],
)
async def test_a_control_body_that_is_no_object_is_refused(
    fake_plaid: FakePlaidServer, raw: bytes, named: str
) -> None:
    status, answer = await post(fake_plaid.url, "reset", None, raw=raw)
    assert status == 400
    assert re.search(named, answer["error"])


def test_the_in_loop_faults_are_checked_where_they_are_made() -> None:
    with pytest.raises(ValueError, match="status: must be an HTTP status"):
        Fault.plaid_error(700, "X", "Y")
    with pytest.raises(ValueError, match="seconds"):
        WebhookFault.delay(float("inf"))
    with pytest.raises(ValueError, match="is not one of: duplicate, delay"):
        WebhookFault("slow")  # type: ignore[arg-type]


async def test_complete_link_is_bounded(fake_plaid: FakePlaidServer) -> None:
    async with session_for(fake_plaid) as plaid:
        created = await plaid.link_token_create(CREATE)
    with pytest.raises(ValueError, match="items: must be from 1 to 100"):
        fake_plaid.complete_link(created.link_token, items=3_000_000)


# In the loop only: a control client cannot start or close the server it talks to, nor
# hand over its signing key or live settings.
IN_LOOP_ONLY = {"start", "close", "url", "webhook_signer", "eligible_phone_numbers"}
IN_LOOP_ONLY |= {"default_webhook", "client_id", "environment", "host", "port"}


def test_every_fake_style_has_one_control_surface() -> None:
    # The thread and process fakes are FakePlaidControl, so comparing it covers them.
    server = {name for name in dir(FakePlaidServer) if not name.startswith("_")}
    server |= {name for name in vars(FakePlaidServer()) if not name.startswith("_")}
    control = {name for name in dir(FakePlaidControl) if not name.startswith("_")}
    assert server - IN_LOOP_ONLY - control == set()
    for name in sorted(server & control - {"requests", "webhook_deliveries", "latency"}):
        ours = list(inspect.signature(getattr(FakePlaidServer, name)).parameters)
        theirs = list(inspect.signature(getattr(FakePlaidControl, name)).parameters)
        # The same parameters, in order; the in-loop fake may take more after them
        # (Python objects such as `accounts`, which do not cross a process).
        assert ours[: len(theirs)] == theirs, name


def test_the_thread_fake_signs_bytes_and_sets_its_latency_as_the_in_loop_one_does() -> None:
    pytest.importorskip("jwt")
    with FakePlaidThread() as fake:
        body = b'{"webhook_type": "LINK",  "webhook_code": "EVENTS"}'  # signed as given
        signed = fake.sign_webhook(body)
        assert signed.body == body
        assert "Plaid-Verification" in signed.headers
        fake.latency = 0.05
        assert fake.latency == 0.05
        with pytest.raises(ValueError, match="seconds"):
            fake.latency = -1
        fake.latency = 0


async def test_reset_forgets_deliveries_and_stops_their_retries(
    fake_plaid: FakePlaidServer,
) -> None:
    pytest.importorskip("jwt")
    refused = 0

    async def receiver(request: aiohttp.web.Request) -> aiohttp.web.Response:
        nonlocal refused
        refused += 1
        return aiohttp.web.Response(status=500)  # so Plaid's schedule retries

    app = aiohttp.web.Application()
    app.router.add_post("/hook", receiver)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        fast = FakePlaidServer(webhook_time_scale=0.001)
        async with fast:
            fast.send_webhook(f"http://127.0.0.1:{port}/hook", {"webhook_type": "LINK"})
            while refused < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            fast.reset()
            assert fast.webhook_deliveries == []
            seen = refused
            await asyncio.sleep(0.3)  # retries would come every 30-120 ms here
            assert refused == seen
    finally:
        await runner.cleanup()


async def test_a_delivering_token_sends_one_message_seen_in_every_style() -> None:
    from plaid_link_async import InvalidRequestError
    from plaid_link_async import models as m
    from plaid_link_async.testing import FakePlaidThread, SentMessage

    sms = m.LinkTokenCreateHostedLink(delivery_method=m.HostedLinkDeliveryMethod.SMS)
    email = m.LinkTokenCreateHostedLink(delivery_method=m.HostedLinkDeliveryMethod.EMAIL)
    with FakePlaidThread() as fake:
        async with session_for(fake) as plaid:
            texted = await plaid.link_token_create(attrs.evolve(CREATE, hosted_link=sms))
            await plaid.link_token_create(CREATE)  # no delivery: no message
            with pytest.raises(InvalidRequestError, match=r"user\.email_address") as refused:
                await plaid.link_token_create(attrs.evolve(CREATE, hosted_link=email))
            assert refused.value.error_code == "MISSING_FIELDS"
        [message] = fake.sent_messages()  # over the control API, from another thread
        assert message == SentMessage(
            method="sms",
            to=CREATE.user.phone_number,
            client_user_id="user-1",
            link_token=texted.link_token,
            hosted_link_url=texted.hosted_link_url or "",
            sent_at=message.sent_at,
        )
        fake.reset()
        assert fake.sent_messages() == []


def test_every_control_route_is_documented() -> None:
    from plaid_link_async.testing._control import ACTIONS, PREFIX

    from .conftest import ROOT

    guide = (ROOT / "docs" / "testing.md").read_text()
    missing = [
        f"{method} {PREFIX}{name}"
        for method, name in ACTIONS
        if f"`{method} {PREFIX}{name}" not in guide
    ]
    assert missing == []


async def test_an_item_put_in_error_over_http_sends_its_webhook_and_update_mode_repairs_it() -> (
    None
):
    pytest.importorskip("jwt")
    from plaid_link_async import InvalidInputError
    from plaid_link_async import models as m
    from plaid_link_async.testing import FakePlaidThread

    hook = "http://127.0.0.1:9/hook"  # a loopback port nobody serves: recorded attempts
    with FakePlaidThread(webhook_time_scale=0.001) as fake:
        async with session_for(fake) as plaid:  # type: ignore[arg-type]
            created = await plaid.link_token_create(attrs.evolve(CREATE, webhook=hook))
            [public] = fake.complete_link(created.link_token).public_tokens
            item = await plaid.item_public_token_exchange(
                m.ItemPublicTokenExchangeRequest(public_token=public)
            )
            with pytest.raises(ValueError, match="state: must be one of"):
                fake.set_item_state(item.access_token, "BROKEN")
            with pytest.raises(ValueError, match="access_token: the fake never issued it"):
                fake.set_item_state("access-sandbox-nope", "PENDING_EXPIRATION")
            for state, code in (
                ("PENDING_EXPIRATION", "PENDING_EXPIRATION"),
                ("PENDING_DISCONNECT", "PENDING_DISCONNECT"),
                ("ITEM_LOGIN_REQUIRED", "ERROR"),
            ):
                fake.set_item_state(item.access_token, state)
                await _delivered(fake, ("ITEM", code))
            update = await plaid.link_token_create(
                attrs.evolve(CREATE, webhook=hook, access_token=item.access_token)
            )
            fake.complete_link(update.link_token)
            await _delivered(fake, ("ITEM", "LOGIN_REPAIRED"))
            with pytest.raises(InvalidInputError) as refused:
                await plaid.link_token_create(attrs.evolve(CREATE, access_token="access-x"))
            assert refused.value.error_code == "INVALID_ACCESS_TOKEN"


async def _delivered(fake: Any, pair: tuple[str, str]) -> None:
    """Wait (at most 5 s) until the fake has tried to deliver a webhook of `pair`."""
    for _ in range(500):
        if pair in {(d.webhook_type, d.webhook_code) for d in fake.webhook_deliveries}:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {pair} webhook")
