"""The call path below the session: settings, routes, the request's body, pacing, retry
policy and what must never be sent twice, reading answers, hooks, logs and spans."""
