"""The built API reference shows every model field, with its meaning, and every enum member.

The test command builds the site (`mkdocs build --strict`) before pytest runs, so the
HTML read here is this tree's. Run alone, without a build, the test is skipped.
"""

from __future__ import annotations

import enum
import html as html_
import inspect
import re
import sys

import attrs
import pytest

from plaid_link_async import Model, models

from ._helpers import attribute_docstrings
from .conftest import ROOT

SITE = ROOT / "site" / "reference"
sys.path.insert(0, str(ROOT / "scripts"))


def _built(page: str) -> str:
    path = SITE / page / "index.html"
    if not path.is_file():
        pytest.skip("the docs are not built here: run `mkdocs build` first")
    return path.read_text(encoding="utf-8")


def _models_pages() -> str:
    """Every page of the models reference, in the order the site's menu gives them."""
    from model_reference import pages

    return "".join(_built(f"models/{stem}") for stem in ["", *pages()])


def test_the_models_reference_pages_are_current() -> None:
    from model_reference import main

    assert main(["--check"]) == 0, "run: python scripts/model_reference.py"


def test_the_models_reference_starts_with_the_link_flow() -> None:
    first = _built("models/link_token_create")
    assert first.index('id="plaid_link_async.models.LinkTokenCreateRequest"') < first.index(
        'id="plaid_link_async.models.LinkTokenCreateResponse"'
    )
    assert len(first) < 600_000  # one page was 1.3 MB, opening with Consumer Report


def test_every_field_member_and_alias_is_in_the_built_models_reference() -> None:
    html = _models_pages()
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
    assert len(expected) > 900  # 205 schemas, their fields and members
    # Classes come before the aliases, which a reader looks up least.
    assert html.index('id="plaid_link_async.models.LinkTokenCreateRequest"') < html.index(
        'id="plaid_link_async.models.RequestID"'
    )


def test_every_field_shows_its_meaning_whether_it_is_required_and_its_default() -> None:
    page = _models_pages()
    docs = attribute_docstrings(models)
    assert len(docs) == 512 + 11  # the contract's fields, and the supplement's
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


def _documented_attributes(cls: type) -> dict[str, type]:
    """Each public attribute and property of `cls` and the class of ours defining it."""
    found: dict[str, type] = {}
    for owner in reversed(cls.__mro__):
        if not owner.__module__.startswith("plaid_link_async"):
            continue
        for name in getattr(owner, "__annotations__", {}):
            found.setdefault(name, owner)
        for name, value in vars(owner).items():
            if isinstance(value, property) and not name.startswith("_"):
                found.setdefault(name, owner)
    return found


def test_every_attribute_of_every_exception_is_in_the_reference() -> None:
    import plaid_link_async as package

    pages = _built("errors") + _built("webhooks")
    errors = [
        getattr(package, name)
        for name in package.__all__
        if isinstance(getattr(package, name), type)
        and issubclass(getattr(package, name), BaseException)
    ]
    assert len(errors) == 19
    missing = [
        f"{owner.__name__}.{name}"
        for cls in errors
        for name, owner in _documented_attributes(cls).items()
        if f'id="plaid_link_async.{owner.__name__}.{name}"' not in pages
    ]
    assert missing == []
    # Nothing an exception sets on itself escapes that list.
    samples = [
        package.UnexpectedResponseError("m", model="M", status=502),
        package.PlaidTimeoutError("m", connecting=True),
        package.PlaidAPIError(
            models.PlaidError(
                error_type="X", error_code="Y", error_message="m", display_message=None
            ),
            status=400,
        ),
        package.RequestValidationError("M", []),
        package.WebhookVerificationError(package.WebhookRejection.BAD_SIGNATURE, "m"),
        package.AmbiguousOutcomeError(package.TransportError("m"), check="c", endpoint="e"),
    ]
    for sample in samples:
        assert set(vars(sample)) <= set(_documented_attributes(type(sample))), type(sample)


def test_the_session_reference_shows_its_signature_defaults_and_every_endpoint() -> None:
    from plaid_link_async import AsyncLinkSession
    from plaid_link_async._schema._operations import ENDPOINTS
    from plaid_link_async._session._session import DEFAULT_MAX_RESPONSE_BYTES

    page = _built("session")
    text = " ".join(html_.unescape(re.sub(r"<[^>]+>", "", page)).split())
    for shown in (
        "allow_insecure_http: bool = False",
        "max_response_bytes: int = 2 * 1024 * 1024",
        "timeout: float | Timeout | None = None",
        "Timeout( total: float = 60.0, attempt: float = 20.0, connect: float = 10.0, )",
    ):
        assert shown in text, shown
    assert "DEFAULT_" not in text
    default = inspect.signature(AsyncLinkSession).parameters["max_response_bytes"].default
    assert default == DEFAULT_MAX_RESPONSE_BYTES
    for name in [*ENDPOINTS, "aclose", "close", "with_options", "with_raw_response", "closed"]:
        assert f'id="plaid_link_async.AsyncLinkSession.{name}"' in page, name


def test_no_default_in_the_reference_is_a_name_the_reader_cannot_import() -> None:
    import plaid_link_async
    import plaid_link_async.testing

    pages = sorted(SITE.glob("*/index.html"))
    if not pages:
        pytest.skip("the docs are not built here: run `mkdocs build` first")
    exported = {*plaid_link_async.__all__, *plaid_link_async.testing.__all__}
    hidden = []
    for page in pages:
        text = html_.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))
        hidden += [
            f"{page.parent.name}: {name}"
            for name in re.findall(r"= ([A-Z][A-Z0-9_]{2,})\b", text)
            if name not in exported
        ]
    assert hidden == []


def test_the_two_batch_entry_points_start_from_the_same_concurrency() -> None:
    from plaid_link_async import AsyncLinkSession, create_link_tokens

    defaults = {
        inspect.signature(function).parameters["concurrency"].default
        for function in (create_link_tokens, AsyncLinkSession.link_token_create_many)
    }
    assert defaults == {32}
