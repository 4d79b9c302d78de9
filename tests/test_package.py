"""The release artefacts: `python -m build` makes a wheel and an sdist that install in a
fresh virtual environment and work there."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

import plaid_link_async
from plaid_link_async._session._session import USER_AGENT

from .conftest import ROOT

# Processes (the CLI, pytest in pytest, a wheel, Redis): the full run, not the
# quick loop.
pytestmark = pytest.mark.slow

SMOKE = """
import asyncio, sys
import plaid_link_async
from plaid_link_async import AsyncLinkSession, models as m
from plaid_link_async.testing import DEFAULT_SECRET, FakePlaidServer

assert plaid_link_async.__version__ == sys.argv[1], plaid_link_async.__version__
assert "site-packages" in plaid_link_async.__file__, plaid_link_async.__file__

async def main():
    async with FakePlaidServer() as fake:
        async with AsyncLinkSession(fake.client_id, DEFAULT_SECRET, base_url=fake.url) as plaid:
            created = await plaid.link_token_create(m.LinkTokenCreateRequest(
                client_name="Smoke", language="en", country_codes=["US"],
                user=m.LinkTokenCreateRequestUser(client_user_id="u-1"), products=["auth"]))
            assert created.link_token.startswith("link-sandbox-")

asyncio.run(main())
print("smoke ok")
"""


def _run(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_version_is_in_one_place_and_in_the_user_agent() -> None:
    version = plaid_link_async.__version__
    assert f"plaid-link-async/{version} " in USER_AGENT
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject
    assert 'path = "plaid_link_async/_version.py"' in pyproject
    assert f"## [{version}]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", out, ROOT, cwd=out)
    return out


def test_wheel_and_sdist_install_in_a_fresh_venv(dist: Path, tmp_path: Path) -> None:
    version = plaid_link_async.__version__
    wheel = dist / f"plaid_link_async-{version}-py3-none-any.whl"
    sdist = dist / f"plaid_link_async-{version}.tar.gz"
    assert wheel.exists(), sorted(dist.iterdir())
    assert sdist.exists(), sorted(dist.iterdir())

    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    smoke = tmp_path / "smoke.py"
    smoke.write_text(SMOKE, encoding="utf-8")

    _run(python, "-m", "pip", "install", "--quiet", wheel, cwd=tmp_path)
    assert "smoke ok" in _run(python, smoke, version, cwd=tmp_path)
    assert version in _run(env / "bin" / "plaid-link", "--version", cwd=tmp_path)
    installed = _run(python, "-m", "pip", "list", "--format=freeze", cwd=tmp_path)
    names = {line.split("==")[0].lower() for line in installed.splitlines()}
    # The core stays exactly these four (and what they bring), nothing from the extras.
    assert {"aiohttp", "attrs", "cattrs", "tenacity"} <= names
    assert not names & {"tqdm", "fastapi", "mkdocs", "pytest", "plaid-python"}

    # The sdist builds and installs on its own too (dependencies are already there).
    _run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--force-reinstall",
        sdist,
        cwd=tmp_path,
    )
    assert "smoke ok" in _run(python, smoke, version, cwd=tmp_path)
