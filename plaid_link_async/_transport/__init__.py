"""The transport seam (`Transport`, `TransportRequest`, `TransportResponse`) and the default,
aiohttp-backed `AiohttpTransport`: the only room that touches aiohttp's client."""
