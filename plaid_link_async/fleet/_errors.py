"""What campaigns raise, and what they record for a row that was not delivered."""

from __future__ import annotations

from .._errors._exceptions import PlaidLinkError


class CampaignError(PlaidLinkError, ValueError):
    """A campaign cannot be started, read or changed as asked; nothing was enqueued."""


class CampaignLost(PlaidLinkError):
    """The campaign's records are gone from Redis (a Redis that lost its data, or
    evicted keys): it is stopped rather than fed or delivered again, since nothing
    tells any more which users were already texted."""


class UnknownDelivery(PlaidLinkError):
    """A delivery whose worker stopped mid-call: it may have been sent, so it is not sent
    again. Check the user's Link webhooks before sending them another."""
