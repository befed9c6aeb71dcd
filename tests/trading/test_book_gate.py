"""The engine's book gate (``Strategy.gated_books``): calling a gated strategy's ``on_book`` only
inside its entry window must give exactly what calling it on every book event gives — the same
outputs event by event, the same ledger, the same books — over random streams of overlapping
rounds, level changes, snapshots, spot ticks and resolutions."""

from __future__ import annotations

import random
from decimal import Decimal as D
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.trading.helpers import market
from tradingfloor.market.events import (
    BookSnapshot,
    MarketEvent,
    MarketInfo,
    MarketResolved,
    NewMarket,
    PriceChange,
    Side,
    SpotTick,
)
from tradingfloor.strategies.order_flow import OrderFlowStrategy
from tradingfloor.trading.paper_broker import BrokerConfig
from tradingfloor.trading.pipeline import EngineConfig, TradingEngine
from tradingfloor.trading.risk import RiskLimits

ROUND_MS = 300_000
PARAMS = {"minSecondsFromOpen": 30, "minSecondsToClose": 60, "depthLevels": 3}
PRICES = [D(p) / 100 for p in range(40, 61)]

KINDS = ["change"] * 14 + ["spot"] * 4 + ["snapshot", "list", "resolve"]
SIZES = [D(0), D(0), D(5), D(50), D(300), D(2000)]


def rounds() -> list[MarketInfo]:
    """Consecutive 5-minute rounds and, overlapping them, a longer round (two rounds can be current)."""
    out = [market(f"r{i}", start_ms=i * ROUND_MS, end_ms=(i + 1) * ROUND_MS) for i in range(5)]
    out.append(market("long", start_ms=ROUND_MS // 2, end_ms=4 * ROUND_MS))
    return out


def stream(rng: random.Random, n: int, max_gap_ms: int) -> list[MarketEvent]:
    """``n`` events over the rounds: mostly level changes, with spot ticks (fresh data, so intents
    become orders), snapshots, listings (a round is listed again at times) and resolutions (at
    times before the round ends); now and then an event stamped earlier than the one before."""
    infos = rounds()
    events: list[MarketEvent] = [NewMarket(infos[0], 0)]
    ts = 0
    for _ in range(n):
        ts = max(0, ts + rng.randint(-max_gap_ms // 10, max_gap_ms))
        live = [i for i in infos if i.start_ms - ROUND_MS // 3 <= ts < i.end_ms + 10_000] or infos
        info = rng.choice(live)
        token = info.up_token_id if rng.random() < 0.6 else info.down_token_id
        price, size = rng.choice(PRICES), rng.choice(SIZES)
        kind = rng.choice(KINDS)
        if kind == "change":
            side: Side = "BUY" if price < D("0.50") else "SELL"
            events.append(PriceChange(info.market_id, token, side, price, size, ts))
        elif kind == "snapshot":
            bids = tuple((p, size + 10) for p in PRICES if p < min(price, D("0.50")))
            asks = tuple((p, D(100)) for p in PRICES if p >= max(price, D("0.50")))
            events.append(BookSnapshot(info.market_id, token, bids, asks, ts))
        elif kind == "spot":
            events.append(SpotTick("BTC", D(100_000 + rng.randint(-50, 50)), ts))
        elif kind == "list":
            events.append(NewMarket(info, ts))
        else:
            events.append(MarketResolved(info.market_id, info.up_token_id, "Up", ts))
    return events


def run(events: list[MarketEvent]) -> tuple[list[str], TradingEngine]:
    engine = TradingEngine(
        EngineConfig("gate", "orderFlow", "BTC", params=PARAMS), RiskLimits(), BrokerConfig(latency_ms=0)
    )
    outputs = [f"{i}: {out!r}" for i, ev in enumerate(events) if (out := engine.on_event(ev)) is not None]
    outputs += [repr(engine.finish())]
    return outputs, engine


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(200, 3000), st.sampled_from([500, 3000, 20_000]))
def test_the_gated_book_path_gives_what_calling_on_book_on_every_event_gives(
    seed: int, n: int, max_gap_ms: int
) -> None:
    events = stream(random.Random(seed), n, max_gap_ms)
    gated, fast = run(events)
    with patch.object(OrderFlowStrategy, "gated_books", False):  # the general path: on_book every time
        general, slow = run(events)
    assert not slow._gated_books and fast._gated_books
    assert gated == general
    assert fast.broker.ledger.cash == slow.broker.ledger.cash
    assert fast.broker.ledger.closed == slow.broker.ledger.closed
    assert fast.strategy.last_entered == slow.strategy.last_entered
    assert fast.books.keys() == slow.books.keys()
    assert all(fast.books[t].same_levels(slow.books[t]) for t in fast.books)


def test_a_gated_engine_still_trades_a_round_it_can_enter() -> None:
    """A non-vacuous case for the property above: a bid-heavy Up book, fresh spot, an open window."""
    info = rounds()[0]
    events: list[MarketEvent] = [NewMarket(info, 0)]
    for token in (info.up_token_id, info.down_token_id):
        events.append(BookSnapshot(info.market_id, token, ((D("0.49"), D(900)),), ((D("0.51"), D(100)),), 0))
    events += [SpotTick("BTC", D(100_000), t) for t in range(0, 40_000, 1000)]
    events.append(PriceChange(info.market_id, info.up_token_id, "BUY", D("0.48"), D(500), 40_000))
    outputs, engine = run(events)
    assert engine.strategy.last_entered == info.market_id
    assert any("orders=[Order(" in o for o in outputs)


class _View:
    """A MarketView at a chosen time with one current round."""

    def __init__(self, info: MarketInfo, now_ms: int) -> None:
        self.info, self.now_ms = info, now_ms

    def current_market(self, asset: str) -> MarketInfo | None:
        return self.info if self.info.start_ms <= self.now_ms < self.info.end_ms else None

    def book(self, token_id: str) -> None:
        return None


def test_entry_window_is_exactly_where_entry_market_returns_the_round() -> None:
    strategy = TradingEngine(
        EngineConfig("gate", "orderFlow", "BTC", params=PARAMS), RiskLimits(), BrokerConfig()
    ).strategy
    info = rounds()[1]
    opens, closes = strategy.entry_window(info)
    edges = (info.start_ms, opens, closes, info.end_ms)
    for now in sorted({t + d for t in edges for d in (-2, -1, 0, 1, 2)}):
        assert (strategy.entry_market(_View(info, now)) is info) == (opens <= now < closes), now
