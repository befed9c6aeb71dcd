"""Persistence throughput of the trader's store (``floor_agents.trader.store.TraderStore``, the code
every trader runs): steps committed per second with the database up (one transaction: an order, its
fill and the engine checkpoint), steps journaled per second with the database down (one fsync'd
line each), and the replay rate when the database comes back.

Uses DATABASE_URL when set, otherwise starts an embedded PostgreSQL (fsync off, as in the tests:
the figures measure this code, not the disk). Journal appends are fsync'd as in production.
Run: .venv/bin/python benchmarks/bench_persistence.py [seconds-per-phase]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from floor_agents.trader.store import Batch, TraderStore, fill_id
from tradingfloor.market.events import MarketInfo
from tradingfloor.persistence import repositories as repo
from tradingfloor.persistence.db import Database
from tradingfloor.persistence.migrate import migrate
from tradingfloor.services.embedded import EmbeddedPostgres, free_port
from tradingfloor.trading.orders import Fill, Order, client_order_id

MARKET = MarketInfo(
    market_id="0x" + "ab" * 32,
    slug="btc-updown-15m-1767225600",
    asset="BTC",
    interval="15m",
    up_token_id=str(10**76 + 1),
    down_token_id=str(10**76 + 2),
    start_ms=1_767_225_600_000,
    end_ms=1_767_226_500_000,
    tick_size=Decimal("0.01"),
    min_size=Decimal(5),
    fee_rate=Decimal("0.072"),
    fee_exponent=1,
)
STATE: dict[str, Any] = {  # a realistic engine checkpoint: cash, a few positions, counters, recent prices
    "cash": "987.654321",
    "positions": [
        {"token_id": str(10**76 + i), "shares": "12.5", "cost_basis": "6.25", "fees": "0.0123"}
        for i in range(3)
    ],
    "counters": {"orders": 1234, "fills": 1100, "trades": 311},
    "recent_prices": [str(Decimal("0.5") + Decimal(i) / 1000) for i in range(60)],
}


def step_batch(agent: str, n: int) -> Batch:
    """What one trading step typically changes: a new order and its fill."""
    batch = Batch(agent)
    cid = client_order_id(agent, MARKET.market_id, n)
    ts = MARKET.start_ms + n
    price, size = Decimal("0.52"), Decimal(10)
    batch.order(
        Order(cid, agent, MARKET.market_id, MARKET.up_token_id, "BUY", price, size, "FOK", ts), "filled"
    )
    batch.fill(
        fill_id(cid, 0),
        Fill(cid, MARKET.market_id, MARKET.up_token_id, "BUY", price, size, Decimal("0.09"), "taker", ts),
    )
    return batch


async def timed(label: str, seconds: float, step: Callable[[int], Awaitable[object]]) -> tuple[int, float]:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        await step(n)
        n += 1
    elapsed = time.perf_counter() - start
    print(f"{label:<56} {n / elapsed:>10,.0f} /s   ({n} in {elapsed:.2f}s)")
    return n, elapsed


async def open_store(url: str, work: Path, agent: str) -> TraderStore:
    store = TraderStore(url, work, agent, startup_wait_s=1.0)
    await store.open()
    first = Batch(agent)
    first.market(MARKET)
    await store.commit(0, STATE, first)
    return store


async def main(seconds: float) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-persist-"))
    server = None
    url = os.environ.get("DATABASE_URL")
    if not url:
        server = EmbeddedPostgres(work / "pg").start()
        url = server.url
    try:
        await migrate(url)
        up = await open_store(url, work, "bench-up")
        await timed(
            "trader steps committed (order + fill + checkpoint)",
            seconds,
            lambda i: up.commit(i + 1, STATE, step_batch("bench-up", i + 1)),
        )
        await up.close()

        # outage: the same agent's steps go to the fsync'd journal, in order
        await (await open_store(url, work, "bench-outage")).close()
        down = TraderStore(f"postgresql://postgres@127.0.0.1:{free_port()}/none", work, "bench-outage")
        down.migrated = True  # the schema exists; skip the start-up migration attempt against the dead port
        await down.open()
        n, _ = await timed(
            "trader steps journaled (database down, fsync each)",
            seconds,
            lambda i: down.commit(i + 1, STATE, step_batch("bench-outage", i + 1)),
        )
        await down.close(drain_timeout=0)

        # the database comes back: the next start replays the journal in order
        start = time.perf_counter()
        back = TraderStore(url, work, "bench-outage")
        await back.open()
        assert back.writer is not None and await back.writer.drain(timeout=600)
        elapsed = time.perf_counter() - start
        db = Database(url)
        stored = await db.fetchval(
            "SELECT count(*) FROM fills JOIN orders USING (client_order_id) WHERE orders.agent = $1",
            "bench-outage",
        )
        newest = await repo.load_checkpoint(db, "bench-outage")
        assert newest is not None and newest.seq == n, (newest, n)
        print(
            f"{'journal replay on restart (batches of steps, in order)':<56} {n / elapsed:>10,.0f} /s   "
            f"({n} steps in {elapsed:.2f}s; {stored} of its fills in the database)"
        )
        await back.close()
        await db.close()
    finally:
        if server:
            server.destroy()


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0))
