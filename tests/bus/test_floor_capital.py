"""The floor-wide deployed-capital cap across agents: two trading engines reserve through one real
Redis, the second is refused beyond the cap, releases give room back, a restarted agent resets
its own share and a trader runtime does so on start; the credit an agent holds ahead covers its next
order without a round trip and never lets the floor's total pass the cap."""

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
    credit = from_micro(floor.credit)
    assert credit == runtime.engine.risk.max_stake(D(0), D(1000))  # the next order's largest stake
    assert held > 0 and held <= floor.share() - credit < held + D("0.00001")  # micro-dollars, rounded up
    await runtime.stop()
    assert held <= floor.share() < held + D("0.00001")  # stopping gave the credit back

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
    assert again.floor is not None
    assert await ledger.of("fc") == from_micro(to_micro(held) + again.floor.credit)
    await again.stop()
    assert await ledger.of("fc") == from_micro(to_micro(held))


def test_floor_capital_comes_from_its_environment_variable(redis_url):
    assert floor_capital(redis_url, "fc", None) is None and floor_capital(redis_url, "fc", " ") is None
    for bad in ("lots", "-5", "0", "Infinity"):
        with pytest.raises(ValueError, match="FLOOR_CAPITAL="):
            floor_capital(redis_url, "fc", bad)


async def reservations_run(redis) -> int:
    """How many reservation scripts Redis has run so far (its own command statistics)."""
    stats = await redis.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("evalsha", "eval"))


async def test_an_order_within_the_credit_makes_no_round_trip(redis, redis_url):
    floor = RedisFloorCapital(redis_url, "me", D(100))
    ledger = ExposureLedger(redis)
    try:
        floor.set_credit_target(D(12))
        floor.top_up()
        assert await ledger.of("me") == D(12) and floor.credit == 12_000_000
        before = await reservations_run(redis)
        assert floor.reserve(D("7.5"))
        assert await reservations_run(redis) == before  # reserved from the credit, in this process
        assert await ledger.of("me") == D(12) and floor.credit == 4_500_000
        assert floor.reserve(D(10))  # more than is left: the shortfall is reserved there and then
        assert await reservations_run(redis) == before + 1
        assert await ledger.of("me") == D("17.5") and floor.credit == 0
        floor.release(D(15))  # 15 of the 17.5 come back: to the credit, the 3 over its target to Redis
        assert floor.credit == 12_000_000 and await ledger.of("me") == D("14.5")
    finally:
        floor.close()
    assert await ledger.of("me") == D("2.5")  # closing gave the credit back; what is deployed stays


async def test_credits_never_let_the_floor_pass_its_cap(redis, redis_url):
    cap = D(30)
    a = RedisFloorCapital(redis_url, "agent-a", cap)
    b = RedisFloorCapital(redis_url, "agent-b", cap)
    ledger = ExposureLedger(redis)
    try:
        a.set_credit_target(D(20))
        b.set_credit_target(D(20))
        a.top_up()
        b.top_up()  # 20 more would pass the cap: refused, b holds nothing ahead
        assert await ledger.shares() == {"agent-a": D(20)} and b.credit == 0
        assert not b.reserve(D(15))  # its order asks Redis itself, and is refused
        assert b.reserve(D(10)) and await ledger.total() == cap
        assert a.reserve(D(20)) and not a.reserve(D("0.01"))  # a's credit spent; the floor is full
        a.set_credit_target(D(0))  # a Paused agent holds nothing ahead
        a.release(D(20))
        assert await ledger.shares() == {"agent-b": D(10)}
        b.top_up()  # now there is room for b's credit
        assert b.credit == 20_000_000 and await ledger.total() == cap
    finally:
        a.close()
        b.close()
    assert await ledger.shares() == {"agent-b": D(10)}


async def test_reset_drops_a_credit_from_a_previous_life(redis, redis_url):
    floor = RedisFloorCapital(redis_url, "me", D(100))
    ledger = ExposureLedger(redis)
    try:
        floor.set_credit_target(D(12))
        floor.top_up()
        floor.reset(D(3))  # what the restored engine holds; the credit is gone with the old life
        assert floor.credit == 0 and await ledger.of("me") == D(3)
        floor.top_up()
        assert await ledger.of("me") == D(15)
    finally:
        floor.close()
    assert await ledger.of("me") == D(3)
