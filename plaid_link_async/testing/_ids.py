"""The fake's ids and clock: Plaid-shaped request ids and whole-second UTC times."""

from __future__ import annotations

import datetime
import random
import string
from typing import Final

_ID_ALPHABET: Final = string.ascii_letters + string.digits


def request_id(length: int = 15) -> str:
    return "".join(random.choices(_ID_ALPHABET, k=length))


def now() -> datetime.datetime:
    # Whole seconds, as Plaid writes its timestamps.
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
