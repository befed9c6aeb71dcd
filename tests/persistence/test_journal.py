"""The journal and the DurableWriter: durability, order, exactly-once replay, crashes mid-replay."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.conftest import REPO_ROOT
from tests.persistence.helpers import T0, order, trade
from tradingfloor.persistence import repositories as repo
from tradingfloor.persistence.db import Database
from tradingfloor.persistence.journal import (
    DurableWriter,
    Journal,
    JournalLocked,
    decode,
    encode,
)
from tradingfloor.services.embedded import free_port


def unreachable_db() -> Database:
    return Database(f"postgresql://postgres:pw@127.0.0.1:{free_port()}/nothing", timeout=1)


def test_codec_round_trip():
    value = {
        "d": Decimal("0.1000"),
        "t": T0,
        "rows": [trade("k", 3)],
        "n": None,
        "f": 1.5,
        "tricky": {"$decimal": "not a tag"},
        "nested": [{"x": Decimal("-1E-7")}],
    }
    back = decode(json.loads(json.dumps(encode(value))))
    assert back == value
    assert str(back["d"]) == "0.1000" and back["t"].tzinfo is not None
    with pytest.raises(ValueError):
        encode(datetime(2026, 1, 1))  # naive
    with pytest.raises(TypeError):
        encode(object())


def test_journal_appends_persist_and_torn_tail_is_dropped(tmp_path):
    path = tmp_path / "j.jsonl"
    j = Journal(path)
    for i in range(3):
        j.append([("checkpoint", {"agent": "a", "seq": i + 1, "state": {"i": i}, "created_at": T0})])
    with pytest.raises(JournalLocked):
        Journal(path)  # one writer per journal
    j.close()
    with open(path, "ab") as f:
        f.write(b'{"n": 4, "ops": [["checkpoint", {"agent"')  # a crash in the middle of an append
    j = Journal(path)
    assert [e.n for e in j.pending_entries()] == [1, 2, 3]
    assert path.read_bytes().endswith(b"\n")
    e = j.append([("trade", {"t": trade("k", 1)})])
    assert e.n == 4 and len(j) == 4
    j.mark_applied(2)
    assert j.cursor_path.read_text().strip() == "2"
    j.close()
    j = Journal(path)
    assert [e.n for e in j.pending_entries()] == [3, 4]
    assert list(j.pending_entries())[1].ops[0][1]["t"] == trade("k", 1)
    j.mark_applied(4)
    assert path.stat().st_size == 0 and not j.cursor_path.exists()
    assert j.append([("trade", {"t": trade("k2", 2)})]).n == 5  # numbers keep growing
    j.close()


def test_unreadable_line_is_set_aside(tmp_path):
    path = tmp_path / "j.jsonl"
    j = Journal(path)
    j.append([("trade", {"t": trade("k1", 1)})])
    j.close()
    with open(path, "ab") as f:
        f.write(b"garbage\n")
    j = Journal(path)
    j.append([("trade", {"t": trade("k2", 2)})])
    assert [e.n for e in j.pending_entries()] == [1, 2]
    assert "unreadable journal line 2" in j.rejected_path.read_text()
    j.close()


async def test_writes_go_to_the_journal_while_the_database_is_unreachable(tmp_path):
    writer = DurableWriter(unreachable_db(), tmp_path / "j.jsonl", retry_interval=0.05)
    assert await writer.record_trade(trade("k1", 1)) == "journal"
    assert await writer.save_checkpoint("a", 1, {"x": 1}) == "journal"
    assert writer.pending == 2
    assert not await writer.drain(timeout=0.3)
    await writer.close()
    # the next writer on the same file finds them
    writer = DurableWriter(unreachable_db(), tmp_path / "j.jsonl")
    assert writer.pending == 2
    await writer.close()


async def test_data_errors_raise_and_are_not_journaled(db, tmp_path):
    async with DurableWriter(db, tmp_path / "j.jsonl") as writer:
        with pytest.raises(Exception, match="foreign key"):
            await writer.record_fill(
                repo.FillRow("f", "no-such-order", Decimal("0.5"), Decimal(1), Decimal(0), T0)
            )
        assert writer.pending == 0
        with pytest.raises(ValueError, match="unknown operation"):
            await writer.submit(("drop_tables", {}))


async def test_group_of_operations_is_one_transaction(db, tmp_path):
    async with DurableWriter(db, tmp_path / "j.jsonl") as writer:
        o = order("tf-1")
        f = repo.FillRow("tf-1:0", "tf-1", Decimal("0.55"), Decimal(1), Decimal("0.01"), T0)
        assert await writer.submit(("order", {"o": o}), ("fill", {"f": f})) == "db"
        bad = repo.FillRow("tf-2:0", "tf-2", Decimal("0.55"), Decimal(1), Decimal("0.01"), T0)
        with pytest.raises(Exception, match="foreign key"):
            await writer.submit(("trade", {"t": trade("k9", 9)}), ("fill", {"f": bad}))
    assert await repo.list_trades(db) == []  # rolled back with the failing fill
    assert [x.fill_id for x in await repo.list_fills(db)] == ["tf-1:0"]


def _journal_with(path, n_entries: int) -> list[tuple[str, object]]:
    """A journal holding ``n_entries`` writes (as if made during an outage); returns their keys in order."""
    j = Journal(path)
    keys: list[tuple[str, object]] = []
    for i in range(1, n_entries + 1):
        if i % 4 == 0:
            j.append([("trade", {"t": trade(f"k{i}", i)})])
            keys.append(("trade", f"k{i}"))
        else:
            j.append([("checkpoint", {"agent": "a", "seq": i, "state": {"i": i}, "created_at": T0})])
            keys.append(("checkpoint", i))
    j.close()
    return keys


async def _assert_exactly_once_in_order(db, keys) -> None:
    cps = await repo.list_checkpoints(db, "a")
    trades = await repo.list_trades(db)
    assert [c.seq for c in cps] == [k for kind, k in keys if kind == "checkpoint"]
    assert [t.idempotency_key for t in trades] == [k for kind, k in keys if kind == "trade"]


async def test_rejected_entry_is_set_aside_and_replay_goes_on(db, tmp_path):
    path = tmp_path / "j.jsonl"
    j = Journal(path)
    j.append([("trade", {"t": trade("k1", 1)})])
    j.append(
        [("fill", {"f": repo.FillRow("f", "no-such-order", Decimal("0.5"), Decimal(1), Decimal(0), T0)})]
    )
    j.append([("trade", {"t": trade("k2", 2)})])
    j.close()
    writer = await DurableWriter(db, path).start()
    assert await writer.drain(timeout=20)
    assert [t.idempotency_key for t in await repo.list_trades(db)] == ["k1", "k2"]
    rejected = writer.journal.rejected_path.read_text().splitlines()
    assert len(rejected) == 1 and "ForeignKeyViolation" in rejected[0] and "no-such-order" in rejected[0]
    assert path.stat().st_size == 0
    await writer.close()


async def test_later_writes_wait_behind_the_journal(db, tmp_path):
    path = tmp_path / "j.jsonl"
    keys = _journal_with(path, 40)
    writer = DurableWriter(db, path, batch_size=7)
    # submitted while 40 older writes are pending: it must land after them, not before
    assert await writer.record_trade(trade("late", 999)) == "journal"
    assert await writer.drain(timeout=20)
    assert await writer.record_trade(trade("later", 1000)) == "db"
    await _assert_exactly_once_in_order(db, [*keys, ("trade", "late"), ("trade", "later")])
    await writer.close()


class SimulatedCrash(BaseException):
    """Not an Exception: nothing in the writer catches it, as nothing survives a killed process."""


class _CrashAfterCommit(Journal):
    """Dies (like a killed process) right after the database committed a batch, before the cursor moves."""

    crash_on_call = 3

    def mark_applied(self, upto_n: int) -> None:
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls == self.crash_on_call:
            raise SimulatedCrash("between commit and cursor")
        super().mark_applied(upto_n)


async def test_crash_between_commit_and_cursor_still_exactly_once(db, tmp_path):
    path = tmp_path / "j.jsonl"
    keys = _journal_with(path, 50)
    writer = DurableWriter(db, _CrashAfterCommit(path), batch_size=10)
    await writer.start()
    with pytest.raises(SimulatedCrash):
        await writer._drainer
    committed = await db.fetchval(
        "SELECT (SELECT count(*) FROM agent_checkpoints) + (SELECT count(*) FROM trades)"
    )
    assert committed == 30  # three batches are in the database, the cursor says two
    writer.journal.close()

    writer = await DurableWriter(db, path, batch_size=10).start()
    assert writer.pending == 30  # batch 3 is replayed again …
    assert await writer.drain(timeout=20)
    await _assert_exactly_once_in_order(db, keys)  # … and still lands once
    assert path.stat().st_size == 0
    await writer.close()


_SLOW_REPLAYER = """
import asyncio, sys
from tradingfloor.persistence.db import Database
from tradingfloor.persistence.journal import DurableWriter, OPERATIONS

def slow(fn):
    async def op(conn, **kw):
        await asyncio.sleep(0.01)
        return await fn(conn, **kw)
    return op

async def main(url, path):
    writer = DurableWriter(Database(url), path, batch_size=5, operations={k: slow(v) for k, v in OPERATIONS.items()})
    await writer.start()
    print("replaying", flush=True)
    await writer.drain()
    print("done", flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_process_killed_mid_replay_then_new_writer_exactly_once(db, migrated_url, tmp_path):
    path = tmp_path / "j.jsonl"
    keys = _journal_with(path, 400)
    child = subprocess.Popen(
        [sys.executable, "-c", _SLOW_REPLAYER, migrated_url, str(path)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    count = "SELECT (SELECT count(*) FROM agent_checkpoints) + (SELECT count(*) FROM trades)"
    try:
        for _ in range(600):
            if await db.fetchval(count) >= 100:
                break
            assert child.poll() is None, child.communicate()
            await asyncio.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)  # no clean-up of any kind
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    partial = await db.fetchval(count)
    assert 100 <= partial < 400, partial

    writer = await DurableWriter(db, path).start()
    assert 0 < writer.pending <= 400 - partial + 5  # at most one uncommitted-cursor batch replays twice
    assert await writer.drain(timeout=30)
    await _assert_exactly_once_in_order(db, keys)
    assert path.stat().st_size == 0 and not writer.journal.cursor_path.exists()
    await writer.close()


async def test_replay_preserves_final_state_of_non_keyed_writes(db, tmp_path):
    """Order status and positions are replacements: replayed in order they end as written."""
    path = tmp_path / "j.jsonl"
    writer = DurableWriter(unreachable_db(), path)
    await writer.record_order(order("tf-1"))
    await writer.update_order_status("tf-1", "partial", filled_size=Decimal(5))
    await writer.update_order_status("tf-1", "filled", filled_size=Decimal("12.5"), venue_order_id="0xv")
    for size in (Decimal(5), Decimal("12.5"), Decimal(0)):
        await writer.upsert_position(repo.PositionRow("agent-a", "111", "0xmarket", size))
    await writer.record_event("order_filled", "filled", agent="agent-a")
    await writer.insert_performance(repo.PerformanceRow("agent-a", T0, "1h", trades=1))
    await writer.append_audit(repo.AuditRow(1, T0, "auditor", "s", "k", {}, "0" * 64, "1" * 64))
    assert writer.pending == 9
    await writer.close()
    for _ in range(2):  # replayed twice (e.g. a crash after commit): same result
        j = Journal(path)
        entries = list(j.pending_entries())
        j.close()
        writer = await DurableWriter(db, path).start()
        assert await writer.drain(timeout=20)
        await writer.close()
        if _ == 0:  # put the same entries back, as if the cursor had never moved
            j = Journal(path)
            for e in entries:
                j.append(e.ops)
            j.close()
    o = await repo.get_order(db, "tf-1")
    assert (o.status, o.filled_size, o.venue_order_id) == ("filled", Decimal("12.5"), "0xv")
    assert (await repo.list_positions(db))[0].size == 0
    assert len(await repo.recent_events(db)) == 1
    assert len(await repo.list_performance(db)) == 1 and len(await repo.read_audit(db)) == 1


async def test_writer_started_during_outage_drains_when_database_comes_back(own_pg, tmp_path):
    from tradingfloor.persistence.migrate import migrate

    await migrate(own_pg.url)
    own_pg.stop()
    db = Database(own_pg.url, timeout=1)
    writer = DurableWriter(db, tmp_path / "j.jsonl", retry_interval=0.05)
    for i in range(1, 6):
        assert await writer.save_checkpoint("a", i, {"i": i}, datetime.now(UTC)) == "journal"
    own_pg.start()
    assert await writer.drain(timeout=30)
    assert [c.seq for c in await repo.list_checkpoints(db, "a")] == [1, 2, 3, 4, 5]
    assert await writer.save_checkpoint("a", 6, {"i": 6}) == "db"
    await writer.close()
    await db.close()
