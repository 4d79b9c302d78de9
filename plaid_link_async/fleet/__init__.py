"""Beyond one process: one Plaid rate limit for every process that shares a client id,
and Link campaigns run by workers on a saq queue.

Needs the `fleet` extra (`pip install 'plaid-link-async[fleet]'`: saq and the `redis`
client); nothing here is imported unless it is used.
"""

from __future__ import annotations

from ._campaign_faces import (
    campaign_results,
    campaign_status,
    campaigns,
    cancel_campaign,
    delete_campaign,
    retry_campaign,
    start_campaign,
)
from ._errors import CampaignError, CampaignLost, UnknownDelivery
from ._shared import SharedRateLimit
from ._worker import CampaignWorker, link_row, worker_settings

__all__ = [
    "CampaignError",
    "CampaignLost",
    "CampaignWorker",
    "SharedRateLimit",
    "UnknownDelivery",
    "campaign_results",
    "campaign_status",
    "campaigns",
    "cancel_campaign",
    "delete_campaign",
    "link_row",
    "retry_campaign",
    "start_campaign",
    "worker_settings",
]
