"""The built API reference shows every model field and enum member.

The test command builds the site (`mkdocs build --strict`) before pytest runs, so the
HTML read here is this tree's. Run alone, without a build, the test is skipped.
"""

from __future__ import annotations

import enum

import attrs
import pytest

from plaid_link_async import Model, models

from .conftest import ROOT

MODELS_PAGE = ROOT / "site" / "reference" / "models" / "index.html"


def test_every_field_member_and_alias_is_in_the_built_models_reference() -> None:
    if not MODELS_PAGE.is_file():
        pytest.skip("the docs are not built here: run `mkdocs build` first")
    html = MODELS_PAGE.read_text(encoding="utf-8")
    expected = []
    for name in models.__all__:
        obj = getattr(models, name)
        expected.append(f"plaid_link_async.models.{name}")
        if isinstance(obj, type) and issubclass(obj, Model):
            expected += [
                f"plaid_link_async.models.{name}.{field.name}"
                for field in attrs.fields(obj)
                if field.name != "extra"
            ]
        elif isinstance(obj, type) and issubclass(obj, enum.Enum):
            expected += [f"plaid_link_async.models.{name}.{member.name}" for member in obj]
    missing = [anchor for anchor in expected if f'id="{anchor}"' not in html]
    assert missing == [], f"{len(missing)} of {len(expected)} missing, first: {missing[:5]}"
    assert len(expected) > 900  # 173 schemas, their fields and members
    # Classes come before the aliases, which a reader looks up least.
    assert html.index('id="plaid_link_async.models.LinkTokenCreateRequest"') < html.index(
        'id="plaid_link_async.models.RequestID"'
    )
