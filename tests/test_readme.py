"""CI runs exactly the README's test command."""

from __future__ import annotations

import re

from .conftest import ROOT


def _commands(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)


def test_ci_runs_the_readmes_test_command_verbatim() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    test_command = next(c for c in _commands(readme) if "mypy --strict" in c)
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci_lines
    for part in (
        "ruff check",
        "ruff format --check",
        "mypy --strict",
        "mkdocs build --strict",
        "pytest -W error",
    ):
        assert part in test_command
