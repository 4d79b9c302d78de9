"""The session's webhook verification: its `WebhookVerifier`, fetching Plaid's keys
through the session's own `webhook_verification_key_get`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from ._api import EndpointMethods
from ._converter import to_dict
from ._retry import RetryPolicy

if TYPE_CHECKING:
    from ._model_base import Model
    from ._webhook_parsing import UnknownWebhook
    from ._webhook_verifier import WebhookVerifier

#: A webhook refused for a key that could not be fetched is delivered again by Plaid,
#: and retries here would multiply a forged flood.
_ONE_ATTEMPT: Final = RetryPolicy(max_attempts=1)


class WebhookMethods(EndpointMethods):
    """`webhooks` and `verify_webhook`, for `AsyncLinkSession`."""

    if TYPE_CHECKING:
        strict: bool
        _webhooks: WebhookVerifier | None

    @property
    def webhooks(self) -> WebhookVerifier:
        """The verifier `verify_webhook` uses: Plaid's keys, fetched through this session
        and cached by key id. Its `max_age`, `leeway` and `clock` may be changed."""
        verifier = self._webhooks
        if verifier is None:
            from ._webhook_verifier import WebhookVerifier  # PyJWT only where webhooks are verified

            verifier = self._webhooks = WebhookVerifier(self._fetch_webhook_key)
        return verifier

    @webhooks.setter
    def webhooks(self, verifier: WebhookVerifier) -> None:
        self._webhooks = verifier

    def _share_webhook_keys(self) -> None:
        # Made now, so that a view from `with_options` shares its key cache.
        self.webhooks  # noqa: B018

    async def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], *, strict: bool | None = None
    ) -> Model | UnknownWebhook:
        """Verify a webhook's `Plaid-Verification` JWT, then parse it.

        Args:
            body: the request body exactly as received (raw bytes, not re-serialised).
            headers: the request's headers; the header name is matched in any case.
            strict: raise `InvalidWebhookError` naming the field on any drift (None:
                the session's `strict`, as for calls).

        Returns:
            The webhook's model (`ItemAddResultWebhook`, `LinkSessionFinishedWebhook`,
            ...), or an `UnknownWebhook` for a type or code newer than these models.

        Raises:
            WebhookVerificationError: it is not proven Plaid's; `reason` says why.
            InvalidWebhookError: verified, but not a JSON object (or, read strictly,
                it breaks the contract).
        """
        strict = self.strict if strict is None else strict
        return await self.webhooks.verify(body, headers, strict=strict)

    async def _fetch_webhook_key(self, key_id: str) -> Mapping[str, Any]:
        from .models import WebhookVerificationKeyGetRequest

        # One attempt (see _ONE_ATTEMPT). Strict: a key is no place for drift (an
        # `expired_at` that is no time would read None, "never expires").
        answer = await self.webhook_verification_key_get(
            WebhookVerificationKeyGetRequest(key_id=key_id), retry=_ONE_ATTEMPT, strict=True
        )
        return to_dict(answer.key)
