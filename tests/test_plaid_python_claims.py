"""What docs/migrating.md says plaid-python 46 does, checked against plaid-python 46
itself (a dev dependency), each claim against its own sentence in the page."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from plaid_link_async.testing import FakePlaidThread

from .conftest import ROOT, contract_path
from .strategies import json_values

plaid = pytest.importorskip("plaid")
from plaid.api import plaid_api  # noqa: E402
from plaid.api_client import ApiClient  # noqa: E402
from plaid.configuration import Configuration  # noqa: E402
from plaid.model.link_token_create_response import LinkTokenCreateResponse  # noqa: E402
from plaid.model.link_token_get_response import LinkTokenGetResponse  # noqa: E402

from ._helpers import examples  # noqa: E402

GUIDE = (ROOT / "docs" / "migrating.md").read_text()


def test_it_is_plaid_python_46() -> None:
    assert plaid.__version__ == "46.0.0"
    assert "plaid-python 46" in GUIDE


def _example(path: str) -> dict[str, Any]:
    spec_path = contract_path()
    if spec_path is None:
        pytest.skip("contract not found")
    spec = yaml.safe_load(spec_path.read_text())
    examples = spec["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]
    value: dict[str, Any] = next(iter(examples["examples"].values()))["value"]
    return value


def test_a_model_from_the_specs_own_example_raises_and_loads_only_unchecked() -> None:
    assert "`LinkTokenGetResponse(**data)` raises `ApiTypeError`" in GUIDE
    data = _example("/link/token/get")
    with pytest.raises(plaid.ApiTypeError):
        LinkTokenGetResponse(**data)
    loose = LinkTokenGetResponse(**data, _check_type=False)
    assert isinstance(loose.metadata, dict)  # nested objects stay dicts


def _deserialize(body: Any, cls: Any) -> Any:
    class Answer:
        status = 200
        data = json.dumps(body).encode()

        def getheaders(self) -> dict[str, str]:
            return {}

        def getheader(self, name: str, default: Any = None) -> Any:
            return default

    return ApiClient(Configuration()).deserialize(Answer(), (cls,), True)


def test_a_date_time_without_an_offset_is_a_naive_datetime_there() -> None:
    assert "naive `datetime` in plaid-python" in GUIDE
    body = {"link_token": "x", "expiration": "2026-01-01T00:00:00", "request_id": "r"}
    assert _deserialize(body, LinkTokenCreateResponse).expiration.tzinfo is None


def test_credentials_go_as_headers_not_in_the_body() -> None:
    assert "`PLAID-CLIENT-ID` and `PLAID-SECRET` headers, as here" in GUIDE
    from plaid.model.country_code import CountryCode
    from plaid.model.link_token_create_request import LinkTokenCreateRequest
    from plaid.model.link_token_create_request_user import LinkTokenCreateRequestUser
    from plaid.model.products import Products

    with FakePlaidThread() as fake:
        config = Configuration(
            host=fake.url, api_key={"clientId": fake.client_id, "secret": "test-secret"}
        )
        with ApiClient(config) as client:
            plaid_api.PlaidApi(client).link_token_create(
                LinkTokenCreateRequest(
                    client_name="A",
                    language="en",
                    country_codes=[CountryCode("US")],
                    user=LinkTokenCreateRequestUser(client_user_id="u"),
                    products=[Products("auth")],
                )
            )
        [request] = fake.requests_for("link_token_create")
    assert {"client_id", "secret"}.isdisjoint(request.body)
    headers = {name.lower() for name in request.headers}
    assert {"plaid-client-id", "plaid-secret"} <= headers


def test_a_refused_connection_is_retried_by_urllib3() -> None:
    assert "urllib3 retries a refused connection" in GUIDE
    import urllib3

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = Configuration(
        host=f"http://127.0.0.1:{port}", api_key={"clientId": "c", "secret": "s"}
    )
    assert config.retries is None  # so urllib3's default, Retry(3): 4 tries
    assert urllib3.Retry.DEFAULT.total == 3
    from plaid.model.link_token_get_request import LinkTokenGetRequest

    request = LinkTokenGetRequest(link_token="x")
    with ApiClient(config) as client:
        api = plaid_api.PlaidApi(client)
        with pytest.raises(urllib3.exceptions.MaxRetryError):
            api.link_token_get(request)


def test_the_removed_endpoints_are_not_there() -> None:
    assert "are here and not in plaid-python 46" in GUIDE
    for name in ("link_delivery_create", "link_delivery_get", "link_profile_eligibility_check"):
        assert not hasattr(plaid_api.PlaidApi, name)
    assert hasattr(plaid_api.PlaidApi, "link_token_create")


@settings(max_examples=examples(150))
@given(
    body=st.dictionaries(st.sampled_from(["link_token", "expiration", "request_id"]), json_values)
)
def test_a_malformed_body_raises_one_of_the_errors_the_guide_names(body: dict[str, Any]) -> None:
    try:
        _deserialize(body, LinkTokenCreateResponse)
    except Exception as error:
        assert type(error).__name__ in ("ApiTypeError", "ApiValueError", "TypeError"), error
    assert "`ApiTypeError`, `ApiValueError` or `TypeError`" in GUIDE
