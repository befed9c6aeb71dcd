"""A WebSocket feed that stays up: connect, (re)subscribe, ``PING`` on a timer, a staleness
watchdog, reconnect with exponential backoff and jitter. Shared by the market and spot streams.

``frames()`` yields ``CONNECTED`` after every successful (re)connect — the consumer must treat
its state as unknown from there and rebuild from a fresh snapshot — then ``(raw, recv_ms)``
for each frame. A feed with no data frame for ``stale_after`` seconds is declared dead and
reconnected, even if the socket is open and answering PINGs (RTDS-style silent stalls).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Final, Literal

import websockets
from websockets.asyncio.client import ClientConnection

from tradingfloor.observability.logging import get_logger

log = get_logger("tradingfloor.market.feed")


class _Signal(Enum):
    CONNECTED = "connected"


CONNECTED: Final = _Signal.CONNECTED  # yielded after every successful (re)connect
Frame = tuple[str | bytes, int]  # (raw frame, receive time in epoch ms)
KEEPALIVE_FRAMES = frozenset({"PONG", "NO NEW ASSETS"})


@dataclass
class FeedStats:
    connects: int = 0
    reconnects: int = 0
    stale_timeouts: int = 0
    connect_failures: int = 0
    frames: int = 0
    last_frame_wall: float = 0.0
    last_error: str = ""
    malformed: int = 0
    malformed_reasons: dict[str, int] = field(default_factory=dict)
    rejections: dict[str, int] = field(default_factory=dict)  # by FrameError.kind: not_json, too_deep…

    def count_malformed(self, reason: str, kind: str = "bad_value") -> None:
        self.malformed += 1
        key = reason.split(":")[0][:60]
        self.malformed_reasons[key] = self.malformed_reasons.get(key, 0) + 1
        self.rejections[kind] = self.rejections.get(kind, 0) + 1


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter in [d/2, d] so clients don't reconnect in lockstep."""
    d = min(cap, base * (2**attempt))
    return d * (0.5 + 0.5 * rng.random())


class FeedConnection:
    def __init__(
        self,
        url: str,
        on_connect: Callable[[object], Awaitable[None]],
        *,
        name: str = "feed",
        ping_interval: float = 10.0,
        stale_after: float = 30.0,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        open_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.name = name
        self.on_connect = on_connect
        self.ping_interval = ping_interval
        self.stale_after = stale_after
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.open_timeout = open_timeout
        self.stats = FeedStats()
        self.ws: ClientConnection | None = None
        self._closed = False
        self._rng = random.Random()

    async def close(self) -> None:
        self._closed = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()

    async def send(self, text: str) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.send(text)

    async def _pinger(self, ws) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            await ws.send("PING")

    async def frames(self) -> AsyncIterator[Literal[_Signal.CONNECTED] | Frame]:
        attempt = 0
        while not self._closed:
            try:
                ws = await websockets.connect(
                    self.url,
                    ping_interval=None,
                    max_size=None,
                    open_timeout=self.open_timeout,
                    user_agent_header="trading-floor/0.1",
                )
            except (TimeoutError, OSError, websockets.WebSocketException) as exc:
                self.stats.connect_failures += 1
                self.stats.last_error = f"connect: {type(exc).__name__}: {exc}"[:200]
                delay = backoff_delay(attempt, self.backoff_base, self.backoff_max, self._rng)
                attempt += 1
                log.warning(
                    "feed_connect_failed",
                    feed=self.name,
                    error=self.stats.last_error,
                    retry_in_s=round(delay, 2),
                )
                await asyncio.sleep(delay)
                continue
            self.ws = ws
            self.stats.connects += 1
            if self.stats.connects > 1:
                self.stats.reconnects += 1
            pinger = asyncio.create_task(self._pinger(ws))
            try:
                await self.on_connect(ws)
                yield CONNECTED
                last_data = time.monotonic()
                while True:
                    remaining = self.stale_after - (time.monotonic() - last_data)
                    if remaining <= 0:
                        self.stats.stale_timeouts += 1
                        log.warning("feed_stale", feed=self.name, silent_for_s=round(self.stale_after, 2))
                        break
                    try:
                        raw = await asyncio.wait_for(ws.recv(), timeout=remaining)
                    except TimeoutError:
                        continue  # loop re-checks the staleness bound
                    recv_ms = int(time.time() * 1000)
                    if not (isinstance(raw, str) and raw.strip() in KEEPALIVE_FRAMES):
                        last_data = time.monotonic()
                        attempt = 0  # data flows again: the next failure starts the backoff afresh
                    self.stats.frames += 1
                    self.stats.last_frame_wall = time.time()
                    yield (raw, recv_ms)
            except (OSError, websockets.WebSocketException) as exc:
                self.stats.last_error = f"{type(exc).__name__}: {exc}"[:200]
                log.warning("feed_disconnected", feed=self.name, error=self.stats.last_error)
            finally:
                pinger.cancel()
                with contextlib.suppress(BaseException):
                    await pinger
                with contextlib.suppress(Exception):
                    await ws.close()
                self.ws = None
            if not self._closed:
                delay = backoff_delay(attempt, self.backoff_base, self.backoff_max, self._rng)
                attempt += 1
                await asyncio.sleep(delay)
