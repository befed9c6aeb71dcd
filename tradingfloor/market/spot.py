"""Spot price feeds. ``SpotSource`` is anything that yields ``SpotTick``s; ``RtdsSpotStream``
reads Polymarket's RTDS ``crypto_prices`` topic (Binance symbols such as ``btcusdt``) — the shape
the simulator's ``/ws/spot`` also speaks. Another exchange's trade stream plugs in by
implementing the same one-method protocol."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Protocol

from tradingfloor.market.codec import decode_spot_frame
from tradingfloor.market.events import SpotTick
from tradingfloor.market.feed import CONNECTED, FeedConnection
from tradingfloor.observability.logging import get_logger
from tradingfloor.observability.metrics import MARKET_MALFORMED

log = get_logger("tradingfloor.market.spot")
RTDS_URL = "wss://ws-live-data.polymarket.com"


class SpotSource(Protocol):
    def __aiter__(self) -> AsyncIterator[SpotTick]: ...


class RtdsSpotStream:
    def __init__(
        self,
        url: str,
        assets: tuple[str, ...] = ("BTC", "ETH"),
        *,
        ping_interval: float = 5.0,
        stale_after: float = 30.0,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        self.symbols = [f"{a.lower()}usdt" for a in assets]
        self.last_ts: dict[str, int] = {}
        self.feed = FeedConnection(
            url,
            self._on_connect,
            name="spot",
            ping_interval=ping_interval,
            stale_after=stale_after,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
        )

    @property
    def stats(self):
        return self.feed.stats

    async def _on_connect(self, ws) -> None:
        await ws.send(
            json.dumps(
                {
                    "action": "subscribe",
                    "subscriptions": [
                        {"topic": "crypto_prices", "type": "update", "filters": ",".join(self.symbols)}
                    ],
                }
            )
        )

    async def close(self) -> None:
        await self.feed.close()

    async def __aiter__(self) -> AsyncIterator[SpotTick]:
        async for item in self.feed.frames():
            if item is CONNECTED:
                continue
            raw, _recv_ms = item
            ticks, errors = decode_spot_frame(raw)
            for err in errors:
                self.stats.count_malformed(err.reason, err.kind)
                MARKET_MALFORMED.labels("spot", err.kind).inc()
                log.warning("spot_malformed_frame", reason=err.reason, sample=str(raw)[:200])
            for tick in ticks:
                # the snapshot after a reconnect repeats history: pass on only what is new
                if tick.ts_ms > self.last_ts.get(tick.asset, -1):
                    self.last_ts[tick.asset] = tick.ts_ms
                    yield tick
