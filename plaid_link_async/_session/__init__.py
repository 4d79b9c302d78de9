"""`AsyncLinkSession`: the one request path, its configuration, and the generated coroutines."""
