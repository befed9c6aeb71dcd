"""Small fixtures for trading tests: a market and a static L2 book."""

from __future__ import annotations

from decimal import Decimal as D

from tradingfloor.market.events import MarketInfo


def market(
    market_id: str = "m1",
    rate: str = "0.07",
    tick: str = "0.01",
    min_size: str = "5",
    start_ms: int = 0,
    end_ms: int = 900_000,
) -> MarketInfo:
    return MarketInfo(
        market_id=market_id,
        slug=f"btc-updown-15m-{market_id}",
        asset="BTC",
        interval="15m",
        up_token_id=f"{market_id}-up",
        down_token_id=f"{market_id}-down",
        start_ms=start_ms,
        end_ms=end_ms,
        tick_size=D(tick),
        min_size=D(min_size),
        fee_rate=D(rate),
        fee_exponent=1,
        price_to_beat=D("100000"),
    )


class StaticBook:
    """A fixed book: levels given best-first."""

    def __init__(self, bids=(), asks=(), ts_ms: int = 0, tick_size: D = D("0.01")) -> None:
        self._bids = [(D(p), D(s)) for p, s in bids]
        self._asks = [(D(p), D(s)) for p, s in asks]
        self.ts_ms = ts_ms
        self.tick_size = tick_size

    def best_bid(self):
        return self._bids[0][0] if self._bids else None

    def best_ask(self):
        return self._asks[0][0] if self._asks else None

    def mid(self):
        if self._bids and self._asks:
            return (self._bids[0][0] + self._asks[0][0]) / 2
        return None

    def bids(self):
        return list(self._bids)

    def asks(self):
        return list(self._asks)
