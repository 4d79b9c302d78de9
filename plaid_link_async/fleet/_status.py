"""What a campaign is doing, read from Redis: counts, workers alive, the achieved rate,
429s, rows held by dead workers, an ETA; and the list of campaigns.

Every figure here is read, never kept: `campaign status` may run anywhere, any time.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any, Final

from ._errors import CampaignError
from ._records import BUCKET_SECONDS, INDEX, MAYBE_SENT, CampaignRecords, workers_key
from ._shared import COUNT_BUCKET_SECONDS
from ._worker import JOB_HEARTBEAT, WORKER_ALIVE_FOR

#: The window of the achieved rate and of the 429s counted, in seconds.
WINDOW: Final = 60
#: How often workers sweep by default: a dead worker's row comes back within its
#: heartbeat and one sweep.
SWEEP_SECONDS: Final = 10


async def campaign_state(redis: Any, queue: Any, name: str) -> dict[str, Any]:
    """Campaign `name`'s figures, as `campaign status --json` prints them.

    Raises:
        CampaignError: there is no such campaign.
    """
    records = CampaignRecords(redis, name)
    meta = await records.meta_fields()
    if not meta:
        raise CampaignError(f"no campaign {name!r}")
    now = time.time()
    client_id = meta.get("client_id", "")
    done, failed, fed = (int(meta.get(key, 0)) for key in ("done", "failed", "fed"))
    rows = _int(meta.get("total")) or _int(meta.get("expected"))
    rate = float(meta.get("rate", 0)) or None
    done_keys = [records.done_key(b) for b in _buckets(now, BUCKET_SECONDS)]
    # Over the last minute, the current bucket included, or since the campaign began.
    span = min(WINDOW + now % BUCKET_SECONDS, now - float(meta.get("created") or 0))
    achieved = await _count(redis, done_keys) / max(span, 1.0)
    limited = await _count(
        redis,
        [f"plaid-link:{client_id}:link_token_create:429s:{b}"
         for b in _buckets(now, COUNT_BUCKET_SECONDS)],
    )  # fmt: skip
    workers = await live_workers(redis, client_id, now)
    held, back_in = await _held_by_dead(queue, name, now)
    state = meta.get("state")
    warnings = []
    if state in ("feeding", "fed") and not workers:
        warnings.append(
            f"no live worker for client id {client_id}: start `plaid-link worker` with "
            "its credentials"
        )
    left = (rows if rows is not None else fed) - done
    eta = round(left / achieved) if achieved and left > 0 and state in ("feeding", "fed") else None
    ttl = await redis.ttl(records.meta)
    return {
        "campaign": name,
        "client_id": client_id,
        "state": state,
        "rows": rows,
        "fed": fed,
        "done": done,
        "failed": failed,
        "failed_by_kind": {
            key.removeprefix("failed:"): int(value)
            for key, value in sorted(meta.items())
            if key.startswith("failed:") and int(value) > 0
        },
        "maybe_sent": sum(int(meta.get(f"failed:{kind}", 0)) for kind in sorted(MAYBE_SENT)),
        "max_per_second": rate,
        "rows_per_second_last_minute": round(achieved, 2),
        "rate_limited_last_minute": limited,
        "workers_alive": len(workers),
        "workers": workers,
        "queued": await queue.count("queued"),
        "active": await queue.count("active"),
        "held_by_dead_workers": held,
        "back_within_seconds": back_in,
        "eta_seconds": eta,
        "created": _when(meta.get("created")),
        "ended": _when(meta.get("ended")),
        "expires_in_days": round(ttl / 86400, 1) if ttl and ttl > 0 else None,
        "warnings": warnings,
    }


async def live_workers(redis: Any, client_id: str, now: float) -> list[dict[str, Any]]:
    """`client_id`'s workers seen within `WORKER_ALIVE_FOR` seconds."""
    key = workers_key(client_id)
    seen = await redis.zrangebyscore(key, now - WORKER_ALIVE_FOR, "+inf", withscores=True)
    if not seen:
        return []
    infos = await redis.hmget(f"{key}:info", [member for member, _ in seen])
    workers = []
    for (member, score), info in zip(seen, infos, strict=True):
        details = json.loads(info) if info else {}
        workers.append(
            {
                "id": member.decode(),
                "host": details.get("host"),
                "pid": details.get("pid"),
                "client_id": client_id,
                "seen_seconds_ago": round(max(0.0, now - score), 1),
            }
        )
    return workers


async def list_campaigns(redis: Any) -> list[dict[str, Any]]:
    """Every campaign: name, client id, state, rows, done, failed, created. Names whose
    records expired are dropped from the index as they are found."""
    names = sorted(member.decode() for member in await redis.smembers(INDEX))
    listed = []
    for name in names:
        meta = await CampaignRecords(redis, name).meta_fields()
        if not meta:
            await redis.srem(INDEX, name)
            continue
        listed.append(
            {
                "campaign": name,
                "client_id": meta.get("client_id"),
                "state": meta.get("state"),
                "rows": _int(meta.get("total")) or _int(meta.get("expected")),
                "done": int(meta.get("done", 0)),
                "failed": int(meta.get("failed", 0)),
                "created": _when(meta.get("created")),
            }
        )
    return listed


async def _held_by_dead(queue: Any, name: str, now: float) -> tuple[int, int | None]:
    """Jobs of campaign `name` whose worker stopped touching them, and within how many
    seconds the last of them is back in the queue."""
    held, back = 0, 0.0
    for job in await queue.running():
        if not str(job.key).startswith(f"{name}:"):
            continue
        silent = now - job.touched / 1000
        heartbeat = job.heartbeat or JOB_HEARTBEAT
        if silent > heartbeat:
            held += 1
            back = max(back, heartbeat + SWEEP_SECONDS - silent)
    return held, (max(0, round(back)) if held else None)


def _buckets(now: float, size: int) -> list[int]:
    """The buckets of the last minute and the current one."""
    current = int(now) // size
    return list(range(current - WINDOW // size, current + 1))


async def _count(redis: Any, keys: list[str]) -> int:
    return sum(int(value) for value in await redis.mget(keys) if value is not None)


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def _when(value: str | None) -> str | None:
    if not value:
        return None
    return datetime.fromtimestamp(int(value), timezone.utc).isoformat(timespec="seconds")
