"""The fake server in a background thread with its own event loop.

For tests whose code blocks the test's own loop or runs one of its own: FastAPI's
`TestClient`, Django's test client, a sync test. Driven through the control API, with
the same methods as the in-loop fake.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

from ._control_client import FakePlaidControl

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from ._server import FakePlaidServer


class FakePlaidThread(FakePlaidControl):
    """`with FakePlaidThread() as fake:` serves `FakePlaidServer(**options)` from a thread.

    `fake.url` and `fake.client_id` as for the in-loop fake; `inject`, `complete_link`,
    `requests`, `webhook_deliveries`, `reset` and the rest work from any thread.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__("http://127.0.0.1:0")
        self._options = options
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._fake: FakePlaidServer | None = None

    def __repr__(self) -> str:
        return f"<FakePlaidThread {self.url}>"

    @property
    def client_id(self) -> str:
        assert self._fake is not None, "not started"
        return self._fake.client_id

    def __enter__(self) -> Self:
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="fake-plaid", daemon=True)
        self._thread.start()
        self._fake = asyncio.run_coroutine_threadsafe(self._start(), loop).result(30)
        self.url = self._fake.url
        return self

    async def _start(self) -> FakePlaidServer:
        from ._server import FakePlaidServer

        fake = FakePlaidServer(**self._options)
        await fake.start()
        return fake

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        loop, fake, thread = self._loop, self._fake, self._thread
        if loop is None or thread is None:
            return
        if fake is not None:
            asyncio.run_coroutine_threadsafe(fake.close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
        self._loop = self._thread = self._fake = None
