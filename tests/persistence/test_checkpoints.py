"""CheckpointStore: database first, the file as the fallback for reads."""

from __future__ import annotations

import json
from decimal import Decimal

from tradingfloor.persistence import repositories as repo
from tradingfloor.persistence.checkpoints import CheckpointStore
from tradingfloor.persistence.db import Database
from tradingfloor.persistence.journal import DurableWriter
from tradingfloor.persistence.migrate import migrate


async def test_save_and_load(db, tmp_path):
    async with DurableWriter(db, tmp_path / "j.jsonl") as writer:
        store = CheckpointStore(writer, tmp_path / "cp")
        assert await store.load("a") is None
        first = await store.save("a", {"cash": Decimal("999.5"), "positions": []})
        second = await store.save("a", {"cash": Decimal("998"), "positions": [{"token": "1"}]})
        assert (first.seq, second.seq, second.source) == (1, 2, "db")
        loaded = await store.load("a")
        assert (loaded.seq, loaded.source, loaded.state) == (
            2,
            "db",
            {"cash": "998", "positions": [{"token": "1"}]},
        )
        # the file holds the same thing
        on_disk = json.loads(store.file_path("a").read_text())
        assert on_disk["seq"] == 2 and on_disk["state"] == loaded.state
        assert not list(store.directory.glob(".*.tmp"))  # atomic: no temporary files left behind

        # a new store (a restarted agent) continues the sequence
        again = CheckpointStore(writer, tmp_path / "cp")
        assert (await again.save("a", {"cash": "1"})).seq == 3
        assert [c.seq for c in await repo.list_checkpoints(db, "a")] == [1, 2, 3]


async def test_new_node_without_file_reads_the_database(db, tmp_path):
    async with DurableWriter(db, tmp_path / "j.jsonl") as writer:
        await CheckpointStore(writer, tmp_path / "node1").save("a", {"x": 1})
        loaded = await CheckpointStore(writer, tmp_path / "node2").load("a")
        assert (loaded.seq, loaded.source, loaded.state) == (1, "db", {"x": 1})


async def test_file_fallback_when_postgres_is_down(own_pg, tmp_path):
    await migrate(own_pg.url)
    db = Database(own_pg.url, timeout=1)
    writer = DurableWriter(db, tmp_path / "j.jsonl", retry_interval=0.05)
    store = CheckpointStore(writer, tmp_path / "cp")
    for i in range(3):
        await store.save("agent-x", {"i": i})
    await writer.close()
    own_pg.stop()

    # a restarted agent while the database is down: its last checkpoint comes from the file
    writer = DurableWriter(db, tmp_path / "j.jsonl", retry_interval=0.05)
    store = CheckpointStore(writer, tmp_path / "cp")
    loaded = await store.load("agent-x")
    assert (loaded.seq, loaded.source, loaded.state) == (3, "file", {"i": 2})
    saved = await store.save("agent-x", {"i": 3})
    assert (saved.seq, saved.source) == (4, "journal")
    store.file_path("agent-x").unlink()  # even without the file, the journal has it
    loaded = await store.load("agent-x")
    assert (loaded.seq, loaded.source) == (4, "journal")

    own_pg.start()
    assert await writer.drain(timeout=30)
    loaded = await store.load("agent-x")
    assert (loaded.seq, loaded.source, loaded.state) == (4, "db", {"i": 3})
    await writer.close()
    await db.close()
