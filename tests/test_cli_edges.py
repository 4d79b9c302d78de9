"""`batch create` at its edges: two runs on one journal, a full disk, a typo in products."""

from __future__ import annotations

import asyncio
import os
import resource
import sys
from pathlib import Path

import pytest

from plaid_link_async.testing import FakePlaidServer

from .test_cli import SECRET, plaid_link
from .test_cli_journal import batch, created_rows, users_csv
from .test_cli_journal import fake as fake  # the fixture

# Processes (the CLI, pytest in pytest, a wheel, Redis): the full run, not the
# quick loop.
pytestmark = pytest.mark.slow


async def test_a_second_run_on_one_journal_is_refused_naming_the_holder(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    users = users_csv(tmp_path / "users.csv", 400)
    output = tmp_path / "tokens.jsonl"
    fake.latency = 0.05  # the first run is still going when the second starts
    first = asyncio.ensure_future(batch(fake, users, output, "--concurrency", "4"))
    while not output.exists() or not output.read_text():  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    code, err = await batch(fake, users, output)
    assert code == 2, err
    assert "is in use by another plaid-link process (PID " in err
    assert len(err.strip().splitlines()) == 1
    fake.latency = 0.0
    code, err = await first
    assert code == 0, err
    assert created_rows(output) == list(range(1, 401))
    # One token per row: the refused run sent nothing.
    assert len(fake.requests_for("link_token_create")) == 400
    # The lock goes with the process: a later run takes it.
    code, err = await batch(fake, users, output)
    assert code == 0, err
    assert "400 already done (skipped)" in err


async def test_a_full_disk_is_a_failed_run_with_its_summary_and_resume_hint(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    users = users_csv(tmp_path / "users.csv", 200)
    output = tmp_path / "tokens.jsonl"
    limit = 8 * 1024  # room for a few dozen journal lines

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "PLAID_CLIENT_ID": fake.client_id, "PLAID_SECRET": SECRET}
    env.pop("PLAID_ENV", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "plaid_link_async", "batch", "create",
        "--input", str(users), "--output", str(output), "--client-name", "App",
        "--concurrency", "4", "--base-url", fake.url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env, preexec_fn=small_files,
    )  # fmt: skip
    _, raw_err = await process.communicate()
    err = raw_err.decode()
    assert process.returncode == 1, err
    assert "Traceback" not in err
    assert "could not write the journal tokens.jsonl: File too large" in err
    assert "200 rows:" in err
    assert "not done" in err
    assert "run the same command again" in err
    text = output.read_text()
    whole = text[: text.rfind("\n") + 1].splitlines()  # a cut last line is dropped on resume
    assert 0 < len(whole) < 200
    assert all('"link_token"' in line for line in whole)
    code, err = await batch(fake, users, output)
    assert code == 0, err
    assert created_rows(output) == list(range(1, 201))


async def test_a_typo_in_products_gets_a_did_you_mean(fake: FakePlaidServer) -> None:
    for typo, meant in (("autth", "auth"), ("AUTH", "auth"), ("Transactions", "transactions")):
        code, _, err = await plaid_link(
            fake, "token", "create", "--user-id", "u", "--client-name", "App", "--products", typo
        )
        assert code == 2, err
        assert f"did you mean '{meant}'" in err
