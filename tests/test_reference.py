"""The built API reference shows every model field, with its meaning, and every enum member.

The test command builds the site (`mkdocs build --strict`) before pytest runs, so the
HTML read here is this tree's. Run alone, without a build, the test is skipped.
"""

from __future__ import annotations

import ast
import enum
import html as html_
import inspect
import re

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


def _field_docs() -> dict[str, str]:
    """`Class.field` to the attribute docstring the generator wrote under the field."""
    docs = {}
    for cls in ast.parse(inspect.getsource(models)).body:
        if isinstance(cls, ast.ClassDef):
            for statement, after in zip(cls.body, cls.body[1:], strict=False):
                if (
                    isinstance(statement, ast.AnnAssign)
                    and isinstance(statement.target, ast.Name)
                    and isinstance(after, ast.Expr)
                    and isinstance(after.value, ast.Constant)
                ):
                    docs[f"{cls.name}.{statement.target.id}"] = after.value.value
    return docs


def test_every_field_shows_its_meaning_whether_it_is_required_and_its_default() -> None:
    if not MODELS_PAGE.is_file():
        pytest.skip("the docs are not built here: run `mkdocs build` first")
    page = MODELS_PAGE.read_text(encoding="utf-8")
    docs = _field_docs()
    assert len(docs) == 400
    wrong = []
    for key, doc in docs.items():
        start = page.index(f'id="plaid_link_async.models.{key}"')
        section = page[start : page.index('<div class="doc doc-object', start)]
        text = html_.unescape(re.sub(r"<[^>]+>", "", section))
        cls, name = key.split(".")
        required = attrs.fields_dict(getattr(models, cls))[name].default is attrs.NOTHING
        label = "required" if required else "optional"
        shown = " ".join(text.split())
        # A long line is wrapped as ruff would: `= (None)`.
        default_shown = required or re.search(rf"{name}: .* = (None|\( None \))", shown)
        checks = (doc.replace("`", "") in shown, label in shown, "attrs.field" not in shown)
        if not (all(checks) and default_shown):
            wrong.append(key)
    assert wrong == [], f"{len(wrong)} fields shown wrong, first: {wrong[:5]}"
