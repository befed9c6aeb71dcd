"""The floor's circuit breakers as every trader sees them: ``tf:floor:breakers`` holds JSON
``{"breakers": [...], "since": <epoch s>}`` while at least one breaker is open, and is absent when
none is.

Why Redis: in Kubernetes a trader reads the Paused condition from its custom resource, but on the
local floor the agent's status lives in PostgreSQL, and the breaker that matters most there,
DatabaseUnreachable, is open exactly when that status cannot be read. The key expires after a TTL
the floor renews every pass, so a floor that died does not leave its traders paused for good.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import redis.asyncio as aioredis

KEY = "tf:floor:breakers"
TTL_S = 30  # the floor renews it every pass (about a second); a dead floor's pause lapses


async def publish(redis: aioredis.Redis, breakers: Sequence[str], since: float | None = None) -> None:
    """Say which breakers are open (renewing the TTL), or clear the key when none is."""
    if not breakers:
        await redis.delete(KEY)
        return
    payload = {"breakers": sorted(breakers), "since": time.time() if since is None else since}
    await redis.set(KEY, json.dumps(payload), ex=TTL_S)


async def open_breakers(redis: aioredis.Redis) -> tuple[str, ...]:
    """The breakers the floor says are open; () when none (or the key is unreadable as JSON)."""
    raw = await redis.get(KEY)
    if raw is None:
        return ()
    try:
        data = json.loads(raw)
        return tuple(str(b) for b in data["breakers"])
    except (ValueError, KeyError, TypeError):
        return ()
