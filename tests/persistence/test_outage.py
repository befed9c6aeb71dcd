"""PostgreSQL stops while a trader's store (the production ``TraderStore``) checkpoints every 100 ms
and records trades: every write made during the outage reaches the database exactly once, in write
order, once it is back, and a read during the outage finds the newest checkpoint in the journal."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

from floor_agents.trader.store import Batch, TraderStore
from tests.persistence.helpers import trade
from tradingfloor.persistence import repositories as repo
from tradingfloor.persistence.db import Database
from tradingfloor.persistence.migrate import migrate

AGENT = "outage-agent"


async def test_outage_writes_land_exactly_once_in_order(own_pg, tmp_path):
    await migrate(own_pg.url)
    db = Database(own_pg.url, timeout=2)
    store = TraderStore(own_pg.url, tmp_path, AGENT)
    await store.open()
    writer = store.writer
    assert writer is not None
    writer.retry_interval = 0.1
    checkpoints: list[int] = []  # seqs in write order
    trades: list[str] = []  # idempotency keys in write order
    where: Counter[str] = Counter()
    phase = {"name": "before"}
    during_outage: Counter[str] = Counter()
    stop = asyncio.Event()

    async def agent() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            committed = await store.commit(
                i, {"i": i, "cash": Decimal("1000") - Decimal(i) / 100}, Batch(AGENT)
            )
            checkpoints.append(i)
            where["db" if committed else "journal"] += 1
            if phase["name"] == "outage":
                during_outage["checkpoint"] += 1
            if i % 3 == 0:
                key = f"{AGENT}-trade-{i}"
                where[await writer.record_trade(trade(key, i, AGENT))] += 1
                trades.append(key)
                if phase["name"] == "outage":
                    during_outage["trade"] += 1
            await asyncio.sleep(0.1)

    task = asyncio.create_task(agent())
    try:
        await asyncio.sleep(1.5)
        phase["name"] = "outage"
        await asyncio.to_thread(own_pg.stop)
        assert not own_pg.is_running()
        await asyncio.sleep(3)
        assert writer.pending > 0, "writes during the outage should be journaled"
        # a read while the database is down finds the newest checkpoint in the journal
        newest = await store.load()
        assert newest is not None and newest[0] == checkpoints[-1]
        await asyncio.to_thread(own_pg.start)
        phase["name"] = "after"
        await asyncio.sleep(1.5)
    finally:
        stop.set()
        await task
    assert await writer.drain(timeout=60), f"journal still holds {writer.pending} writes"

    assert during_outage["checkpoint"] >= 15 and during_outage["trade"] >= 5, during_outage
    assert where["journal"] >= 20 and where["db"] >= 10, where

    stored_cps = await repo.list_checkpoints(db, AGENT)  # in write (insertion) order
    assert [c.seq for c in stored_cps] == checkpoints
    assert checkpoints == list(range(1, len(checkpoints) + 1))
    assert [c.state["i"] for c in stored_cps] == checkpoints
    stored_trades = await repo.list_trades(db, agent=AGENT)  # in insertion order
    assert [t.idempotency_key for t in stored_trades] == trades
    assert await db.fetchval("SELECT count(*) FROM trades") == len(trades)
    assert await db.fetchval("SELECT count(*) FROM agent_checkpoints") == len(checkpoints)

    journal = writer.journal
    assert journal.path.stat().st_size == 0
    assert not journal.cursor_path.exists()
    assert not journal.rejected_path.exists()
    assert journal.replayed == journal.appended == where["journal"]
    await store.close()
    await db.close()
