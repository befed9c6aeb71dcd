"""The repository layer against a real, migrated PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import asyncpg
import pytest

from tests.persistence.helpers import T0, order, trade
from tradingfloor.persistence import repositories as repo


async def test_agents_spec_status_and_lineage(db):
    spec = {"strategy": "momentum", "params": {"lookbackSeconds": 300}, "risk": {"capital": "1000"}}
    a = await repo.upsert_agent(
        db, "momentum-btc", "TraderAgent", spec, labels={"tradingfloor.dev/strategy": "momentum"}
    )
    assert (a.spec, a.status, a.spec_generation, a.generation, a.parent) == (spec, {}, 1, 0, None)
    assert a.created_at is not None and a.retired_at is None

    # same spec: generation unchanged; status is not touched by a spec upsert
    assert await repo.patch_agent_status(
        db, "momentum-btc", {"phase": "Running", "restarts": {"total": 1}}
    ) == {"phase": "Running", "restarts": {"total": 1}}
    a = await repo.upsert_agent(db, "momentum-btc", "TraderAgent", spec)
    assert a.spec_generation == 1 and a.status["phase"] == "Running"
    # a changed spec bumps spec_generation
    a = await repo.upsert_agent(db, "momentum-btc", "TraderAgent", {**spec, "lifecycle": "Paused"})
    assert a.spec_generation == 2
    # merging status keeps other keys
    status = await repo.patch_agent_status(db, "momentum-btc", {"performance": {"pnl": "12.5"}})
    assert status == {"phase": "Running", "restarts": {"total": 1}, "performance": {"pnl": "12.5"}}
    assert await repo.set_agent_status(db, "momentum-btc", {"phase": "Stopped"})
    assert (await repo.get_agent(db, "momentum-btc")).status == {"phase": "Stopped"}
    assert await repo.patch_agent_status(db, "nobody", {"x": 1}) is None
    assert not await repo.set_agent_status(db, "nobody", {})

    with pytest.raises(ValueError, match="exists as a TraderAgent"):
        await repo.upsert_agent(db, "momentum-btc", "Monitor", {})
    with pytest.raises(asyncpg.CheckViolationError):
        await repo.upsert_agent(db, "bad", "Trader", {})

    clone = await repo.upsert_agent(
        db, "momentum-btc-g1", "TraderAgent", spec, generation=1, parent="momentum-btc"
    )
    assert (clone.generation, clone.parent) == (1, "momentum-btc")
    await repo.upsert_agent(db, "auditor", "Auditor", {"checkIntervalSeconds": 10})
    assert [a.name for a in await repo.list_agents(db)] == ["auditor", "momentum-btc", "momentum-btc-g1"]
    assert [a.name for a in await repo.list_agents(db, kind="TraderAgent")] == [
        "momentum-btc",
        "momentum-btc-g1",
    ]

    assert await repo.retire_agent(db, "momentum-btc", at=T0)
    assert await repo.retire_agent(db, "momentum-btc", at=T0 + timedelta(days=1))
    assert (await repo.get_agent(db, "momentum-btc")).retired_at == T0  # first retirement kept
    assert [a.name for a in await repo.list_agents(db, include_retired=False)] == [
        "auditor",
        "momentum-btc-g1",
    ]
    assert await repo.delete_agent(db, "auditor") and await repo.get_agent(db, "auditor") is None


async def test_markets_upsert_and_resolution(db):
    m = repo.MarketRow(
        "0xcond",
        "btc-updown-15m-1767225600",
        "BTC",
        "15m",
        "111",
        "222",
        T0,
        T0 + timedelta(minutes=15),
        Decimal("0.01"),
        Decimal("5"),
        Decimal("0.25"),
        2,
        price_to_beat=Decimal("97000.5"),
    )
    await repo.upsert_market(db, m)
    assert await repo.get_market(db, "0xcond") == m
    await repo.upsert_market(db, dataclasses.replace(m, tick_size=Decimal("0.001"), price_to_beat=None))
    got = await repo.get_market_by_slug(db, m.slug)
    assert got.tick_size == Decimal("0.001") and got.price_to_beat == Decimal("97000.5")
    assert [x.condition_id for x in await repo.list_markets(db, asset="BTC", unresolved_only=True)] == [
        "0xcond"
    ]
    assert await repo.resolve_market(db, "0xcond", "Up", "111", T0 + timedelta(minutes=15), Decimal("97100"))
    assert not await repo.resolve_market(db, "0xcond", "Down", "222", T0 + timedelta(minutes=16))
    got = await repo.get_market(db, "0xcond")
    assert (got.resolution, got.winning_token_id, got.final_price) == ("Up", "111", Decimal("97100"))
    assert await repo.list_markets(db, unresolved_only=True) == []
    # another market under the same slug (a resumed simulated floor with another seed) is stored too
    other = dataclasses.replace(m, condition_id="0xother", up_token_id="333", down_token_id="444")
    await repo.upsert_market(db, other)
    assert (await repo.get_market(db, "0xcond")).resolution == "Up"
    assert (await repo.get_market_by_slug(db, m.slug)).condition_id == "0xother"
    with pytest.raises(asyncpg.CheckViolationError):
        await repo.upsert_market(db, dataclasses.replace(m, condition_id="0xbad", slug="bad", end_ts=T0))


async def test_market_from_info():
    from tradingfloor.market.events import MarketInfo

    info = MarketInfo(
        "0xc",
        "eth-updown-15m-1",
        "ETH",
        "15m",
        "1",
        "2",
        1767225600000,
        1767226500000,
        Decimal("0.01"),
        Decimal("5"),
        Decimal("0.25"),
        2,
    )
    row = repo.MarketRow.from_info(info)
    assert repo.ms_from_ts(row.start_ts) == info.start_ms and repo.ms_from_ts(row.end_ts) == info.end_ms


async def test_orders_fills_idempotent(db):
    o = order("tf-1")
    assert await repo.record_order(db, o)
    assert not await repo.record_order(db, dataclasses.replace(o, size=Decimal(99)))  # same id: no-op
    got = await repo.get_order(db, "tf-1")
    assert got.size == Decimal("12.5") and got.updated_at == T0 and got.filled_size == 0
    assert await repo.update_order_status(
        db, "tf-1", "partial", filled_size=Decimal(5), venue_order_id="0xv1", at=T0 + timedelta(seconds=1)
    )
    assert [x.client_order_id for x in await repo.list_orders(db, agent="agent-a", open_only=True)] == [
        "tf-1"
    ]
    assert await repo.update_order_status(db, "tf-1", "filled", filled_size=Decimal("12.5"))
    assert await repo.list_orders(db, open_only=True) == []
    got = await repo.get_order(db, "tf-1")
    assert (got.status, got.filled_size, got.venue_order_id) == ("filled", Decimal("12.5"), "0xv1")
    assert not await repo.update_order_status(db, "unknown", "filled")
    with pytest.raises(asyncpg.CheckViolationError):
        await repo.update_order_status(db, "tf-1", "bogus")

    f1 = repo.FillRow("tf-1:0", "tf-1", Decimal("0.55"), Decimal(5), Decimal("0.01238"), T0)
    f2 = repo.FillRow("tf-1:1", "tf-1", Decimal("0.56"), Decimal("7.5"), Decimal("0.01848"), T0, "maker")
    assert await repo.record_fill(db, f1) and await repo.record_fill(db, f2)
    assert not await repo.record_fill(db, f1)
    fills = await repo.list_fills(db, client_order_id="tf-1")
    assert [dataclasses.replace(f, id=None) for f in fills] == [f1, f2]
    assert [f.fill_id for f in await repo.list_fills(db, agent="agent-a")] == ["tf-1:0", "tf-1:1"]
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await repo.record_fill(db, dataclasses.replace(f1, fill_id="x", client_order_id="no-such-order"))


async def test_trades_positions_performance(db):
    t1, t2 = trade("k1", 1), trade("k2", 2)
    assert await repo.record_trade(db, t1) and await repo.record_trade(db, t2)
    assert not await repo.record_trade(db, t1)
    stored = await repo.list_trades(db, agent="agent-a")
    assert [t.idempotency_key for t in stored] == ["k1", "k2"] and stored[0].id < stored[1].id
    assert dataclasses.replace(stored[0], id=None, recorded_at=None) == t1
    assert [t.idempotency_key for t in await repo.list_trades(db, after_id=stored[0].id)] == ["k2"]
    assert await repo.list_trades(db, agent="other") == []

    p = repo.PositionRow(
        "agent-a",
        "111",
        "0xmarket",
        Decimal(10),
        Decimal("0.45"),
        Decimal("4.5"),
        Decimal("0.01"),
        outcome="Up",
        opened_at=T0,
        updated_at=T0,
    )
    await repo.upsert_position(db, p)
    await repo.upsert_position(db, p)
    assert await repo.list_positions(db, "agent-a") == [p]
    closed = dataclasses.replace(p, size=Decimal(0), cost=Decimal(0), realized_pnl=Decimal("5.5"))
    await repo.upsert_position(db, closed)
    assert await repo.list_positions(db, "agent-a", open_only=True) == []
    assert (await repo.list_positions(db))[0].realized_pnl == Decimal("5.5")
    assert await repo.delete_position(db, "agent-a", "111")

    m = repo.PerformanceRow(
        "agent-a",
        T0,
        "24h",
        trades=10,
        wins=6,
        losses=4,
        win_rate=Decimal("0.6"),
        pnl=Decimal("12.34"),
        sharpe=Decimal("1.2"),
        max_drawdown=Decimal("0.05"),
        profit_factor=Decimal("1.8"),
        extra={"psr": "0.91"},
    )
    assert await repo.insert_performance(db, m)
    assert not await repo.insert_performance(db, m)
    later = dataclasses.replace(m, ts=T0 + timedelta(hours=1), pnl=Decimal(13))
    assert await repo.insert_performance(db, later)
    assert await repo.latest_performance(db, "agent-a", "24h") == later
    assert await repo.list_performance(db, agent="agent-a") == [m, later]
    with pytest.raises(asyncpg.CheckViolationError):
        await repo.insert_performance(db, dataclasses.replace(m, ts=T0 - timedelta(1), wins=11))


async def test_events(db):
    e1 = await repo.record_event(db, "agent_started", "started", agent="a", payload={"pid": 1}, ts=T0)
    e2 = await repo.record_event(
        db,
        "agent_restarted",
        "restart 1",
        agent="a",
        reason="Crashed",
        ts=T0 + timedelta(seconds=1),
        event_key="k",
    )
    assert e1 and e2 and e2 > e1
    assert await repo.record_event(db, "agent_restarted", "again", event_key="k") is None
    await repo.record_event(db, "floor_started", "floor up", ts=T0 - timedelta(seconds=1))
    recent = await repo.recent_events(db, limit=10)
    assert [e.type for e in recent] == ["agent_restarted", "agent_started", "floor_started"]
    assert [e.type for e in await repo.recent_events(db, agent="a", type="agent_started")] == [
        "agent_started"
    ]
    assert recent[1].payload == {"pid": 1} and recent[0].reason == "Crashed"
    assert [e.type for e in await repo.recent_events(db, since=T0)] == ["agent_restarted", "agent_started"]


async def test_checkpoints(db):
    assert await repo.load_checkpoint(db, "a") is None
    for seq in (1, 2, 3):
        assert await repo.save_checkpoint(db, "a", seq, {"seq": seq, "cash": Decimal("10.5")}, T0)
    assert not await repo.save_checkpoint(
        db, "a", 3, {"seq": 3, "cash": Decimal("10.5")}, T0
    )  # replay: no-op
    with pytest.raises(repo.CheckpointConflict):
        await repo.save_checkpoint(db, "a", 3, {"seq": "different"}, T0)
    cp = await repo.load_checkpoint(db, "a")
    assert (cp.seq, cp.state, cp.created_at) == (3, {"seq": 3, "cash": "10.5"}, T0)
    assert await repo.prune_checkpoints(db, "a", keep=2) == 1
    assert [c.seq for c in await repo.list_checkpoints(db, "a")] == [2, 3]


async def test_market_data_batch(db):
    rows = [
        repo.MarketDataRow(
            "0xm",
            "111",
            T0 + timedelta(seconds=i),
            "bbo",
            Decimal("0.4") + i / Decimal(100),
            Decimal("0.6"),
            None,
            {"i": i, "px": Decimal("0.5")},
        )
        for i in range(500)
    ]
    assert await repo.insert_market_data_batch(db, rows) == 500
    assert await repo.insert_market_data_batch(db, []) == 0
    got = await repo.list_market_data(
        db, "0xm", since=T0 + timedelta(seconds=10), until=T0 + timedelta(seconds=12)
    )
    assert [(r.best_bid, r.payload) for r in got] == [
        (Decimal("0.50"), {"i": 10, "px": "0.5"}),
        (Decimal("0.51"), {"i": 11, "px": "0.5"}),
    ]


async def test_audit_log_is_append_only(db, migrated_url):
    entries = [
        repo.AuditRow(
            i,
            T0 + timedelta(seconds=i),
            "auditor",
            f"trade:{i}",
            "trade_checked",
            {"ok": True, "pnl": "1.5"},
            f"{i - 1:064x}",
            f"{i:064x}",
        )
        for i in range(1, 4)
    ]
    for e in entries:
        assert await repo.append_audit(db, e)
    assert not await repo.append_audit(db, entries[1])  # same entry again: no-op
    with pytest.raises(repo.AuditConflict):
        await repo.append_audit(db, dataclasses.replace(entries[1], hash="f" * 64))
    assert await repo.read_audit(db) == entries
    assert await repo.read_audit(db, after_seq=1, limit=1) == entries[1:2]
    assert await repo.last_audit(db) == entries[-1]

    for stmt in (
        "UPDATE audit_log SET payload = '{}' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 2",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await db.execute(stmt)
    assert await repo.read_audit(db) == entries

    # a superuser can still bypass the trigger, as the tamper test does; the hash chain catches that
    conn = await asyncpg.connect(migrated_url)
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute("""UPDATE audit_log SET payload = '{"ok": false}' WHERE seq = 2""")
    finally:
        await conn.close()
    assert (await repo.read_audit(db))[1].payload == {"ok": False}


async def test_strategy_library(db):
    s = repo.StrategyRow("momentum-v1", "momentum", {"lookbackSeconds": 300}, summary={"sharpe": "1.1"})
    got = await repo.upsert_strategy(db, s)
    assert (got.name, got.status, got.params, got.created_at is not None) == (
        "momentum-v1",
        "candidate",
        {"lookbackSeconds": 300},
        True,
    )
    child = repo.StrategyRow(
        "momentum-v2",
        "momentum",
        {"lookbackSeconds": 240},
        "testing",
        "momentum-v1",
        1,
        "lookbackSeconds -20%",
    )
    await repo.upsert_strategy(db, child)
    await repo.upsert_strategy(db, dataclasses.replace(s, status="production"))
    assert [x.name for x in await repo.list_strategies(db)] == ["momentum-v1", "momentum-v2"]
    assert [x.name for x in await repo.list_strategies(db, status="production")] == ["momentum-v1"]
    got = await repo.get_strategy(db, "momentum-v2")
    assert (got.parent, got.generation, got.variation) == ("momentum-v1", 1, "lookbackSeconds -20%")


def test_time_helpers():
    assert repo.ts_from_ms(1767225600123).isoformat() == "2026-01-01T00:00:00.123000+00:00"
    assert repo.ms_from_ts(repo.ts_from_ms(1767225600123)) == 1767225600123
    with pytest.raises(ValueError, match="timezone-aware"):
        repo.ms_from_ts(T0.replace(tzinfo=None))
