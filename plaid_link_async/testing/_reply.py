"""`PlaidReply`: how the simulated Plaid refuses a request, as Plaid's error body."""

from __future__ import annotations


class PlaidReply(Exception):
    """Plaid's answer to a request it refuses: the HTTP status and its error body."""

    def __init__(self, status: int, error_type: str, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.error_code = error_code
        self.message = message
