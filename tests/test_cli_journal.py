"""`plaid-link batch create` never loses a row: the journal, resume rules, bad input, stops.

Each test runs the real command in a subprocess against the fake server (or a raw one).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from plaid_link_async._cli._journal import cut_unterminated_tail
from plaid_link_async.testing import FakePlaidServer

from ._helpers import hears_ctrl_c, run_on_a_terminal
from ._raw_server import JSON_HEAD, RawServer, always, answer
from .test_cli import SECRET, fake, lines, plaid_link, wait_for_lines

# Processes (the CLI, pytest in pytest, a wheel, Redis): the full run, not the
# quick loop.
pytestmark = pytest.mark.slow

__all__ = ["fake"]  # the fixture, shared with test_cli


def users_csv(path: Path, count: int, start: int = 0) -> Path:
    path.write_text("user_id\n" + "".join(f"user-{n}\n" for n in range(start, start + count)))
    return path


async def batch(fake: FakePlaidServer, users: Path, output: Path, *extra: str) -> tuple[int, str]:
    code, _, err = await plaid_link(
        fake, "batch", "create", "--input", str(users), "--output", str(output),
        "--client-name", "App", *extra,
    )  # fmt: skip
    assert "Traceback" not in err
    return code, err


def created_rows(output: Path) -> list[int]:
    return sorted(r["row"] for r in lines(output) if r.get("link_token"))


# -- the journal's tail ---------------------------------------------------------------------


@pytest.mark.parametrize("size", [10, 70_000, 1 << 20])
def test_only_an_unterminated_last_line_is_cut_whatever_its_length(
    tmp_path: Path, size: int
) -> None:
    journal = tmp_path / "j.jsonl"
    complete = b'{"row":1,"link_token":"link-sandbox-a"}\n' + b'{"row":2,"error":{}}\n'
    journal.write_bytes(complete + b'{"row":3,"error":{"message":"' + b"x" * size)
    assert cut_unterminated_tail(journal) == len(b'{"row":3,"error":{"message":"') + size
    assert journal.read_bytes() == complete
    assert cut_unterminated_tail(journal) == 0  # complete lines are never touched
    long_line = b'{"row":4,"error":{"message":"' + b"y" * size + b'"}}\n'
    journal.write_bytes(complete + long_line)
    assert cut_unterminated_tail(journal) == 0
    assert journal.read_bytes() == complete + long_line
    journal.write_bytes(b"x" * size)  # one line, never finished
    assert cut_unterminated_tail(journal) == size
    assert journal.read_bytes() == b""


async def test_a_crash_inside_a_long_last_line_loses_no_earlier_token(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    users = users_csv(tmp_path / "users.csv", 30)
    output = tmp_path / "tokens.jsonl"
    code, err = await batch(fake, users, output, "--concurrency", "4")
    assert code == 0, err
    before = output.read_text().splitlines()
    # The crash: a 1 MiB error line cut before its newline, after 30 good lines.
    with output.open("a") as handle:
        handle.write('{"row":31,"error":{"message":"' + "z" * (1 << 20))
    users_csv(users, 32)
    code, err = await batch(fake, users, output)
    assert code == 0, err
    after = output.read_text().splitlines()
    assert after[:30] == before  # every earlier line, byte for byte
    assert created_rows(output) == list(range(1, 33))


# -- resume rules ---------------------------------------------------------------------------


async def test_a_journal_of_another_input_is_refused(fake: FakePlaidServer, tmp_path: Path) -> None:
    output = tmp_path / "tokens.jsonl"
    code, err = await batch(fake, users_csv(tmp_path / "a.csv", 5), output)
    assert code == 0, err
    sent = len(fake.requests)
    code, err = await batch(fake, users_csv(tmp_path / "b.csv", 8, start=100), output)
    assert code == 2
    assert "tokens.jsonl does not match b.csv: row 1 is user 'user-0' in the journal" in err
    assert "but user 'user-100' in the input (line 2)" in err
    assert "--new-journal" in err
    assert len(err.strip().splitlines()) == 1
    assert len(fake.requests) == sent  # nothing was sent


async def test_an_inserted_row_is_refused_naming_the_first_shifted_row(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    users = users_csv(tmp_path / "users.csv", 5)
    output = tmp_path / "tokens.jsonl"
    assert (await batch(fake, users, output))[0] == 0
    rows = users.read_text().splitlines()
    users.write_text("\n".join([*rows[:3], "new-user", *rows[3:]]) + "\n")
    code, err = await batch(fake, users, output)
    assert code == 2
    assert "row 3 is user 'user-2' in the journal but user 'new-user' in the input" in err


async def test_a_journal_with_more_rows_than_the_input_is_refused(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    output = tmp_path / "tokens.jsonl"
    assert (await batch(fake, users_csv(tmp_path / "u.csv", 6), output))[0] == 0
    code, err = await batch(fake, users_csv(tmp_path / "u.csv", 4), output)
    assert code == 2
    assert "the journal has row 5, the input only 4 rows" in err


async def test_new_journal_moves_the_old_one_aside_and_starts_over(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    output = tmp_path / "tokens.jsonl"
    assert (await batch(fake, users_csv(tmp_path / "a.csv", 3), output))[0] == 0
    old = output.read_text()
    code, err = await batch(fake, users_csv(tmp_path / "b.csv", 4, 50), output, "--new-journal")
    assert code == 0, err
    (moved,) = tmp_path.glob("tokens.jsonl.*.old")  # noqa: ASYNC240
    assert moved.read_text() == old
    assert f"moved the old journal to {moved}" in err
    assert created_rows(output) == [1, 2, 3, 4]


async def test_a_line_with_neither_token_nor_error_is_not_done(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    output = tmp_path / "tokens.jsonl"
    output.write_text('{"row": 1}\n{"row": 2, "user_id": "user-1", "link_token": ""}\n')
    code, err = await batch(fake, users_csv(tmp_path / "u.csv", 2), output)
    assert code == 0, err
    assert "0 already done" in err
    assert created_rows(output) == [1, 2]
    assert output.read_text().startswith('{"row": 1}\n')  # kept, never rewritten


async def test_a_journal_of_plaid_link_0_1_0_is_resumed_by_user_id(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    output = tmp_path / "tokens.jsonl"
    output.write_text('{"row":1,"user_id":"user-0","link_token":"link-sandbox-old"}\n')
    code, err = await batch(fake, users_csv(tmp_path / "u.csv", 3), output)
    assert code == 0, err
    assert "1 already done" in err
    output.write_text('{"row":1,"user_id":"someone-else","link_token":"link-sandbox-old"}\n')
    code, err = await batch(fake, users_csv(tmp_path / "u.csv", 3), output)
    assert code == 2


async def test_an_output_that_is_not_a_journal_is_refused(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    users = users_csv(tmp_path / "u.csv", 2)
    for content in [b"\xff\xfe not utf-8\n", b"name,age\nbob,3\n", b'{"row": "1"}\n']:
        output = tmp_path / "notes.txt"
        output.write_bytes(content)
        code, err = await batch(fake, users, output)
        assert code == 2
        assert "notes.txt is not a plaid-link journal (line 1" in err
        assert output.read_bytes() == content  # untouched


# -- paths ----------------------------------------------------------------------------------


async def test_output_that_is_the_input_is_refused_even_under_another_name(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    users = users_csv(tmp_path / "users.csv", 3)
    before = users.read_text()
    alias = tmp_path / "alias.jsonl"
    os.link(users, alias)
    for output in [users, alias]:
        code, err = await batch(fake, users, output)
        assert code == 2
        assert "--output is the --input file" in err
    assert users.read_text() == before


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing input", "no such input file"),
        ("input folder", "--input is a folder"),
        ("output folder", "--output is a folder"),
        ("output in a missing folder", "the folder of --output does not exist"),
        ("bad encoding", "unknown --encoding 'klingon'"),
        ("no user_id column", "u.csv has no client_user_id (or user_id) column"),
        ("bad concurrency", "--concurrency must be at least 1"),
        ("not a number", "argument --concurrency: invalid int value"),
    ],
)
async def test_every_usage_failure_is_one_line_and_exit_2(
    fake: FakePlaidServer, tmp_path: Path, case: str, message: str
) -> None:
    users = users_csv(tmp_path / "u.csv", 1)
    output = tmp_path / "out.jsonl"
    extra: list[str] = []
    if case == "missing input":
        users = tmp_path / "missing.csv"
    elif case == "input folder":
        users = tmp_path
    elif case == "output folder":
        output = tmp_path
    elif case == "output in a missing folder":
        output = tmp_path / "nope" / "out.jsonl"
    elif case == "bad encoding":
        extra = ["--encoding", "klingon"]
    elif case == "no user_id column":
        users.write_text("name\nbob\n")
    elif case == "bad concurrency":
        extra = ["--concurrency", "0"]
    else:
        extra = ["--concurrency", "many"]
    code, err = await batch(fake, users, output, *extra)
    assert code == 2
    assert err.startswith("plaid-link: error: ")
    assert message in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "no such --json-input file"),
        ("folder", "--json-input is a folder"),
        ("latin-1", "not UTF-8"),
        ("deep", "JSON nested too deep"),
    ],
)
async def test_token_create_input_failures_are_one_line(
    fake: FakePlaidServer, tmp_path: Path, case: str, message: str
) -> None:
    path = tmp_path / "body.json"
    if case == "folder":
        path = tmp_path
    elif case == "latin-1":
        path.write_bytes('{"user_id": "José"}'.encode("latin-1"))
    elif case == "deep":
        path.write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = await plaid_link(fake, "token", "create", "--json-input", str(path))
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


# -- bad rows -------------------------------------------------------------------------------


async def test_bad_rows_are_journaled_as_errors_and_the_batch_goes_on(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    users = tmp_path / "users.jsonl"
    users.write_bytes(
        b'{"user_id": "u1"}\n'
        + b'{"user": ' * 100_000 + b"1" + b"}" * 100_000 + b"\n"  # 100k deep
        + '{"user_id": "Jos\xe9"}\n'.encode("latin-1")  # not UTF-8
        + b'{"user_id": "u4", "client_name": "' + b"x" * (2 << 20) + b'"}\n'  # 2 MiB line
        + b'{"products": "auth"}\n'  # no user id
        + b'{"user_id": "u6"}\n'
    )  # fmt: skip
    output = tmp_path / "tokens.jsonl"
    code, err = await batch(fake, users, output)
    assert code == 1
    assert "plaid-link: error: row 2: JSON nested too deep" in err
    assert "row 3: line 3 is not valid utf-8 (byte 0xe9 at position 17)" in err
    assert "row 4: line 4 is over 1,048,576 bytes" in err
    assert "row 5, user_id: missing" in err
    assert "6 rows: 2 created, 4 failed" in err
    records = {record["row"]: record for record in lines(output)}
    assert sorted(records) == [1, 2, 3, 4, 5, 6]
    assert created_rows(output) == [1, 6]
    assert all(len(json.dumps(r)) < 2000 for r in records.values())


async def test_a_csv_field_over_128_kib_is_that_rows_error(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    users = tmp_path / "users.csv"
    users.write_text(f"user_id,client_name\na,App\nb,{'x' * 200_000}\nc,App\n")
    output = tmp_path / "tokens.jsonl"
    code, err = await batch(fake, users, output)
    assert code == 1
    assert "row 2: not CSV: field larger than field limit" in err
    assert created_rows(output) == [1, 3]


async def test_a_latin_1_csv_is_refused_per_row_unless_its_encoding_is_given(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    users = tmp_path / "users.csv"
    users.write_bytes("user_id\nJosé\nAnn\n".encode("latin-1"))
    output = tmp_path / "tokens.jsonl"
    code, err = await batch(fake, users, output)
    assert code == 1
    assert "row 1: line 2 is not valid utf-8" in err
    assert "pass --encoding" in err
    assert not any((r.get("user_id") or "").startswith("Jos") for r in lines(output))
    assert [request.body["user"]["client_user_id"] for request in fake.requests] == ["Ann"]

    code, err = await batch(fake, users, tmp_path / "again.jsonl", "--encoding", "latin-1")
    assert code == 0, err
    assert "José" in [r["user_id"] for r in lines(tmp_path / "again.jsonl")]


async def test_a_utf_8_bom_is_fine(fake: FakePlaidServer, tmp_path: Path) -> None:
    users = tmp_path / "users.csv"
    users.write_bytes(b"\xef\xbb\xbfuser_id\nJos\xc3\xa9\n")
    code, err = await batch(fake, users, tmp_path / "out.jsonl")
    assert code == 0, err


# -- stops ----------------------------------------------------------------------------------


async def test_bad_credentials_stop_the_batch_at_once_and_a_resume_finishes_it(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    users = users_csv(tmp_path / "users.csv", 100)
    output = tmp_path / "tokens.jsonl"
    env = {**os.environ, "PLAID_CLIENT_ID": fake.client_id, "PLAID_SECRET": "wrong-secret-123"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "plaid_link_async", "batch", "create", "--input", str(users),
        "--output", str(output), "--client-name", "App", "--base-url", fake.url,
        "--concurrency", "4", stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    _, raw_err = await process.communicate()
    err = raw_err.decode()
    assert process.returncode == 1
    assert err.count("INVALID_API_KEYS") == 1
    assert "error: stopped: " in err
    assert "run the same command again" in err
    assert len(err.strip().splitlines()) == 2  # the summary and the reason
    assert len(fake.requests) <= 8  # the calls in flight when the first answer came
    assert created_rows(output) == []

    code, err = await batch(fake, users, output)
    assert code == 0, err
    assert created_rows(output) == list(range(1, 101))


async def test_ctrl_c_journals_finished_calls_and_says_how_to_resume(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    fake.latency = 0.05
    users = users_csv(tmp_path / "users.csv", 300)
    output = tmp_path / "tokens.jsonl"
    env = {**os.environ, "PLAID_CLIENT_ID": fake.client_id, "PLAID_SECRET": SECRET}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "plaid_link_async", "batch", "create", "--input", str(users),
        "--output", str(output), "--client-name", "App", "--concurrency", "8",
        "--base-url", fake.url, stderr=asyncio.subprocess.PIPE, env=env, preexec_fn=hears_ctrl_c,
    )  # fmt: skip
    await wait_for_lines(output, 20)
    process.send_signal(signal.SIGINT)
    _, raw_err = await process.communicate()
    err = raw_err.decode()
    assert process.returncode == 130
    assert "interrupted" in err
    assert "300 rows: " in err
    assert "not done" in err
    assert "to resume, run the same command again: plaid-link batch create --input" in err
    assert "Traceback" not in err
    written = lines(output)  # whole lines only
    assert len({r["row"] for r in written}) == len(written)
    # Every call the fake answered was journaled: none was lost on the way out.
    answered = sum(1 for r in fake.requests if r.path == "/link/token/create")
    assert len(written) >= answered - 8

    code, err = await batch(fake, users, output, "--concurrency", "20")
    assert code == 0, err
    assert created_rows(output) == list(range(1, 301))


async def test_a_secret_echoed_by_the_server_never_reaches_the_terminal(tmp_path: Path) -> None:
    page = f"<h1>PLAID-SECRET: {SECRET}</h1>".encode()
    async with RawServer(always(answer(400, page, {"Content-Type": f"text/{SECRET}"}))) as api:
        env = {**os.environ, "PLAID_CLIENT_ID": "client-id-000", "PLAID_SECRET": SECRET}
        for args in (["token", "get", "x"], ["token", "get", "x", "--json", "--debug"]):
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "plaid_link_async", *args, "--base-url", api.url,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
            )  # fmt: skip
            out, err = await process.communicate()
            assert process.returncode == 1
            assert SECRET not in (out + err).decode()
            assert b"***" in err
    body = json.dumps(
        {"link_token": SECRET, "expiration": "2030-01-01T00:00:00Z", "request_id": "r"}
    )
    async with RawServer(always(answer(200, body.encode(), JSON_HEAD))) as api:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "plaid_link_async", "token", "create", "--user-id", "u",
            "--client-name", "A", "--base-url", api.url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        out, err = await process.communicate()
        assert process.returncode == 0, err
        assert SECRET not in (out + err).decode()


async def test_the_progress_bar_has_a_total_and_shows_resumed_rows_as_done(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    users = users_csv(tmp_path / "users.csv", 300)
    output = tmp_path / "tokens.jsonl"
    env = {**os.environ, "PLAID_CLIENT_ID": fake.client_id, "PLAID_SECRET": SECRET}
    args = [
        "batch", "create", "--input", str(users), "--output", str(output),
        "--client-name", "App", "--base-url", fake.url,
    ]  # fmt: skip
    assert (await batch(fake, users_csv(users, 120), output))[0] == 0  # 120 rows done
    users_csv(users, 300)
    code, screen = await asyncio.to_thread(run_on_a_terminal, args, env)
    assert code == 0, screen
    assert "120/300" in screen  # the earlier run's rows, shown as done from the start
    assert "300/300" in screen
    assert "%" in screen  # a percentage, and with it an ETA, from the known total
    assert "300 rows: 180 created, 0 failed, 120 already done" in screen
