"""Beyond one process: one Plaid rate limit for every process that shares a client id.

Needs the `fleet` extra (`pip install 'plaid-link-async[fleet]'`: `limits` and the
`redis` client); nothing here is imported unless it is used.
"""

from __future__ import annotations

from ._shared import SharedRateLimit

__all__ = ["SharedRateLimit"]
