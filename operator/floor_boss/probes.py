"""Floor-wide probes both runtimes share: is PostgreSQL answering, how is the venue API doing."""

from __future__ import annotations

from typing import Any

from tradingfloor.bus import api_health as api_health_bus

PROBE_TIMEOUT_SECONDS = 5.0


async def database_reachable(url: str | None, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool | None:
    """True when PostgreSQL answers a query within ``timeout``; None when there is nothing to probe."""
    if not url:
        return None
    import asyncio

    import asyncpg

    try:
        conn = await asyncpg.connect(url, timeout=timeout)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    try:
        await asyncio.wait_for(conn.fetchval("SELECT 1"), timeout)
        return True
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    finally:
        conn.terminate()


async def api_health(redis: Any | None) -> tuple[int, int]:
    """(requests, errors) the floor made to the venue over the last minutes; (0, 0) without Redis
    or when Redis does not answer (the venue's health is then unknown, not bad)."""
    if redis is None:
        return 0, 0
    try:
        health = await api_health_bus.read(redis)
    except Exception:
        return 0, 0
    return health.requests, health.errors
