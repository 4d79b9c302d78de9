"""The documentation: every complete program in it runs, and every public name has a page.

A code block is a complete program when it compiles as a module and its first line
is an import; the others (lines to put in your own coroutine, shell commands) are
fragments. Each program runs in its own process against the fake Plaid server, found
through the PLAID_* variables, as a reader would run it.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

import plaid_link_async
import plaid_link_async.testing
from plaid_link_async.testing import FakePlaidServer

from ._helpers import program_env
from .conftest import ROOT

# Processes (the CLI, pytest in pytest, a wheel, Redis): the full run, not the
# quick loop.
pytestmark = pytest.mark.slow

PAGES = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _is_program(code: str) -> bool:
    try:
        compile(code, "<docs>", "exec")
    except SyntaxError:  # top-level await: lines for the reader's own coroutine
        return False
    return code.startswith(("import ", "from "))


RECIPES = [
    (code.split("\n", 1)[0].removeprefix("# recipe:").strip(), code)
    for page in PAGES
    for code in _BLOCK.findall(page.read_text(encoding="utf-8"))
    if code.startswith("# recipe:")
]


def test_the_testing_page_has_its_recipes() -> None:
    assert [name for name, _ in RECIPES] == [
        "test_mock_transport.py",
        "test_link_completion.py",
        "test_fastapi_testclient.py",
        "test_fastapi_asgi.py",
        "test_aiohttp_app.py",
        "test_django_async_views.py",
        "test_fastapi_real_server.py",
    ]


@pytest.mark.parametrize(("name", "code"), RECIPES, ids=[name for name, _ in RECIPES])
def test_every_recipe_passes_with_pytest(pytester: pytest.Pytester, name: str, code: str) -> None:
    # The recipes import the repository's examples as a user's app.
    examples = ROOT / "examples"
    pytester.makepyfile(
        myapp=(examples / "fastapi_app.py").read_text(encoding="utf-8"),
        myaiohttpapp=(examples / "aiohttp_app.py").read_text(encoding="utf-8"),
        mydjangoapp=(examples / "django_app.py").read_text(encoding="utf-8"),
    )
    pytester.makepyfile(**{name.removesuffix(".py"): code})
    pytester.makeini(
        "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
    )
    result = pytester.runpytest_subprocess("-W", "error", "-q", name)
    result.assert_outcomes(passed=code.count("\ndef test_") + code.count("\nasync def test_"))


def test_the_docs_programs_pass_mypy_strict(tmp_path: Path) -> None:
    # The docs' idioms must type-check as users' code would: `if result.ok:` narrowing
    # a batch result, the models' fields, the session's calls.
    from mypy import api

    files = []
    for number, (_, code) in enumerate(PROGRAMS):
        path = tmp_path / f"program_{number}.py"
        path.write_text(code, encoding="utf-8")
        files.append(str(path))
    out, err, status = api.run(["--strict", "--no-incremental", *files])
    assert status == 0, out + err


def _programs() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        blocks = _BLOCK.findall(page.read_text(encoding="utf-8"))
        programs = [code for code in blocks if _is_program(code)]
        for number, code in enumerate(programs, start=1):
            found.append((f"{page.relative_to(ROOT)}#{number}", code))
    return found


PROGRAMS = _programs()
pytest_plugins = ["pytester"]


def test_the_docs_have_programs_to_run() -> None:
    pages = {name.split("#")[0] for name, _ in PROGRAMS}
    assert {"README.md", "docs/quickstart.md", "docs/batch.md", "docs/testing.md"} <= pages


@pytest.mark.parametrize(("name", "code"), PROGRAMS, ids=[name for name, _ in PROGRAMS])
async def test_program_runs_against_the_fake_server(name: str, code: str, tmp_path: Path) -> None:
    async with FakePlaidServer() as fake:
        program = tmp_path / "program.py"
        program.write_text(code, encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(program),
            cwd=tmp_path,
            env=program_env(fake),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, f"{name} failed:\n{err.decode()}"
    assert b"Traceback" not in err


def _reference_names() -> set[str]:
    pages = (ROOT / "docs/reference").rglob("*.md")
    text = "\n".join(page.read_text(encoding="utf-8") for page in pages)
    return set(re.findall(r"^::: ([\w.]+)", text, flags=re.M))


@pytest.mark.parametrize(
    ("module", "prefix"),
    [
        (plaid_link_async, "plaid_link_async."),
        (plaid_link_async.testing, "plaid_link_async.testing."),
    ],
)
def test_the_api_reference_covers_every_public_name(module: object, prefix: str) -> None:
    documented = _reference_names()
    missing = [name for name in module.__all__ if prefix + name not in documented]  # type: ignore[attr-defined]
    assert not missing, f"add to docs/reference/: {missing}"
    # Every model, on the generated pages (the models module itself has no page).
    assert {f"plaid_link_async.models.{name}" for name in plaid_link_async.models.__all__} <= (
        documented
    )


def test_every_page_is_in_the_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in (ROOT / "docs").rglob("*.md"):
        assert str(page.relative_to(ROOT / "docs")) in nav, page
