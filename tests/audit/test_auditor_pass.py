"""The auditor over a real PostgreSQL: every fill and trade checked once, violations recorded,
nothing re-audited after a restart, and the resulting log verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from floor_agents.auditor import log
from floor_agents.auditor.audit_pass import Auditor, BookCache
from tradingfloor.audit.chain import verify_chain
from tradingfloor.audit.checks import Thresholds
from tradingfloor.persistence.db import create_pool
from tradingfloor.persistence.repositories import (
    FillRow,
    MarketRow,
    OrderRow,
    TradeRow,
    recent_events,
    record_fill,
    record_order,
    record_trade,
    upsert_agent,
    upsert_market,
)
from tradingfloor.trading.fees import taker_fee

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
RATE, EXP = D("0.25"), 2
BOOK = {"bids": [["0.49", "100"]], "asks": [["0.50", "100"], ["0.51", "100"]]}


async def _seed(pool):
    await upsert_agent(
        pool,
        "alpha",
        "TraderAgent",
        {"strategy": "momentum", "market": {"asset": "BTC"}, "risk": {"capital": "1000"}},
    )
    await upsert_market(
        pool,
        MarketRow(
            "m1",
            "btc-updown-15m-1",
            "BTC",
            "15m",
            "up",
            "down",
            T0,
            T0 + timedelta(minutes=15),
            D("0.01"),
            D("5"),
            RATE,
            EXP,
        ),
    )
    await pool.execute(
        "INSERT INTO market_data (market_id, token_id, ts, kind, payload) VALUES ('m1', 'up', $1, 'book', $2)",
        T0 - timedelta(seconds=1),
        BOOK,
    )

    async def buy(cid, size, price, fee, at):
        await record_order(
            pool, OrderRow(cid, "alpha", "m1", "up", "BUY", "FAK", D(price), D(size), "filled", at)
        )
        await record_fill(pool, FillRow(f"{cid}-f", cid, D(price), D(size), D(fee), at))

    good_fee = taker_fee(D(10), D("0.50"), RATE, EXP)
    await buy("o1", "10", "0.50", good_fee, T0)  # clean
    await buy("o2", "10", "0.50", "0.5", T0 + timedelta(seconds=1))  # fee far from the schedule
    # settled winner: 20 shares at 0.50 pay 20; the reported gross is off by 1
    fees = good_fee + D("0.5")
    await record_trade(
        pool,
        TradeRow(
            "t1",
            "alpha",
            "m1",
            "up",
            D(20),
            D("0.50"),
            D(1),
            "settled",
            T0,
            T0 + timedelta(minutes=15),
            D(11),
            fees,
            D(11) - fees,
        ),
    )


async def test_each_item_audited_once_and_logged(audit_db):
    pool = await create_pool(audit_db)
    try:
        await _seed(pool)
        auditor = Auditor("auditor", Thresholds())
        stats = await auditor.run_pass(pool)
        assert stats.checked == 3
        assert sorted((v.trade_id, v.rule) for v in stats.violations) == [
            ("1", "pnl.recompute"),
            ("o2-f", "fee.schedule"),
        ]
        # a restarted auditor (fresh object, empty caches) finds nothing left to do
        assert (await Auditor("auditor", Thresholds(), books=BookCache()).run_pass(pool)).checked == 0
        # a new fill after the restart is picked up
        await record_order(
            pool,
            OrderRow(
                "o3", "alpha", "m1", "up", "BUY", "FAK", D("0.6"), D(10), "filled", T0 + timedelta(seconds=2)
            ),
        )
        await record_fill(
            pool,
            FillRow(
                "o3-f",
                "o3",
                D("0.6"),
                D(10),
                taker_fee(D(10), D("0.6"), RATE, EXP),
                T0 + timedelta(seconds=2),
            ),
        )
        again = await auditor.run_pass(pool)
        assert again.checked == 1 and [v.rule for v in again.violations] == ["book.price"]

        summary = await auditor.summary(pool)
        assert summary["tradesChecked"] == 4 and summary["violations"] == 3
        async with pool.acquire() as conn:
            entries = [e async for e in log.entries(conn)]
        assert sorted(e.subject for e in entries) == ["fill:o1-f", "fill:o2-f", "fill:o3-f", "trade:1"]
        result = verify_chain(entries)
        assert result.ok and summary["chainHead"] == f"{result.head_seq}:{result.head_hash}"
        clean = next(e for e in entries if e.subject == "fill:o1-f")
        assert clean.payload["violations"] == [] and clean.payload["skipped"] == []
        events = await recent_events(pool, type="audit_violation")
        assert sorted(e.reason for e in events) == ["book.price", "fee.schedule", "pnl.recompute"]
    finally:
        await pool.close()


def test_book_from_a_trade_executed_message():
    cache = BookCache(size=2)
    assert cache.consume_message({"type": "trade_executed", "payload": {"fill_id": "f1", "book": BOOK}})
    assert not cache.consume_message(
        {"type": "trade_executed", "payload": {"fill_id": "f2", "book": {"bids": "x"}}}
    )
    book = cache.pop("f1")
    assert book.asks[0] == (D("0.50"), D("100")) and cache.pop("f1") is None
