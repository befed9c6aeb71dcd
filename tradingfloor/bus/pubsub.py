"""The floor's pub/sub channel ``trading_floor``: JSON messages ``{type, sender, payload, ts}``.

Subscribers never crash on what others publish: a message that is not valid JSON or does not fit
:class:`Message` is logged and skipped, an exception in a handler is logged and the next message
handled, and a lost Redis connection is re-established (messages published meanwhile are lost,
as pub/sub does not keep them: use PostgreSQL for anything that must not be missed).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import msgspec
import redis.asyncio as aioredis
from msgspec import Meta, field
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tradingfloor.observability.logging import get_logger

log = get_logger("tradingfloor.bus.pubsub")

CHANNEL = "trading_floor"


class MessageType(StrEnum):
    """Types the floor's own components publish (others are allowed: ``type`` is any snake_case name)."""

    TRADE_EXECUTED = "trade_executed"
    ORDER_FILLED = "order_filled"
    AGENT_STARTED = "agent_started"
    AGENT_STOPPED = "agent_stopped"
    AGENT_RESTARTED = "agent_restarted"
    AGENT_PAUSED = "agent_paused"
    AGENT_RESUMED = "agent_resumed"
    AGENT_RETIRED = "agent_retired"
    AGENT_CLONED = "agent_cloned"
    PERFORMANCE_ALERT = "performance_alert"
    AUDIT_ALERT = "audit_alert"
    RISK_ALERT = "risk_alert"
    MARKET_OPENED = "market_opened"
    MARKET_RESOLVED = "market_resolved"


def _now() -> datetime:
    return datetime.now(UTC)


class Message(msgspec.Struct, kw_only=True, frozen=True):
    type: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
    sender: Annotated[str, Meta(min_length=1, max_length=253)]
    payload: dict[str, Any] = field(default_factory=dict)
    ts: datetime = field(default_factory=_now)


_DECODER = msgspec.json.Decoder(Message)


async def publish(
    redis: aioredis.Redis,
    type: str | MessageType,
    sender: str,
    payload: dict[str, Any] | None = None,
    *,
    channel: str = CHANNEL,
) -> int:
    """Publish one message; returns how many subscribers received it. Decimals travel as strings."""
    data = msgspec.json.encode(Message(type=str(type), sender=sender, payload=payload or {}))
    _DECODER.decode(data)  # what subscribers will read: a bad type or sender fails here, not there
    return await redis.publish(channel, data)


def parse(data: str | bytes) -> Message | None:
    """The message, or None (logged) when ``data`` is not a valid message."""
    try:
        return _DECODER.decode(data)
    except ValueError as exc:  # msgspec's DecodeError and ValidationError are ValueErrors
        raw = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        log.warning("bus.malformed_message", raw=raw[:500], error=str(exc).splitlines()[0])
        return None


class Subscriber:
    """``async with Subscriber(redis) as sub: async for message in sub: …``

    Subscribed once ``__aenter__`` returns (publish after that and it is received). ``types``
    keeps only those message types. ``malformed`` counts the messages skipped."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        channel: str = CHANNEL,
        types: Iterable[str] | None = None,
        reconnect_delay: float = 0.5,
        max_reconnect_delay: float = 10.0,
    ) -> None:
        self.redis = redis
        self.channel = channel
        self.types = {str(t) for t in types} if types is not None else None
        self.reconnect_delay = reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self.malformed = 0
        self.handler_errors = 0
        self._pubsub: Any = None
        self._raw: aioredis.Redis | None = None

    def _raw_client(self) -> aioredis.Redis:
        # a client of our own that does not decode: a publisher's invalid UTF-8 must reach parse()
        # (and be skipped there) instead of failing inside redis-py
        if self._raw is None:
            pool = self.redis.connection_pool
            kwargs = {**pool.connection_kwargs, "decode_responses": False}
            self._raw = aioredis.Redis(
                connection_pool=aioredis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
            )
        return self._raw

    async def _subscribe(self) -> None:
        self._pubsub = self._raw_client().pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self.channel)

    async def _close(self) -> None:
        if self._pubsub is not None:
            pubsub, self._pubsub = self._pubsub, None
            try:
                await pubsub.aclose()
            except Exception:
                pass

    async def aclose(self) -> None:
        await self._close()
        if self._raw is not None:
            raw, self._raw = self._raw, None
            await raw.aclose(close_connection_pool=True)

    async def __aenter__(self) -> Subscriber:
        await self._subscribe()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def __aiter__(self) -> AsyncIterator[Message]:
        delay = self.reconnect_delay
        while True:
            try:
                if self._pubsub is None:
                    await self._subscribe()
                    log.info("bus.resubscribed", channel=self.channel)
                raw = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                delay = self.reconnect_delay
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning("bus.connection_lost", channel=self.channel, error=f"{type(exc).__name__}: {exc}")
                await self._close()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_reconnect_delay)
                continue
            if raw is None or raw.get("type") != "message":
                continue
            message = parse(raw["data"])
            if message is None:
                self.malformed += 1
                continue
            if self.types is not None and message.type not in self.types:
                continue
            yield message

    async def run(self, handler: Callable[[Message], Awaitable[None]]) -> None:
        """Call ``handler`` for every message until cancelled; its exceptions are logged, not raised."""
        async for message in self:
            try:
                await handler(message)
            except Exception as exc:
                self.handler_errors += 1
                log.error(
                    "bus.handler_failed",
                    type=message.type,
                    sender=message.sender,
                    error=f"{type(exc).__name__}: {exc}",
                )
