"""The pure market model: determinism, the resolution rule, book realism, and the patterns."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradingfloor.market.book import OrderBook
from tradingfloor.market.codec import event_to_json
from tradingfloor.market.events import (
    BookSnapshot,
    MarketResolved,
    NewMarket,
    PriceChange,
    SpotTick,
    TickSizeChange,
)
from tradingfloor.sim.model import MarketSimulator, SimConfig, fair_up_probability, simulate

from .edge import rule_pnl

HOUR = 3_600_000


def test_same_seed_same_events_and_different_seed_differs():
    a = [event_to_json(e) for e in simulate(SimConfig(seed=4), HOUR // 2)]
    b = [event_to_json(e) for e in simulate(SimConfig(seed=4), HOUR // 2)]
    c = [event_to_json(e) for e in simulate(SimConfig(seed=5), HOUR // 2)]
    assert a == b and a != c and len(a) > 5_000


def test_advance_to_is_incremental_and_in_time_order():
    sim = MarketSimulator(SimConfig(seed=2, assets=("ETH",)))
    start = sim.config.start_ms
    events = []
    for t in range(start, start + 20 * 60_000, 7_777):
        batch = sim.advance_to(t)
        assert all(e.ts_ms <= t for e in batch)
        events += batch
    assert [e.ts_ms for e in events] == sorted(e.ts_ms for e in events)
    assert {type(e) for e in events} >= {SpotTick, NewMarket, BookSnapshot, PriceChange}
    assert sim.markets()[0].slug == f"eth-updown-15m-{start // 1000}"


def test_rounds_resolve_by_the_end_twap_against_the_price_to_beat():
    cfg = SimConfig(seed=9, assets=("BTC",))
    spot: list[tuple[int, Decimal]] = []
    infos, resolved = {}, []
    books: dict[str, OrderBook] = {}
    for ev in simulate(cfg, 2 * HOUR):
        if isinstance(ev, SpotTick):
            spot.append((ev.ts_ms, ev.price))
        elif isinstance(ev, NewMarket):
            # announced when its book opens (before the start), updated with the price to beat at it
            assert (ev.info.price_to_beat is not None) == (ev.ts_ms >= ev.info.start_ms)
            assert ev.info.fee_rate == Decimal("0.07")
            infos[ev.info.market_id] = ev.info
        elif isinstance(ev, BookSnapshot):
            books.setdefault(ev.token_id, OrderBook()).apply_snapshot(ev)
        elif isinstance(ev, PriceChange):
            books[ev.token_id].apply_change(ev)
            assert not books[ev.token_id].is_crossed()
        elif isinstance(ev, TickSizeChange):
            books[ev.token_id].clear()
        elif isinstance(ev, MarketResolved):
            resolved.append(ev)
    assert len(resolved) >= 6
    for res in resolved:
        info = infos[res.market_id]
        window = [float(p) for ts, p in spot if info.end_ms - cfg.twap_window_ms < ts <= info.end_ms]
        twap = sum(window) / len(window)
        assert abs(twap - float(res.final_price)) < 0.5  # the end TWAP (spot published at 2 dp)
        assert res.winning_outcome == ("Up" if res.final_price >= info.price_to_beat else "Down")
        assert res.ts_ms >= info.end_ms + cfg.resolution_delay_ms


def test_down_book_mirrors_up_and_spreads_are_realistic():
    sim = MarketSimulator(SimConfig(seed=3, assets=("BTC",)))
    spreads = []
    for minute in range(1, 14):
        sim.advance_to(sim.config.start_ms + minute * 60_000)
        info = sim.markets()[0]
        up, down = sim.book(info.up_token_id), sim.book(info.down_token_id)
        assert up.best_bid() + down.best_ask() == 1 and up.best_ask() + down.best_bid() == 1
        spreads.append(up.spread())
        assert all(s >= info.min_size for _, s in up.bids() + up.asks())
    assert min(spreads) >= Decimal("0.001") and max(spreads) <= Decimal("0.03")


def test_tick_size_drops_near_the_extremes():
    ticks = [
        e for e in simulate(SimConfig(seed=1, assets=("BTC",)), 3 * HOUR) if isinstance(e, TickSizeChange)
    ]
    assert any(t.new_tick_size == Decimal("0.001") for t in ticks)


def test_fair_value_model():
    sigma = 0.6 / (365 * 24 * 3600) ** 0.5
    assert fair_up_probability(100.0, 100.0, 600, sigma, 0.0, 60) == pytest.approx(0.5)
    assert fair_up_probability(100.5, 100.0, 600, sigma, 0.0, 60) > 0.95
    assert fair_up_probability(100.0, 100.0, 0, sigma, 6000.0, 60) == 1.0  # settled: F == K, ties go Up


@pytest.mark.slow  # simulates days of market: not for the fast loop
def test_momentum_pattern_rewards_trend_following_and_punishes_fading():
    cfg = SimConfig(seed=7, assets=("BTC",), pattern="momentum")
    follow, n_follow = rule_pnl(cfg, 12 * HOUR, follow=True)
    fade, n_fade = rule_pnl(cfg, 12 * HOUR, follow=False)
    assert n_follow >= 20 and n_fade >= 20
    assert follow > 0.10, follow  # per share, after fees and the spread
    assert fade < -0.05, fade


@pytest.mark.slow  # simulates days of market: not for the fast loop
def test_no_pattern_gives_no_edge_after_fees():
    cfg = SimConfig(seed=8, assets=("BTC",), pattern="none")
    follow, n_follow = rule_pnl(cfg, 12 * HOUR, follow=True, threshold=0.002)
    fade, n_fade = rule_pnl(cfg, 12 * HOUR, follow=False, threshold=0.002)
    assert n_follow >= 20 and n_fade >= 20
    assert follow < 0.03 and fade < 0.03, (follow, fade)


def test_bad_config_is_rejected_with_a_reason():
    with pytest.raises(ValueError, match="pattern"):
        SimConfig(pattern="trend")
    with pytest.raises(ValueError, match="initial price"):
        SimConfig(assets=("DOGE",))


def test_books_opened_before_the_start_trade_quietly_and_leave_the_live_stream_unchanged():
    def stream(book_lead_ms: int) -> tuple[list[str], list]:
        starts: dict[str, int] = {}
        live, early = [], []
        for ev in simulate(SimConfig(seed=6, assets=("BTC",), book_lead_ms=book_lead_ms), HOUR):
            if isinstance(ev, NewMarket):
                starts[ev.info.market_id] = ev.info.start_ms
                continue
            market = getattr(ev, "market_id", None)
            if market is not None and ev.ts_ms < starts[market]:
                early.append(ev)  # the quiet book of a round not started yet
            else:
                live.append(event_to_json(ev))
        return live, early

    at_start, none_early = stream(0)
    with_lead, early = stream(300_000)
    assert with_lead == at_start and not none_early
    snaps = [e for e in early if isinstance(e, BookSnapshot)]
    up_snap = snaps[0]  # Up first: bid 0.50, ask 0.51, as captured the day before a start
    assert (up_snap.bids[0][0], up_snap.asks[0][0]) == (Decimal("0.50"), Decimal("0.51"))
    assert all(up_snap.ts_ms <= s.ts_ms for s in snaps)
