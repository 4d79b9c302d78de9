"""Link webhooks: parsed into their models (`_webhook_parsing`), and verified as Plaid
signs them (`_webhook_verifier`, with the keys in `_webhook_keys`). One name to
import them all from, loaded on first use by the package (PEP 562)."""

from ._webhook_errors import InvalidWebhookError, WebhookRejection, WebhookVerificationError
from ._webhook_keys import ALGORITHM, KeyFetcher, _Key
from ._webhook_parsing import (
    MAX_WEBHOOK_BYTES,
    WEBHOOK_READ_SECONDS,
    UnknownWebhook,
    WebhookReading,
    parse_webhook,
    read_webhook,
)
from ._webhook_verifier import HEADER, WebhookVerifier

__all__ = [
    "ALGORITHM",
    "HEADER",
    "MAX_WEBHOOK_BYTES",
    "WEBHOOK_READ_SECONDS",
    "InvalidWebhookError",
    "KeyFetcher",
    "UnknownWebhook",
    "WebhookReading",
    "WebhookRejection",
    "WebhookVerificationError",
    "WebhookVerifier",
    "_Key",
    "parse_webhook",
    "read_webhook",
]
