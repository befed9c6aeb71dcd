"""The Redis bus: heartbeats, the ``trading_floor`` pub/sub channel, rate limits, locks and the
floor-wide exposure ledger. Nothing here is the source of truth (that is PostgreSQL)."""

from tradingfloor.bus.client import RedisUnavailable, connect
from tradingfloor.bus.exposure import ExposureLedger
from tradingfloor.bus.heartbeats import (
    Heartbeat,
    HeartbeatInfo,
    all_heartbeats,
    read_heartbeat,
    read_heartbeats,
)
from tradingfloor.bus.lock import LockLost, LockNotAcquired, RedisLock
from tradingfloor.bus.pubsub import CHANNEL, Message, MessageType, Subscriber, publish
from tradingfloor.bus.ratelimit import RateLimiter

__all__ = [
    "CHANNEL",
    "ExposureLedger",
    "Heartbeat",
    "HeartbeatInfo",
    "LockLost",
    "LockNotAcquired",
    "Message",
    "MessageType",
    "RateLimiter",
    "RedisLock",
    "RedisUnavailable",
    "Subscriber",
    "all_heartbeats",
    "connect",
    "publish",
    "read_heartbeat",
    "read_heartbeats",
]
