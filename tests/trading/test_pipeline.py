from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from tests.trading.helpers import market
from tradingfloor.market.events import BookSnapshot, MarketResolved, NewMarket, SpotTick
from tradingfloor.trading.paper_broker import BrokerConfig
from tradingfloor.trading.pipeline import EngineConfig, TradingEngine
from tradingfloor.trading.risk import InMemoryFloorCapital, RiskLimits

INFO = market(start_ms=0, end_ms=900_000)


def book(token: str, ts: int) -> BookSnapshot:
    return BookSnapshot(
        INFO.market_id, token, ((D("0.49"), D(500)),), ((D("0.51"), D(500)), (D("0.52"), D(500))), ts
    )


def rising_spot(start: int, end: int):
    for t in range(start, end, 1000):
        yield SpotTick("BTC", D(100_000) * (1 + D(t) / D(30_000_000)), t)


def session(until_ms: int):
    yield NewMarket(INFO, 0)
    yield book(INFO.up_token_id, 0)
    yield book(INFO.down_token_id, 0)
    for tick in rising_spot(0, until_ms):
        if tick.ts_ms % 10_000 == 0:
            yield book(INFO.up_token_id, tick.ts_ms)
        yield tick


def engine(latency=0, floor=None) -> TradingEngine:
    return TradingEngine(
        EngineConfig("agent-1", "momentum", "BTC"),
        RiskLimits(),
        BrokerConfig(latency_ms=latency),
        floor=floor,
    )


def run(e: TradingEngine, events):
    outs = [o for ev in events if (o := e.on_event(ev)) is not None]
    return outs


def test_momentum_pipeline_places_one_sized_order_and_settles():
    floor = InMemoryFloorCapital(D(400))
    e = engine(floor=floor)
    outs = run(e, session(400_000))
    orders = [o for out in outs for o in out.orders]
    assert len(orders) == 1
    (order,) = orders
    assert order.token_id == INFO.up_token_id and order.price == D("0.53") and order.order_type == "FAK"
    assert order.size * D("0.51") <= D(20)  # per-trade risk: 2 % of 1000
    assert e.broker.ledger.positions[INFO.up_token_id].shares == order.size
    assert floor.deployed > 0
    out = e.on_event(MarketResolved(INFO.market_id, INFO.up_token_id, "Up", 910_000))
    (trade,) = out.closed
    assert trade.net_pnl > 0 and floor.deployed == 0 and e.broker.ledger.invariant_gap({}) == 0


def test_stale_data_blocks_orders():
    e = engine()
    events = [
        NewMarket(INFO, 0),
        book(INFO.up_token_id, 0),
        book(INFO.down_token_id, 0),
        *rising_spot(0, 400_000),
    ]  # books never refresh after t=0
    outs = run(e, events)
    assert not [o for out in outs for o in out.orders]
    assert any("stale" in s for out in outs for s in out.skipped)


def test_state_round_trip_and_crash_replay_never_fills_twice():
    e = engine(latency=250)
    events = list(session(400_000))
    outs = {}
    cut = next(i for i, ev in enumerate(events) if (outs := e.on_event(ev)) and outs.orders)
    original_id = outs.orders[0].client_id
    before_crash = json.loads(json.dumps(_state_at(events, cut)))  # checkpoint just before the decision
    run(e, events[cut + 1 :])
    e.finish()
    filled = e.broker.ledger.positions[INFO.up_token_id].shares

    # The agent crashed after sending the order: resume from the checkpoint, replay the same events.
    resumed = TradingEngine.from_state(before_crash)
    resumed.broker.seen |= e.broker.seen  # the venue (or persisted broker) already knows the id
    for ev in [
        NewMarket(INFO, events[cut].ts_ms),
        book(INFO.up_token_id, events[cut].ts_ms),
        book(INFO.down_token_id, events[cut].ts_ms),
    ]:
        resumed.on_event(ev)
    replay = run(resumed, events[cut:])
    statuses = [r.status for out in replay for r in out.results]
    assert statuses[:1] == ["duplicate"]
    assert [o.client_id for out in replay for o in out.orders][:1] == [original_id]
    assert INFO.up_token_id not in resumed.broker.ledger.positions  # the replay filled nothing
    assert filled > 0


def _state_at(events, cut):
    e = engine(latency=250)
    for ev in events[:cut]:
        e.on_event(ev)
    return e.export_state()


def test_export_import_is_lossless():
    e = engine(latency=250)
    run(e, session(350_000))
    state = json.loads(json.dumps(e.export_state()))
    again = TradingEngine.from_state(state).export_state()
    assert again == state


def test_bad_state_version_is_named():
    with pytest.raises(ValueError, match="version"):
        TradingEngine.from_state({"version": 99})


def _first_order(e: TradingEngine):
    return next(o for out in run(e, session(400_000)) for o in out.orders)


def test_size_multiplier_scales_new_positions_and_survives_a_checkpoint():
    full = _first_order(engine())
    testing = engine()
    testing.set_size_multiplier(D("0.25"))
    small = _first_order(testing)
    # the same decision, sized against a quarter of the capital (whole size steps, rounded down)
    assert D(0) < small.size <= full.size * D("0.25") and small.size >= full.size * D("0.25") - 1
    assert testing.limits.capital == D(1000) and testing.broker.ledger.starting_capital == D(1000)
    state = json.loads(json.dumps(testing.export_state()))
    assert state["size_multiplier"] == "0.25"
    assert TradingEngine.from_state(state).size_multiplier == D("0.25")
    stopped = engine()
    stopped.set_size_multiplier(D(0))
    assert not [o for out in run(stopped, session(400_000)) for o in out.orders]


def test_size_multiplier_is_validated():
    for bad in (D("1.5"), D(-1), D("NaN"), 0.5):
        with pytest.raises(ValueError, match="size multiplier"):
            engine().set_size_multiplier(bad)


def test_checkpoints_without_a_size_multiplier_resume_at_full_size():
    state = json.loads(json.dumps(engine().export_state()))
    del state["size_multiplier"]
    assert TradingEngine.from_state(state).size_multiplier == 1
