"""One campaign's records in Redis, and every change to them as one Lua script.

Keys, per campaign NAME, under `plaid-link:campaign:NAME:`:

- `meta` (hash): the campaign's `epoch` (a random id set when it is created), the
  `client_id` it belongs to, the input's fingerprint, the rate, the Hosted Link
  method, its `state` (feeding, fed, done, cancelled), the input's rows (`expected`,
  when counted first), the rows read (`fed`) and their `total` once all are, the
  counts `done`, `failed` and `failed:KIND`, `created` and `ended` (Unix seconds), and
  `keep`, the seconds its records are kept once it ends;
- `results` (hash): row number to its journal line, the same line `batch create`
  writes;
- `inflight` (hash): row number to the mark of the worker whose request for it is
  being written or awaited (`WORKER|TOKEN`);
- `retry` (hash): row number to the job of a row that failed, for `campaign retry`;
- `feeder`: held (with the feeder's PID) while one process feeds the campaign;
- `done:BUCKET`: rows recorded in each ten seconds, kept five minutes, for the rate.

`plaid-link:campaigns` (a set) names every campaign, for `campaign list`.

Why scripts: each rule that keeps a user from being texted twice, after a cancel, or
under another client's name is a check and a write that no other process may come
between. A script runs whole on Redis, and a Redis restart cannot split it. Every
script takes the keys of one campaign, so a Redis Cluster would have to hold them in
one hash slot; Cluster is not supported (see the operations page).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Final

from ._errors import CampaignError, CampaignLost

#: Every campaign's name, for `campaign list`.
INDEX: Final = "plaid-link:campaigns"
#: Letters, digits, `-`, `_` and `.`, 1 to 100 of them: a name is part of every key
#: and of the lines the CLI prints, so nothing in it may start another.
NAME: Final = re.compile(r"[A-Za-z0-9._-]{1,100}\Z")
#: Rows recorded are counted in buckets of this many seconds.
BUCKET_SECONDS: Final = 10
#: The kinds of failure after which Plaid may have texted the user.
MAYBE_SENT: Final = frozenset({"UnknownDelivery", "AmbiguousOutcomeError"})


def check_name(name: str) -> str:
    """`name` if it is a campaign name, else a `CampaignError` saying what one is."""
    if not isinstance(name, str) or not NAME.match(name):
        shown = repr(name)[:60]
        raise CampaignError(
            f"campaign name {shown} is not allowed: use 1 to 100 letters, digits, '-', '_' or '.'"
        )
    return name


# The campaign's keys are always KEYS[1..4]: meta, results, inflight, retry. `ends`
# marks the campaign ended and lets all four expire after its `keep` seconds.
_PRELUDE: Final = """
local function ends(state, now)
  redis.call('HSET', KEYS[1], 'state', state, 'ended', now)
  local keep = tonumber(redis.call('HGET', KEYS[1], 'keep') or '0')
  if keep > 0 then
    for i = 1, 4 do redis.call('EXPIRE', KEYS[i], keep) end
  end
end
"""

# Create the campaign, or resume it. KEYS: the four, the index. ARGV: name, epoch,
# client id, input, rate, Hosted Link, keep seconds, now, the input's rows ('' if not
# counted), the epoch the caller knows ('' if none: a campaign it has not seen).
# Returns {verdict, epoch or client id}.
_CREATE: Final = """
local m = KEYS[1]
if redis.call('EXISTS', m) == 0 and ARGV[10] ~= '' then return {'lost', ''} end
if redis.call('EXISTS', m) == 1 then
  local f = redis.call('HMGET', m, 'state', 'client_id', 'input', 'epoch')
  if ARGV[10] ~= '' and f[4] ~= ARGV[10] then return {'lost', ''} end
  if f[1] == 'cancelled' then return {'cancelled', f[4]} end
  if f[2] ~= ARGV[3] then return {'client', f[2] or ''} end
  if f[3] ~= ARGV[4] then return {'input', ''} end
  if f[1] ~= 'done' then redis.call('HSET', m, 'state', 'feeding') end
  redis.call('HSET', m, 'rate', ARGV[5])
  if ARGV[9] ~= '' then redis.call('HSET', m, 'expected', ARGV[9]) end
  return {'resumed', f[4]}
end
redis.call('HSET', m, 'epoch', ARGV[2], 'client_id', ARGV[3], 'input', ARGV[4],
  'rate', ARGV[5], 'hosted', ARGV[6], 'keep', ARGV[7], 'created', ARGV[8],
  'state', 'feeding', 'fed', 0, 'done', 0, 'failed', 0)
if ARGV[9] ~= '' then redis.call('HSET', m, 'expected', ARGV[9]) end
redis.call('SADD', KEYS[5], ARGV[1])
return {'new', ARGV[2]}
"""

# A row read by the feeder. ARGV: epoch, row. Returns lost, cancelled, done or feed.
_FEED_ROW: Final = """
local f = redis.call('HMGET', KEYS[1], 'epoch', 'state')
if f[1] ~= ARGV[1] then return 'lost' end
if f[2] == 'cancelled' then return 'cancelled' end
redis.call('HSET', KEYS[1], 'fed', ARGV[2])
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 'done' end
return 'feed'
"""

# Every row read. ARGV: epoch, the rows, now. Returns lost, cancelled, done or fed.
_FED: Final = (
    _PRELUDE
    + """
local f = redis.call('HMGET', KEYS[1], 'epoch', 'state', 'done')
if f[1] ~= ARGV[1] then return 'lost' end
if f[2] == 'cancelled' then return 'cancelled' end
redis.call('HSET', KEYS[1], 'total', ARGV[2])
if tonumber(f[3]) >= tonumber(ARGV[2]) then
  ends('done', ARGV[3])
  return 'done'
end
redis.call('HSET', KEYS[1], 'state', 'fed')
return 'fed'
"""
)

# May this row's request be written now? ARGV: epoch, client id, row, the mark, '1'
# for a delivery (at most once), '1' to set the mark (else only look). Returns
# {verdict, rate}: lost, client, cancelled, done, unknown (a delivery marked by
# another run, which may have sent it) or go.
_CLAIM: Final = """
local f = redis.call('HMGET', KEYS[1], 'epoch', 'client_id', 'state', 'rate')
if f[1] ~= ARGV[1] then return {'lost', ''} end
if f[2] ~= ARGV[2] then return {'client', f[2] or ''} end
if f[3] == 'cancelled' then return {'cancelled', ''} end
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then return {'done', ''} end
local held = redis.call('HGET', KEYS[3], ARGV[3])
if held and held ~= ARGV[4] and ARGV[5] == '1' then return {'unknown', ''} end
if ARGV[6] == '1' then redis.call('HSET', KEYS[3], ARGV[3], ARGV[4]) end
return {'go', f[4] or ''}
"""

# This run's mark, taken back: its request was never written, or Plaid refused it.
# ARGV: row, mark.
_RELEASE: Final = """
if redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[3], ARGV[1])
end
"""

# A row's result, its counts and the end of its mark, together: a Redis restart
# between them would leave a result uncounted, and `--wait` waiting forever. KEYS: the
# four, the bucket. ARGV: epoch, row, line, the failure's kind ('' for none), the
# row's job (kept for `campaign retry` when it failed), now. Returns lost, earlier (the
# row had a result already) or kept.
_RECORD: Final = (
    _PRELUDE
    + """
local f = redis.call('HMGET', KEYS[1], 'epoch', 'state', 'total')
if f[1] ~= ARGV[1] then return 'lost' end
redis.call('HDEL', KEYS[3], ARGV[2])
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3]) == 0 then return 'earlier' end
local done = redis.call('HINCRBY', KEYS[1], 'done', 1)
if ARGV[4] ~= '' then
  redis.call('HINCRBY', KEYS[1], 'failed', 1)
  redis.call('HINCRBY', KEYS[1], 'failed:' .. ARGV[4], 1)
  redis.call('HSET', KEYS[4], ARGV[2], ARGV[5])
else
  redis.call('HDEL', KEYS[4], ARGV[2])
end
redis.call('INCR', KEYS[5])
redis.call('EXPIRE', KEYS[5], 300)
if f[2] == 'fed' and f[3] and done >= tonumber(f[3]) then ends('done', ARGV[6]) end
return 'kept'
"""
)

# Cancel. KEYS: the four, the client's workers. ARGV: now, the oldest heartbeat of a
# live worker. Returns the requests being written or awaited by live workers, -1 for
# no campaign, -2 for one already finished.
_CANCEL: Final = (
    _PRELUDE
    + """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return -1 end
if state == 'done' then return -2 end
if state ~= 'cancelled' then ends('cancelled', ARGV[1]) end
local live = 0
for _, mark in ipairs(redis.call('HVALS', KEYS[3])) do
  local seen = redis.call('ZSCORE', KEYS[5], string.match(mark, '^[^|]*'))
  if seen and tonumber(seen) >= tonumber(ARGV[2]) then live = live + 1 end
end
return live
"""
)

# Delete a finished or cancelled campaign. KEYS: the four, the feeder, the index.
# ARGV: name. Returns deleted, none, or the state that refuses it.
_DELETE: Final = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'none' end
if state ~= 'done' and state ~= 'cancelled' then return state end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
redis.call('SREM', KEYS[6], ARGV[1])
return 'deleted'
"""

# Take a failed row's result back for `campaign retry`: the job stays in `retry` until
# the row has a result again, so a retry cut short is found by the next. ARGV: epoch,
# row, the failure's kind ('' when the row has no result any more). Returns the job.
_UNRECORD: Final = """
local f = redis.call('HMGET', KEYS[1], 'epoch', 'state')
if f[1] ~= ARGV[1] then return {'lost', ''} end
if f[2] == 'cancelled' then return {'cancelled', ''} end
local job = redis.call('HGET', KEYS[4], ARGV[2])
if not job then return {'none', ''} end
if redis.call('HDEL', KEYS[2], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'done', -1)
  redis.call('HINCRBY', KEYS[1], 'failed', -1)
  redis.call('HINCRBY', KEYS[1], 'failed:' .. ARGV[3], -1)
end
redis.call('HDEL', KEYS[3], ARGV[2])
if f[2] == 'done' then
  redis.call('HSET', KEYS[1], 'state', 'fed')
  redis.call('HDEL', KEYS[1], 'ended')
  for i = 1, 4 do redis.call('PERSIST', KEYS[i]) end
end
return {'retry', job}
"""


#: The scripts as redis-py `Script`s, by their text.
_LOADED: dict[str, Any] = {}


def workers_key(client_id: str) -> str:
    """The sorted set of a client id's workers, scored by their last heartbeat."""
    return f"plaid-link:workers:{client_id}"


class CampaignRecords:
    """Campaign `name`'s records in `redis` (a `redis.asyncio.Redis`)."""

    def __init__(self, redis: Any, name: str) -> None:
        self.redis = redis
        self.name = check_name(name)
        base = f"plaid-link:campaign:{name}:"
        self.meta, self.results = base + "meta", base + "results"
        self.inflight, self.retry = base + "inflight", base + "retry"
        self.feeder = base + "feeder"
        self._base = base
        self._four = [self.meta, self.results, self.inflight, self.retry]

    def __repr__(self) -> str:
        return f"<CampaignRecords {self.name}>"

    def done_key(self, bucket: int) -> str:
        return f"{self._base}done:{bucket}"

    async def _run(self, script: str, keys: list[str], *args: Any) -> Any:
        # EVALSHA, loading the script on first use: a million rows need not each send it.
        # One `Script` a text for the process (its SHA worked out once), called with this
        # client: a worker makes a `CampaignRecords` for every row.
        loaded = _LOADED.get(script)
        if loaded is None:
            loaded = _LOADED[script] = self.redis.register_script(script)
        return _text(await loaded(keys=keys, args=args, client=self.redis))

    async def create(
        self,
        *,
        epoch: str,
        client_id: str,
        fingerprint: str,
        rate: float,
        hosted: str | None,
        keep_seconds: int,
        expected: int | None,
        known: str | None = None,
    ) -> tuple[str, str]:
        """Create the campaign, or resume it: (`new` or `resumed`, its epoch). A caller
        that `known` its epoch never creates it again: its records went missing.

        Raises:
            CampaignError: it was cancelled, or belongs to another client id or input.
            CampaignLost: its records are not the ones of the epoch `known`.
        """
        verdict, detail = await self._run(
            _CREATE, [*self._four, INDEX], self.name, epoch, client_id, fingerprint,
            repr(float(rate)), hosted or "", keep_seconds, int(time.time()),
            "" if expected is None else expected, known or "",
        )  # fmt: skip
        if verdict == "lost":
            raise CampaignLost(
                f"campaign {self.name!r}: its records are gone from Redis (did Redis lose "
                "its data, or evict keys?); nothing is fed again, since nothing tells any "
                "more who was texted"
            )
        if verdict == "cancelled":
            raise CampaignError(
                f"campaign {self.name!r} was cancelled, and a cancel is final: start it "
                "again under a new name (rows with a result here are not skipped there)"
            )
        if verdict == "client":
            raise CampaignError(
                f"campaign {self.name!r} belongs to another client id ({detail}); use "
                "another name, or that client id's credentials"
            )
        if verdict == "input":
            raise CampaignError(
                f"campaign {self.name!r} was started with another input; use another name"
            )
        return verdict, detail

    async def feed_row(self, epoch: str, row: int) -> str:
        """`feed`, `done` (it has a result), `cancelled` or `lost`, for a row read."""
        verdict: str = await self._run(_FEED_ROW, self._four, epoch, row)
        return verdict

    async def fed(self, epoch: str, total: int) -> str:
        """Every row was read: `fed`, `done` (all have results), `cancelled` or `lost`."""
        verdict: str = await self._run(_FED, self._four, epoch, total, int(time.time()))
        return verdict

    async def claim(
        self, epoch: str, client_id: str, row: int, mark: str, *, delivers: bool, take: bool
    ) -> tuple[str, float | None]:
        """May `row`'s request be written now (`go`, with the rate), and if `take`, mark
        it as this run's. Else `lost`, `client`, `cancelled`, `done` or `unknown`."""
        verdict, rate = await self._run(
            _CLAIM, self._four, epoch, client_id, row, mark, int(delivers), int(take)
        )
        return verdict, (float(rate) if rate else None)

    async def release(self, row: int, mark: str) -> None:
        await self._run(_RELEASE, self._four, row, mark)

    async def record(
        self, epoch: str, row: int, line: dict[str, Any], job: dict[str, Any] | None = None
    ) -> str:
        """Keep `line` as `row`'s result unless it has one: `kept`, `earlier` or `lost`.
        A failure's `job` is kept for `campaign retry`."""
        error = line.get("error")
        kind = str(error.get("type", "error")) if isinstance(error, dict) else ""
        keys = [*self._four, self.done_key(int(time.time()) // BUCKET_SECONDS)]
        payload = json.dumps(job, separators=(",", ":")) if kind and job is not None else ""
        verdict: str = await self._run(
            _RECORD, keys, epoch, row, json.dumps(line, separators=(",", ":")), kind,
            payload, int(time.time()),
        )  # fmt: skip
        return verdict

    async def cancel(self, alive_since: float) -> int:
        """Cancel: how many requests live workers are writing or awaiting (they may
        still finish; no other starts).

        Raises:
            CampaignError: no such campaign, or it has finished.
        """
        client = await self.redis.hget(self.meta, "client_id")
        keys = [*self._four, workers_key(_text(client) or "")]
        live: int = await self._run(_CANCEL, keys, int(time.time()), alive_since)
        if live == -1:
            raise CampaignError(f"no campaign {self.name!r}")
        if live == -2:
            raise CampaignError(f"campaign {self.name!r} has finished: nothing to cancel")
        return live

    async def delete(self) -> None:
        """Remove every key of the campaign.

        Raises:
            CampaignError: no such campaign, or it is still running.
        """
        verdict = await self._run(_DELETE, [*self._four, self.feeder, INDEX], self.name)
        if verdict == "deleted":
            # The rate's counters, kept five minutes: those that may still be there.
            now = int(time.time()) // BUCKET_SECONDS
            await self.redis.delete(*(self.done_key(b) for b in range(now - 31, now + 1)))
        if verdict == "none":
            raise CampaignError(f"no campaign {self.name!r}")
        if verdict != "deleted":
            raise CampaignError(
                f"campaign {self.name!r} is {verdict}: cancel it (or let it finish) "
                "before deleting it"
            )

    async def unrecord(self, epoch: str, row: int, kind: str) -> dict[str, Any] | None:
        """Take back failed `row`'s result for a retry; its job, or None."""
        verdict, job = await self._run(_UNRECORD, self._four, epoch, row, kind)
        if verdict == "cancelled":
            raise CampaignError(
                f"campaign {self.name!r} was cancelled, and a cancel is final: start the "
                "rows again under a new name"
            )
        if verdict == "lost":
            raise CampaignError(f"no campaign {self.name!r}")
        return json.loads(job) if verdict == "retry" else None

    async def meta_fields(self) -> dict[str, str]:
        """The `meta` hash as text; empty when there is no such campaign."""
        raw = await self.redis.hgetall(self.meta)
        return {_text(key): _text(value) for key, value in raw.items()}


def _text(value: Any) -> Any:
    """Redis's bytes as text, inside lists too; numbers and None as they are."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [_text(item) for item in value]
    return value
