"""Shared fixtures: where the contract is, and hypothesis settings for CI."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = ROOT.parent / "shared" / "spec"
sys.path.insert(0, str(ROOT / "scripts"))
import generate_models  # noqa: E402  (the contract as the generator reads it)

CONTRACT_NAME = "plaid-link-flow-contract-2020-09-14_1.778.0.yml"
#: Regeneration inputs kept beside the contract: the seed's contract, a plain newer
#: slice, and the Link flow as it was at 1.697.4.
REGRESSION_SPEC_NAMES = (
    "plaid-link-contract-2020-09-14_1.517.0.yml",
    "plaid-link-2020-09-14_1.697.4.yml",
    "plaid-link-flow-contract-2020-09-14_1.697.4.yml",
)

#: The campaign tests' fixtures (`redis` with an append-only file, `fake`); a module's
#: own fixture of the same name wins within that module.
pytest_plugins = ["tests._campaigns"]

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
# The quick loop's (`pytest -m "not slow" --hypothesis-profile=quick`): fewer examples
# per property, the same properties. The full run keeps hypothesis's own 100.
settings.register_profile("quick", parent=settings.get_profile("default"), max_examples=10)
settings.load_profile("default")


def contract_path() -> Path | None:
    """The contract: `PLAID_LINK_SPEC` if set, else `../shared/spec/` beside the repo."""
    configured = os.environ.get("PLAID_LINK_SPEC")
    path = Path(configured) if configured else SPEC_DIR / CONTRACT_NAME
    return path if path.is_file() else None


def _load(path: Path) -> dict[str, Any]:
    # As the generator reads it: with the schemas of scripts/contract_supplement.yml.
    data = generate_models.load_spec(path)
    # Through JSON once, as a response would arrive (YAML dates become strings).
    loaded: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return loaded


@pytest.fixture(scope="session")
def spec_path() -> Path:
    path = contract_path()
    if path is None:
        pytest.skip(f"contract not found: set PLAID_LINK_SPEC or put {CONTRACT_NAME} in {SPEC_DIR}")
    return path


@pytest.fixture(scope="session")
def spec(spec_path: Path) -> dict[str, Any]:
    return _load(spec_path)


@pytest.fixture(scope="session", params=REGRESSION_SPEC_NAMES)
def regression_spec_path(request: pytest.FixtureRequest, spec_path: Path) -> Path:
    path: Path = spec_path.parent / request.param
    if not path.is_file():
        pytest.skip(f"regression spec not found beside the contract: {path}")
    return path


@pytest.fixture(scope="session")
def regression_spec(regression_spec_path: Path) -> dict[str, Any]:
    return _load(regression_spec_path)


def response_examples(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(response schema name, example body) for every example of every operation."""
    found = []
    for item in spec["paths"].values():
        for op in item.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            content = op["responses"]["200"]["content"]["application/json"]
            schema = content["schema"]["$ref"].rsplit("/", 1)[-1]
            for example in (content.get("examples") or {}).values():
                found.append((schema, example["value"]))
    return found


@pytest.fixture(params=[True, False], ids=["orjson", "json"])
def speedups(request: pytest.FixtureRequest) -> Iterator[bool]:
    """The test runs twice: with orjson, and with the standard json."""
    from ._helpers import json_mode

    with json_mode(request.param):
        yield request.param
