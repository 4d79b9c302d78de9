"""CSV input: no row is ever made from text inside another row's field.

Records are cut where the csv module itself ends one (a line end outside quotes), then
parsed one at a time, so a bad record is that row's error and reading goes on at the
next true record boundary. Checked on the issue's case through the real CLI, and as
properties over generated files.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plaid_link_async._cli._records import (
    MAX_FIELD_CHARS,
    MAX_LINE_BYTES,
    InputError,
    _advance,
    _csv_split,
    _Lines,
    read_records,
)
from plaid_link_async.testing import FakePlaidServer

from ._helpers import examples
from .test_cli import lines
from .test_cli_journal import batch, created_rows
from .test_cli_journal import fake as fake  # the fixture

_QUOTED = 2


def records(path: Path) -> list[tuple[int, str | None, str | None]]:
    return [(record.number, record.user_id, record.problem) for record in read_records(path)]


async def test_a_huge_multiline_field_is_one_bad_row_and_the_next_row_survives(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    # The issue's file: row 2's quoted field holds 20,000 lines (over 128 KiB).
    inside = "\n".join(f"line {n}" for n in range(1, 20_001))
    users = tmp_path / "users.csv"
    users.write_text(f'user_id,client_name\nu1,App\nu2,"{inside}"\nu3,App\n')
    output = tmp_path / "tokens.jsonl"
    code, err = await batch(fake, users, output)
    assert code == 1
    assert "row 2: not CSV: field larger than field limit" in err
    assert "3 rows: 2 created, 1 failed" in err
    assert created_rows(output) == [1, 3]
    sent = [request.body["user"]["client_user_id"] for request in fake.requests]
    assert sorted(sent) == ["u1", "u3"]
    assert [r["user_id"] for r in sorted(lines(output), key=lambda r: r["row"])] == [
        "u1",
        None,
        "u3",
    ]


async def test_a_quote_never_closed_refuses_the_input_before_sending(
    fake: FakePlaidServer, tmp_path: Path
) -> None:
    users = tmp_path / "users.csv"
    users.write_text('user_id\nu1\nu2,"oops\nu3\nu4\n')
    code, err = await batch(fake, users, tmp_path / "tokens.jsonl")
    assert code == 2
    assert "line 3 opens a quoted field that is never closed" in err
    assert "Nothing was sent" in err
    assert fake.requests == []


def test_a_record_over_the_line_limit_is_skipped_to_its_true_end(tmp_path: Path) -> None:
    # Many short lines inside quotes, 1.5 MiB in all, with quotes and commas inside.
    inside = '"",x\n' * (3 * MAX_LINE_BYTES // 10)
    users = tmp_path / "users.csv"
    users.write_text(f'user_id\nu1\n"{inside}"\nu3\n')
    found = records(users)
    assert [(n, user) for n, user, _ in found] == [(1, "u1"), (2, None), (3, "u3")]
    assert "is over 1,048,576 characters" in (found[1][2] or "")


def test_one_over_long_line_inside_quotes_keeps_the_quote_state(tmp_path: Path) -> None:
    users = tmp_path / "users.csv"
    # The closing quote is inside a line that is never read whole.
    long_line = "y" * (MAX_LINE_BYTES + 10) + '", tail\n'
    users.write_text(f'user_id,note\nu1,"start\n{long_line}u3,ok\n')
    found = records(users)
    assert [(n, user) for n, user, _ in found] == [(1, None), (2, "u3")]
    assert "is over 1,048,576 bytes" in (found[0][2] or "")


# -- properties -------------------------------------------------------------------------------

_plain = st.text(alphabet='abc xyz,"\n\r', max_size=30)  # the writer quotes \r and \n


@settings(max_examples=examples(300))
@given(st.lists(st.lists(_plain, min_size=1, max_size=4), min_size=1, max_size=6))
def test_the_cut_agrees_with_the_csv_module_on_well_formed_files(
    rows: list[list[str]],
) -> None:
    # Whatever the fields hold, the csv module's writer quotes them; cutting first and
    # parsing each record must give exactly what one reader over the file gives.
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    text = buffer.getvalue()
    expected = [row for row in csv.reader(io.StringIO(text, newline="")) if row]
    cut = [
        next(csv.reader(texts), [])
        for _, texts, problem in _csv_split(
            Path("x.csv"), _Lines(io.BytesIO(text.encode()), "utf-8")
        )
        if problem is None and texts is not None and "".join(texts).strip("\r\n")
    ]
    assert cut == expected


def test_the_quote_state_carries_across_pieces() -> None:
    text = 'a,"b ""c"", d\ne",f,"g"h,i"j\n'
    whole = _advance(0, text)
    for cut in range(len(text)):
        assert _advance(_advance(0, text[:cut]), text[cut:]) == whole, cut


@settings(max_examples=examples(120))
@given(
    good=st.lists(st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True), min_size=1, max_size=6),
    bad_at=st.integers(0, 6),
    bad_lines=st.integers(1, 400),
    line_size=st.sampled_from([1, 50, 400, 5000]),
    inner=st.sampled_from(["", ",", '""', "u9,App", 'x","y']),
)
def test_no_user_id_comes_from_inside_another_rows_field(
    tmp_path_factory: pytest.TempPathFactory,
    good: list[str],
    bad_at: int,
    bad_lines: int,
    line_size: int,
    inner: str,
) -> None:
    # A quoted multi-line field of any size (small, or over the field limit), with
    # things that look like rows inside it, among good rows.
    body = "\n".join(f"{'z' * line_size}{inner}fake{n}" for n in range(bad_lines))
    rows = [f"{user},App\n" for user in good]
    rows.insert(min(bad_at, len(rows)), f'bad,"{body}"\n')
    path = tmp_path_factory.mktemp("csv") / "users.csv"
    path.write_text("user_id,client_name\n" + "".join(rows))
    found = records(path)
    assert len(found) == len(rows)
    users = [user for _, user, problem in found if problem is None]
    assert set(users) <= {*good, "bad"}
    assert [user for user in users if user != "bad"] == good
    # The bad row is one row, where it stands: read, or that row's error (too big, or
    # its inner quotes closed the field early and left too many fields).
    position = min(bad_at, len(good))
    assert found[position][1] in ("bad", None)
    if '"' not in inner and len(body) > MAX_FIELD_CHARS:
        assert found[position][2] is not None


def test_a_header_that_is_not_csv_is_refused(tmp_path: Path) -> None:
    users = tmp_path / "users.csv"
    users.write_text('user_id,"x\n')
    with pytest.raises(InputError, match="never closed"):
        records(users)
