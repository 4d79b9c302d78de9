"""Webhooks signed as Plaid signs them: an ES256 key pair of the fake's own.

Needs the `webhooks` extra (PyJWT with cryptography), like verification does.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from .._webhooks._keys import ALGORITHM, _require_jwt


@attrs.frozen
class SignedWebhook:
    """A webhook as Plaid would POST it: the raw body and the headers to send with it."""

    body: bytes
    headers: Mapping[str, str]


class WebhookSigner:
    """An ES256 key pair, its JWK as `/webhook_verification_key/get` returns it, and the
    `Plaid-Verification` JWTs it signs."""

    def __init__(self, kid: str | None = None, *, expired_at: int | None = None) -> None:
        _require_jwt()
        from cryptography.hazmat.primitives.asymmetric import ec

        self._private = ec.generate_private_key(ec.SECP256R1())
        self.kid = kid or str(uuid.uuid4())
        self.created_at = int(time.time())
        #: When set (seconds since the epoch), the JWK says the key expired then.
        self.expired_at = expired_at

    def jwk(self) -> dict[str, Any]:
        """The public key as Plaid serves it (`JWKPublicKey`)."""
        jwt = _require_jwt()
        public = jwt.algorithms.ECAlgorithm.to_jwk(self._private.public_key(), as_dict=True)
        return {
            "alg": ALGORITHM,
            "crv": public["crv"],
            "kid": self.kid,
            "kty": public["kty"],
            "use": "sig",
            "x": public["x"],
            "y": public["y"],
            "created_at": self.created_at,
            "expired_at": self.expired_at,
        }

    def token(self, body: bytes, *, iat: float | None = None) -> str:
        """The JWT for `body`: `iat` (now unless given) and the body's SHA-256, signed."""
        jwt = _require_jwt()
        claims = {
            "iat": int(time.time() if iat is None else iat),
            "request_body_sha256": hashlib.sha256(body).hexdigest(),
        }
        token: str = jwt.encode(
            claims, self._private, algorithm=ALGORITHM, headers={"kid": self.kid}
        )
        return token

    def sign(
        self, payload: Mapping[str, Any] | bytes, *, iat: float | None = None
    ) -> SignedWebhook:
        """`payload` (a mapping is serialised as Plaid would) with its headers."""
        body = payload if isinstance(payload, bytes) else json.dumps(dict(payload)).encode()
        return SignedWebhook(
            body,
            {"Content-Type": "application/json", "Plaid-Verification": self.token(body, iat=iat)},
        )
