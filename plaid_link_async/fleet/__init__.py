"""Beyond one process: one Plaid rate limit for every process that shares a client id,
and Link campaigns run by workers on a saq queue.

Needs the `fleet` extra (`pip install 'plaid-link-async[fleet]'`: saq and the `redis`
client); nothing here is imported unless it is used.
"""

from __future__ import annotations

from ._campaign import CampaignError, UnknownDelivery, link_row, worker_settings
from ._campaign_faces import campaign_results, campaign_status, cancel_campaign, start_campaign
from ._shared import SharedRateLimit

__all__ = [
    "CampaignError",
    "SharedRateLimit",
    "UnknownDelivery",
    "campaign_results",
    "campaign_status",
    "cancel_campaign",
    "link_row",
    "start_campaign",
    "worker_settings",
]
