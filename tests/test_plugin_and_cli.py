"""The pytest plugin as a user's project sees it, and the demo command of the README."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Processes (the CLI, pytest in pytest, a wheel, Redis): the full run, not the
# quick loop.
pytestmark = pytest.mark.slow

pytest_plugins = ["pytester"]

USER_TEST = """
import pytest
from plaid_link_async import RateLimitError, models as m
from plaid_link_async.testing import Fault

REQUEST = m.LinkTokenCreateRequest(
    client_name="App", language="en", country_codes=["US"],
    user=m.LinkTokenCreateRequestUser(client_user_id="u"),
)

@pytest.mark.asyncio
async def test_create(plaid_session, fake_plaid):
    created = await plaid_session.link_token_create(REQUEST)
    assert created.link_token in fake_plaid.link_tokens()

@pytest.mark.asyncio
async def test_rate_limited(plaid_session, fake_plaid):
    fake_plaid.inject("link_token_create", *[Fault.rate_limit(retry_after=0)] * 3)
    with pytest.raises(RateLimitError) as caught:
        await plaid_session.link_token_create(REQUEST)
    assert caught.value.attempts == 3
"""


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_fixtures_work_in_a_users_project(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makepyfile(test_user=USER_TEST)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest_subprocess("-W", "error", f"--asyncio-mode={mode}", "-q")
    result.assert_outcomes(passed=2)


def test_demo_runs_every_endpoint_and_a_retry() -> None:
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "plaid_link_async", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for step in ("1. link_token_create", "2. link_token_get", "3. Hosted Link by SMS", "4. oauth"):
        assert step in out
    assert "retried 503" in out
    assert "retry: link_token_get attempt 1 of 3 failed" in out
    assert "+14155550011 texted http://127.0.0.1:" in out
    assert "the same token back" in out
    assert done.stderr == ""


def test_cli_version_and_help() -> None:
    from plaid_link_async import __version__
    from plaid_link_async._cli._main import main

    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    with pytest.raises(SystemExit):
        main([])
    assert __version__
