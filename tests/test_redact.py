"""Masking for reprs and logs."""

from __future__ import annotations

from plaid_link_async._wire._masks import mask_value, preview


def test_credentials_keep_only_their_environment_prefix() -> None:
    assert mask_value("access_token", "access-sandbox-1234-5678") == "access-sandbox-***"
    assert mask_value("public_token", "public-production-abcd") == "public-production-***"
    assert mask_value("secret", "0123456789abcdef") == "***"
    assert mask_value("access_tokens", ["access-development-1", "x"]) == [
        "access-development-***",
        "***",
    ]


def test_preview_masks_nested_keys_and_id_number_values() -> None:
    body = {
        "client_id": "visible",
        "secret": "hidden-secret",
        "user": {
            "client_user_id": "u1",
            "ssn": "123-45-6789",
            "id_number": {"type": "us_ssn", "value": "987654321"},
        },
        "list": [{"access_token": "access-sandbox-zzz"}],
    }
    assert preview(body) == {
        "client_id": "visible",
        "secret": "***",
        "user": {
            "client_user_id": "u1",
            "ssn": "***",
            "id_number": {"type": "us_ssn", "value": "***"},
        },
        "list": [{"access_token": "access-sandbox-***"}],
    }
    assert body["secret"] == "hidden-secret"  # a copy, never the caller's data
