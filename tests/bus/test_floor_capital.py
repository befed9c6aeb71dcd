"""The floor-wide deployed-capital cap across agents: two trading engines reserve through one real
Redis, the second is refused beyond the cap, releases give room back, a restarted agent resets
its own share and a trader runtime does so on start."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from floor_agents.trader.agent import TraderRuntime
from floor_agents.trader.main import floor_capital
from floor_agents.trader.store import TraderStore
from tests.agent.test_runtime import SPEC
from tests.trading.test_pipeline import INFO, run, session
from tradingfloor.bus.exposure import ExposureLedger, RedisFloorCapital, from_micro, to_micro
from tradingfloor.market.events import MarketResolved
from tradingfloor.settings import Settings
from tradingfloor.sim.model import MarketSimulator, SimConfig
from tradingfloor.trading.paper_broker import BrokerConfig
from tradingfloor.trading.pipeline import EngineConfig, TradingEngine
from tradingfloor.trading.risk import RiskLimits

CAP_REFUSAL = "floor-wide deployed capital cap reached"


def engine(agent: str, floor: RedisFloorCapital) -> TradingEngine:
    """An agent betting at most 12 USDC a trade (1.2 % of its 1000)."""
    return TradingEngine(
        EngineConfig(agent, "momentum", "BTC"),
        RiskLimits(risk_per_trade=D("0.012")),
        BrokerConfig(latency_ms=0),
        floor=floor,
    )


def orders_and_skips(e: TradingEngine, until_ms: int = 400_000):
    outs = run(e, session(until_ms))
    return [o for out in outs for o in out.orders], [s for out in outs for s in out.skipped]


async def test_second_agent_is_refused_beyond_the_floor_cap_and_gets_room_back(redis, redis_url):
    cap = D(15)  # 40 % of a 37.5 USDC floor: room for one agent's bet, not for two
    a = RedisFloorCapital(redis_url, "agent-a", cap)
    b = RedisFloorCapital(redis_url, "agent-b", cap)
    ledger = ExposureLedger(redis)
    try:
        ea = engine("agent-a", a)
        placed, _ = orders_and_skips(ea)
        assert len(placed) == 1
        held = await ledger.of("agent-a")
        assert cap / 2 < held <= cap and held == sum(ea.floor_reserved.values())

        eb = engine("agent-b", b)  # the same decision, alone it would fit under the cap
        refused, skipped = orders_and_skips(eb)
        assert refused == [] and any(CAP_REFUSAL in s for s in skipped)
        assert await ledger.total() == held and await ledger.of("agent-b") == 0

        ea.on_event(MarketResolved(INFO.market_id, INFO.up_token_id, "Up", 910_000))  # agent-a settles
        assert await ledger.total() == 0
        again, _ = orders_and_skips(engine("agent-b", b))
        assert len(again) == 1 and await ledger.of("agent-b") > 0
    finally:
        a.close()
        b.close()


async def test_reset_replaces_only_the_agents_own_share(redis, redis_url):
    ledger = ExposureLedger(redis)
    await ledger.reserve("other", D(5), D(100))
    await ledger.reserve("me", D(30), D(100))  # left over from a previous life
    me = RedisFloorCapital(redis_url, "me", D(100))
    try:
        me.reset(D("2.5"))
        assert await ledger.shares() == {"other": D(5), "me": D("2.5")}
        me.reset(D(0))
        assert await ledger.shares() == {"other": D(5)}
    finally:
        me.close()


async def test_redis_down_refuses_reservations_and_keeps_releases_for_later(redis, redis_url):
    dead = RedisFloorCapital("redis://127.0.0.1:1/0", "me", D(100), socket_timeout=0.5)
    try:
        assert not dead.reserve(D(1))  # no order without a reservation
        dead.release(D(4))
        assert dead.unreleased == 4_000_000  # kept, not lost
    finally:
        dead.close()
    ledger = ExposureLedger(redis)
    floor = RedisFloorCapital(redis_url, "me", D(100))
    try:
        assert floor.reserve(D(10))
        floor.unreleased = 4_000_000  # a release Redis did not take
        assert floor.reserve(D(1))  # goes first, then the reservation
        assert await ledger.of("me") == D(7) and floor.unreleased == 0
    finally:
        floor.close()


async def test_trader_resets_its_share_on_start_to_what_its_engine_holds(redis, redis_url, db_url, tmp_path):
    floor = floor_capital(redis_url, "fc", "2500")
    assert floor is not None and floor.cap == D(1000)
    config = SimConfig(seed=2, assets=("BTC",), pattern="momentum")
    events = MarketSimulator(config).advance_to(config.start_ms + 600_000)  # mid-round: positions open
    runtime = await TraderRuntime.start(
        "fc", SPEC, Settings(state_dir=tmp_path), TraderStore(db_url, tmp_path, "fc"), floor=floor
    )
    for e in events:
        await runtime.on_event(e, 0)
    held = sum(runtime.engine.floor_reserved.values(), D(0))
    assert held > 0 and held <= floor.share() < held + D("0.00001")  # Redis keeps micro-dollars, rounded up
    await runtime.stop()

    ledger = ExposureLedger(redis)
    await ledger.reset("fc", D(300))  # whatever a crashed life left behind
    again = await TraderRuntime.start(
        "fc",
        SPEC,
        Settings(state_dir=tmp_path),
        TraderStore(db_url, tmp_path, "fc"),
        floor=floor_capital(redis_url, "fc", "2500"),
    )
    assert sum(again.engine.floor_reserved.values(), D(0)) == held
    assert await ledger.of("fc") == from_micro(to_micro(held))
    await again.stop()


def test_floor_capital_comes_from_its_environment_variable(redis_url):
    assert floor_capital(redis_url, "fc", None) is None and floor_capital(redis_url, "fc", " ") is None
    for bad in ("lots", "-5", "0", "Infinity"):
        with pytest.raises(ValueError, match="FLOOR_CAPITAL="):
            floor_capital(redis_url, "fc", bad)
