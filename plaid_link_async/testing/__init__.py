"""Test against Plaid without Plaid: the fake server, its faults, and the pytest plugin.

    async with FakePlaidServer() as fake:
        fake.inject("link_token_create", Fault.rate_limit(retry_after=1))
        async with AsyncLinkSession(fake.client_id, "test-secret", base_url=fake.url) as plaid:
            ...

With this package installed, pytest also offers the `fake_plaid` and `plaid_session`
fixtures. `python -m plaid_link_async.testing` serves the fake from the command line.
"""

from ._control_client import FakePlaidControl
from ._deliveries import WebhookDelivery, WebhookFault, WebhookFaultKind
from ._faults import Fault, FaultKind
from ._messages import SentMessage
from ._mock_transport import MockTransport
from ._plaid import SimulatedPlaid
from ._process import FakePlaidProcess, fake_server_process
from ._reply import PlaidReply
from ._server import (
    ANY_ENDPOINT,
    DEFAULT_CLIENT_ID,
    DEFAULT_SECRET,
    FakePlaidServer,
    LinkCompletion,
    RecordedRequest,
)
from ._signing import SignedWebhook, WebhookSigner
from ._thread import FakePlaidThread

__all__ = [
    "ANY_ENDPOINT",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_SECRET",
    "FakePlaidControl",
    "FakePlaidProcess",
    "FakePlaidServer",
    "FakePlaidThread",
    "Fault",
    "FaultKind",
    "LinkCompletion",
    "MockTransport",
    "PlaidReply",
    "RecordedRequest",
    "SentMessage",
    "SignedWebhook",
    "SimulatedPlaid",
    "WebhookDelivery",
    "WebhookFault",
    "WebhookFaultKind",
    "WebhookSigner",
    "fake_server_process",
]
