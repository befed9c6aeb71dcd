"""The operator's floor-wide signals: the venue API error rate comes from the shared per-minute
buckets (``tradingfloor.bus.api_health``) and opens the ``ApiErrorRate`` breaker."""

from __future__ import annotations

from floor_boss.handlers import _api_health
from floor_boss.heartbeats import Heartbeats
from floor_boss.runtime import FloorBoss
from floor_boss.settings import BossSettings
from tradingfloor.bus import api_health


async def test_api_error_rate_is_read_from_the_floors_buckets(redis_url):
    beats = Heartbeats(redis_url)
    try:
        assert await _api_health(FloorBoss(BossSettings(), kube=None)) == (0, 0)  # no Redis
        boss = FloorBoss(BossSettings(), kube=None, heartbeats=beats)
        assert await _api_health(boss) == (0, 0)
        await api_health.record(beats.client, 25, 2)
        await api_health.record(beats.client, 5, 5)  # a burst of failures
        assert await _api_health(boss) == (30, 7)
        boss.update_breakers(boss.floor_signals(True, await _api_health(boss)))
        assert "ApiErrorRate" in boss.breakers  # 7 of 30 is above the 20 % policy
    finally:
        await beats.close()
