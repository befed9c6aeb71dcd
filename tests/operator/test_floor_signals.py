"""The operator's floor-wide signals: the venue API error rate comes from the shared per-minute
buckets (``tradingfloor.bus.api_health``) and opens the ``ApiErrorRate`` breaker; the database
probe really talks to PostgreSQL."""

from __future__ import annotations

from floor_boss.heartbeats import Heartbeats
from floor_boss.probes import api_health, database_reachable
from floor_boss.runtime import FloorBoss
from floor_boss.settings import BossSettings
from tradingfloor.bus import api_health as api_health_bus


async def test_api_error_rate_is_read_from_the_floors_buckets(redis_url):
    beats = Heartbeats(redis_url)
    try:
        assert await api_health(None) == (0, 0)  # no Redis
        boss = FloorBoss(BossSettings(), kube=None, heartbeats=beats)
        assert await api_health(beats.client) == (0, 0)
        await api_health_bus.record(beats.client, 25, 2)
        await api_health_bus.record(beats.client, 5, 5)  # a burst of failures
        assert await api_health(beats.client) == (30, 7)
        boss.update_breakers(boss.floor_signals(True, await api_health(beats.client)))
        assert "ApiErrorRate" in boss.breakers  # 7 of 30 is above the 20 % policy
    finally:
        await beats.close()


async def test_database_probe_asks_postgresql(db_url):
    assert await database_reachable(db_url) is True
    assert await database_reachable(None) is None
    # a port nothing listens on: refused at once, counted as unreachable
    assert await database_reachable("postgresql://nobody@127.0.0.1:9/none", timeout=2) is False
