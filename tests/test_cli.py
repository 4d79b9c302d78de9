"""`plaid-link` commands as subprocesses against a fake server started by the test."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from plaid_link_async.testing import FakePlaidServer

# Processes (the CLI, pytest in pytest, a wheel, Redis): the full run, not the
# quick loop.
pytestmark = pytest.mark.slow

SECRET = "cli-secret-0a1b2c3d4e"


@pytest.fixture
async def fake() -> AsyncIterator[FakePlaidServer]:
    async with FakePlaidServer(secret=SECRET) as server:
        yield server


async def plaid_link(
    fake: FakePlaidServer, *args: str, stdin: bytes | None = None
) -> tuple[int, str, str]:
    """Run the CLI with credentials in the environment; (exit code, stdout, stderr)."""
    env = {**os.environ, "PLAID_CLIENT_ID": fake.client_id, "PLAID_SECRET": SECRET}
    env.pop("PLAID_ENV", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "plaid_link_async",
        *args,
        "--base-url",
        fake.url,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await process.communicate(stdin)
    assert process.returncode is not None
    text_out, text_err = out.decode(), err.decode()
    assert SECRET not in text_out + text_err
    return process.returncode, text_out, text_err


def line_count(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


async def wait_for_lines(path: Path, count: int) -> None:
    """Wait until another process has written `count` lines to `path`."""
    # A file written by another process offers nothing to await but polling.
    while line_count(path) < count:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_token_create_and_get(fake: FakePlaidServer) -> None:
    code, out, err = await plaid_link(
        fake, "token", "create", "--user-id", "u-1", "--client-name", "App",
        "--products", "auth,transactions", "--country-codes", "US,CA", "-v",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("link_token:     link-sandbox-")
    assert "DEBUG plaid_link_async: link_token_create attempt 1: HTTP 200" in err
    token = out.split()[1]

    code, out, err = await plaid_link(fake, "token", "get", token, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["metadata"]["initial_products"] == ["auth", "transactions"]
    assert data["metadata"]["country_codes"] == ["US", "CA"]

    code, out, _ = await plaid_link(fake, "token", "get", token)
    assert "products:       auth, transactions" in out
    # One datetime format everywhere: ISO 8601 with Z, as `token create` prints it.
    assert re.search(r"^expiration: +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", out, re.M)


@pytest.mark.parametrize("flag", ["--client-user-id", "--user-id"])
async def test_the_user_flag_is_client_user_id_under_either_name(
    fake: FakePlaidServer, flag: str
) -> None:
    code, _, err = await plaid_link(
        fake, "token", "create", flag, "u-7", "--client-name", "App", "--products", "auth"
    )
    assert code == 0, err
    [request] = fake.requests_for("link_token_create")
    assert request.body["user"] == {"client_user_id": "u-7"}
    assert "user_id" not in request.body  # Plaid's own user_id is another thing


async def test_token_create_from_json_on_stdin(fake: FakePlaidServer) -> None:
    body = {
        "client_name": "App",
        "language": "en",
        "country_codes": ["US"],
        "user": {"client_user_id": "u"},
    }
    code, out, err = await plaid_link(
        fake, "token", "create", "--json-input", "-", "--json", stdin=json.dumps(body).encode()
    )
    assert code == 0, err
    assert json.loads(out)["link_token"].startswith("link-sandbox-")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["token", "create", "--user-id", "u", "--client-name", "A", "--products", "auth,bogus"],
            "products[1]: 'bogus' is not one of",
        ),
        (["token", "create", "--client-name", "A"], "user_id: missing"),
        (["token", "create", "--user-id", "u"], "client_name: missing"),
        (["token", "get", "link-sandbox-unknown"], "INVALID_LINK_TOKEN"),
    ],
)
async def test_errors_are_one_line(fake: FakePlaidServer, args: list[str], message: str) -> None:
    code, _, err = await plaid_link(fake, *args)
    assert code in (1, 2)
    assert message in err
    assert len(err.strip().splitlines()) == 1


async def test_missing_credentials_are_named(fake: FakePlaidServer) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "plaid_link_async", "token", "get", "x", "--base-url", fake.url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith("PLAID_")},
    )  # fmt: skip
    _, err = await process.communicate()
    assert process.returncode == 2
    # In the command's own terms: its flags, not the library's argument names.
    assert err.decode().strip() == (
        "plaid-link: error: missing Plaid credentials: --client-id or $PLAID_CLIENT_ID, "
        "--secret or $PLAID_SECRET"
    )


async def test_batch_reports_bad_rows_and_runs_the_rest(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    users = tmp_path / "users.jsonl"
    users.write_text(
        '{"user_id": "u1"}\n'
        "{not json\n"
        '{"user_id": "u3", "products": "auth,teleport"}\n'
        '{"products": "auth"}\n'
        '{"user_id": "u5", "country_codes": ["GB"]}\n'
        '{"client_name": "Other", "language": "fr", "country_codes": ["FR"], "user": {"client_user_id": "u6"}}\n'
    )
    output = tmp_path / "tokens.jsonl"
    code, _, err = await plaid_link(
        fake, "batch", "create", "--input", str(users), "--output", str(output),
        "--client-name", "App", "--products", "auth",
    )  # fmt: skip
    assert code == 1
    assert "error: row 2: not JSON" in err
    assert "error: row 3, products[1]: 'teleport' is not one of" in err
    assert "error: row 4, user_id: missing" in err
    assert "6 rows: 3 created, 3 failed, 0 already done" in err
    records = {record["row"]: record for record in lines(output)}
    assert sorted(records) == [1, 2, 3, 4, 5, 6]
    assert {row for row, r in records.items() if "link_token" in r} == {1, 5, 6}
    assert records[3]["error"]["type"] == "InputError"
    assert records[6]["user_id"] == "u6"


async def test_batch_killed_mid_run_resumes_without_loss_or_duplicates(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    fake.latency = 0.03
    users = tmp_path / "users.csv"
    users.write_text("user_id\n" + "".join(f"user-{n}\n" for n in range(400)))
    output = tmp_path / "tokens.jsonl"
    env = {**os.environ, "PLAID_CLIENT_ID": fake.client_id, "PLAID_SECRET": SECRET}
    args = [
        sys.executable, "-m", "plaid_link_async", "batch", "create", "--input", str(users),
        "--output", str(output), "--client-name", "App", "--concurrency", "10",
        "--base-url", fake.url,
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, env=env
    )
    await wait_for_lines(output, 60)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    before = len(lines(output)) if output.read_text().endswith("\n") else None
    assert before is None or 60 <= before < 400

    code, _, err = await plaid_link(
        fake, "batch", "create", "--input", str(users), "--output", str(output),
        "--client-name", "App", "--concurrency", "20",
    )  # fmt: skip
    assert code == 0, err
    assert "already done (skipped)" in err
    rows = [record["row"] for record in lines(output)]
    assert sorted(rows) == list(range(1, 401))  # every row exactly once
    assert all("link_token" in record for record in lines(output))


async def test_webhook_verify_checks_a_captured_webhook(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    pytest.importorskip("jwt")
    payload = {
        "webhook_type": "LINK",
        "webhook_code": "SESSION_FINISHED",
        "status": "SUCCESS",
        "link_session_id": "s1",
        "link_token": "link-sandbox-1",
        "environment": "sandbox",
    }
    signed = fake.sign_webhook(payload)
    body = tmp_path / "body.json"
    body.write_bytes(signed.body)
    headers = tmp_path / "headers.txt"
    headers.write_text("".join(f"{name}: {value}\n" for name, value in signed.headers.items()))
    code, out, err = await plaid_link(
        fake, "webhook", "verify", "--body", str(body), "--headers", str(headers)
    )
    assert code == 0, err
    assert out.strip() == "verified: LINK SESSION_FINISHED"

    as_json = tmp_path / "headers.json"
    as_json.write_text(json.dumps(dict(signed.headers)))
    code, out, _ = await plaid_link(
        fake, "webhook", "verify", "--body", "-", "--headers", str(as_json), "--json",
        stdin=signed.body,
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["status"] == "SUCCESS"

    body.write_bytes(signed.body.replace(b"SUCCESS", b"EXITED"))
    code, _, err = await plaid_link(
        fake, "webhook", "verify", "--body", str(body), "--headers", str(headers)
    )
    assert code == 1
    assert err.strip() == (
        "plaid-link: error: webhook refused (body_mismatch): the body's SHA-256 is not the "
        "signed one (was it re-serialised, or decoded and encoded again, before verification?)"
    )
