"""The texts and emails the fake plays sending for Hosted Link deliveries."""

from __future__ import annotations

import collections
from typing import Final

import attrs

#: The most messages kept; the oldest go first, so a long-running fake stays bounded.
MAX_MESSAGES: Final = 100_000


@attrs.frozen
class SentMessage:
    """One Hosted Link text or email the fake would have sent: for a token created with
    `hosted_link.delivery_method`, or a `/link_delivery/create` call."""

    method: str  # "sms" or "email"
    to: str | None  # the phone number or email address; None if the request named none
    client_user_id: str | None
    link_token: str
    hosted_link_url: str
    sent_at: str


class Outbox:
    """The messages sent so far, oldest first, at most `MAX_MESSAGES` of them."""

    def __init__(self) -> None:
        self._sent: collections.deque[SentMessage] = collections.deque(maxlen=MAX_MESSAGES)

    def send(self, message: SentMessage) -> None:
        self._sent.append(message)

    def sent(self) -> list[SentMessage]:
        return list(self._sent)

    def clear(self) -> None:
        self._sent.clear()
