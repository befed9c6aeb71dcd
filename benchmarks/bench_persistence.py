"""Persistence throughput: checkpoint writes per second (database up), journal appends per second
(database down), and journal replay rate (entries per second when the database comes back).

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
from decimal import Decimal
from pathlib import Path

from tradingfloor.persistence import repositories as repo
from tradingfloor.persistence.checkpoints import CheckpointStore
from tradingfloor.persistence.db import Database
from tradingfloor.persistence.journal import DurableWriter, Journal
from tradingfloor.persistence.migrate import migrate
from tradingfloor.services.embedded import EmbeddedPostgres, free_port

STATE = {  # a realistic agent checkpoint: cash, a few positions, counters, recent prices
    "cash": Decimal("987.654321"),
    "positions": [
        {
            "market_id": "0x" + "ab" * 32,
            "token_id": str(10**76 + i),
            "shares": "12.5",
            "cost_basis": "6.25",
            "fees": "0.0123",
        }
        for i in range(3)
    ],
    "counters": {"orders": 1234, "fills": 1100, "trades": 311},
    "recent_prices": [str(Decimal("0.5") + Decimal(i) / 1000) for i in range(60)],
}


async def timed(label: str, seconds: float, step) -> tuple[int, float]:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        await step(n)
        n += 1
    elapsed = time.perf_counter() - start
    print(f"{label:<52} {n / elapsed:>10,.0f} /s   ({n} in {elapsed:.2f}s)")
    return n, elapsed


async def main(seconds: float) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-persist-"))
    server = None
    url = os.environ.get("DATABASE_URL")
    if not url:
        server = EmbeddedPostgres(work / "pg").start()
        url = server.url
    try:
        await migrate(url)
        db = Database(url)
        writer = DurableWriter(db, work / "journal.jsonl")
        store = CheckpointStore(writer, work / "checkpoints")

        await timed(
            "checkpoint writes (CheckpointStore: db + file)",
            seconds,
            lambda i: store.save("bench-agent", STATE),
        )
        await timed(
            "checkpoint writes (DurableWriter, db only)",
            seconds,
            lambda i: writer.save_checkpoint("bench-raw", i + 1, STATE),
        )
        await writer.close()

        # outage: every write goes to the fsync'd journal
        down = DurableWriter(
            Database(f"postgresql://postgres@127.0.0.1:{free_port()}/none", timeout=1), work / "outage.jsonl"
        )
        n, _ = await timed(
            "journal appends (database down, fsync each)",
            seconds,
            lambda i: down.save_checkpoint("bench-outage", i + 1, STATE),
        )
        await down.close()

        # the database comes back: replay everything
        start = time.perf_counter()
        journal = Journal(work / "outage.jsonl")
        loaded = time.perf_counter() - start
        replayer = DurableWriter(db, journal)
        start = time.perf_counter()
        await replayer.start()
        assert await replayer.drain(timeout=600)
        elapsed = time.perf_counter() - start
        stored = len(await repo.list_checkpoints(db, "bench-outage"))
        assert stored == n, (stored, n)
        print(
            f"{'journal replay (batches of 200, one transaction each)':<52} {n / elapsed:>10,.0f} /s   "
            f"({n} in {elapsed:.2f}s; reading the journal {loaded:.2f}s)"
        )
        await replayer.close()
        await db.close()
    finally:
        if server:
            server.destroy()


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0))
