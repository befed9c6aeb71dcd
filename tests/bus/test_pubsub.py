from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tradingfloor.bus.client import connect
from tradingfloor.bus.pubsub import CHANNEL, Message, MessageType, Subscriber, parse, publish
from tradingfloor.services.embedded import EmbeddedRedis


async def _collect(sub: Subscriber, n: int, timeout: float = 5) -> list[Message]:
    out: list[Message] = []

    async def take() -> None:
        async for m in sub:
            out.append(m)
            if len(out) == n:
                return

    await asyncio.wait_for(take(), timeout)
    return out


async def test_publish_and_receive(redis):
    async with Subscriber(redis) as sub:
        assert (
            await publish(
                redis, MessageType.TRADE_EXECUTED, "momentum-btc", {"pnl": Decimal("1.25"), "market": "0xabc"}
            )
            == 1
        )
        assert await publish(redis, "agent_started", "floor-boss", {"agent": "x"}) == 1
        got = await _collect(sub, 2)
    assert [(m.type, m.sender) for m in got] == [
        ("trade_executed", "momentum-btc"),
        ("agent_started", "floor-boss"),
    ]
    assert got[0].payload == {"pnl": "1.25", "market": "0xabc"} and got[0].ts.tzinfo is not None


async def test_wire_format_is_plain_json(redis):
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(CHANNEL)
    await publish(redis, "performance_alert", "monitor", {"agent": "a", "drawdown": "0.16"})
    raw = None
    for _ in range(50):
        raw = await pubsub.get_message(timeout=0.1)
        if raw:
            break
    await pubsub.aclose()
    body = json.loads(raw["data"])
    assert set(body) == {"type", "sender", "payload", "ts"} and body["type"] == "performance_alert"


async def test_malformed_messages_are_skipped_and_handler_errors_survive(redis):
    seen: list[str] = []

    async def handler(m: Message) -> None:
        if m.payload.get("boom"):
            raise RuntimeError("handler bug")
        seen.append(m.sender)

    async with Subscriber(redis, types={"agent_stopped"}) as sub:
        task = asyncio.create_task(sub.run(handler))
        for bad in [
            "not json",
            "[1, 2]",
            json.dumps({"type": "x"}),
            json.dumps({"type": "Bad Type", "sender": "s"}),
            json.dumps({"type": "agent_stopped", "sender": "", "payload": {}}),
            json.dumps({"type": "agent_stopped", "sender": "s", "payload": "not a dict"}),
            b"\xff\xfe",
        ]:
            await redis.publish(CHANNEL, bad)
        await publish(redis, "agent_stopped", "a", {"boom": True})
        await publish(redis, "agent_started", "filtered-out")
        await publish(redis, "agent_stopped", "b")
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.02)
        assert not task.done()
        task.cancel()
    assert seen == ["b"] and sub.malformed == 7 and sub.handler_errors == 1


def test_parse():
    assert parse('{"type": "trade_executed", "sender": "a"}').payload == {}
    assert parse("{") is None


async def test_subscriber_survives_a_redis_restart(tmp_path: Path):
    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        client = await connect(server.url)
        async with Subscriber(client, reconnect_delay=0.05) as sub:
            await publish(client, "agent_started", "before")
            assert [m.sender for m in await _collect(sub, 1)] == ["before"]
            server.stop()
            server.start()  # same port
            got: list[Message] = []

            async def keep_publishing() -> None:
                while not got:
                    try:
                        await publish(client, "agent_started", "after")
                    except Exception:
                        pass
                    await asyncio.sleep(0.05)

            pub = asyncio.create_task(keep_publishing())
            got = await _collect(sub, 1, timeout=15)
            pub.cancel()
            assert got[0].sender == "after"
        await client.aclose()
    finally:
        server.destroy()


async def test_a_message_with_a_bad_type_is_refused_when_published_and_when_read():
    class Recorder:  # publish must refuse before it reaches Redis
        sent: list[bytes] = []

        async def publish(self, channel: str, data: bytes) -> int:
            self.sent.append(data)
            return 1

    redis = Recorder()
    for bad_type in ("", "Has-Capitals", "x" * 65):
        with pytest.raises(ValueError, match="type"):
            await publish(redis, bad_type, "a")
    assert redis.sent == []
    assert await publish(redis, "custom_event", "a", {"stake": Decimal("1.50")}) == 1
    message = parse(redis.sent[0])
    assert message is not None and message.type == "custom_event" and message.payload == {"stake": "1.50"}
    assert parse(b'{"type": "", "sender": "a"}') is None
    assert parse(b'{"type": "ok", "sender": ""}') is None
    assert isinstance(
        parse(b'{"type": "ok", "sender": "a", "extra": 1}'), Message
    )  # newer writers may add fields
