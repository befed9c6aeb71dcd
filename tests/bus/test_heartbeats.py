from __future__ import annotations

import asyncio
import json
import os

from tradingfloor.bus.heartbeats import Heartbeat, all_heartbeats, heartbeat_key, read_heartbeat


async def test_heartbeat_key_json_and_ttl(redis):
    hb = Heartbeat(redis, "momentum-btc", ttl=5, interval=1)
    first = await hb.beat()
    second = await hb.beat()
    raw = json.loads(await redis.get("tf:heartbeat:momentum-btc"))
    assert set(raw) == {"ts", "pid", "seq"} and raw["pid"] == os.getpid() and raw["seq"] == 2
    assert second.seq == first.seq + 1 and second.ts >= first.ts
    assert 4000 < await redis.pttl(heartbeat_key("momentum-btc")) <= 5000
    info = await read_heartbeat(redis, "momentum-btc")
    assert info == second and 0 <= info.age() < 5


async def test_missed_heartbeat_expires(redis):
    hb = Heartbeat(redis, "a", ttl=0.3, interval=0.1)
    await hb.beat()
    assert await read_heartbeat(redis, "a") is not None
    await asyncio.sleep(0.5)
    assert await read_heartbeat(redis, "a") is None


async def test_run_keeps_beating_and_all_heartbeats(redis):
    task = asyncio.create_task(Heartbeat(redis, "a", ttl=0.5, interval=0.1).run())
    await Heartbeat(redis, "b", ttl=5, interval=1).beat()
    await redis.set(heartbeat_key("broken"), "not json")
    try:
        await asyncio.sleep(0.8)  # longer than the TTL: still there because it keeps beating
        beats = await all_heartbeats(redis)
        assert set(beats) == {"a", "b"} and beats["a"].seq >= 5
    finally:
        task.cancel()
    hb = Heartbeat(redis, "c", ttl=5, interval=1)
    await hb.beat()
    await hb.stop()
    assert await read_heartbeat(redis, "c") is None


async def test_read_heartbeats_of_named_agents(redis):
    from tradingfloor.bus.heartbeats import read_heartbeats

    await Heartbeat(redis, "a", ttl=5, interval=1).beat()
    await redis.set(heartbeat_key("broken"), "not json")
    await redis.set(heartbeat_key("old-shape"), json.dumps({"ts": 1.0, "kind": "Auditor"}))  # no pid/seq
    beats = await read_heartbeats(redis, ["a", "broken", "old-shape", "missing"])
    assert set(beats) == {"a"} and beats["a"].seq == 1
    assert await read_heartbeats(redis, []) == {}
