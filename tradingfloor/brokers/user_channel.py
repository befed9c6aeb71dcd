"""The venue's authenticated user channel (``/ws/user``): order and trade updates for one API key.

* :func:`parse_user_frame` — a frame's text → the venue's ``order`` / ``trade`` messages, checked
  for the fields the live broker reads; anything else raises :class:`UserFrameError` naming it.
* :func:`fill_of` — what one trade record (user channel or ``/data/trades``) filled of one order:
  the taker's part, or its entry among ``maker_orders`` (a maker's side and price are its own,
  never the trade's top-level ones, which are the taker's).
* :class:`UserChannel` — a consumer in its own thread and event loop (the live broker is
  synchronous): subscribes with the API credentials, sends ``PING`` every 10 s, reconnects, and
  hands messages to :attr:`UserChannel.updates`; every (re)connection puts :data:`CONNECTED` there
  so the broker reconciles by REST whatever it may have missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import threading
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import aiohttp

from tradingfloor.observability.logging import get_logger

log = get_logger("tradingfloor.brokers.user_channel")
CONNECTED: Final = "connected"  # marker: a (re)connection; what happened meanwhile is unknown
TRADE_FAILED = "FAILED"
_ORDER_FIELDS = ("id", "status", "size_matched", "original_size")
_TRADE_FIELDS = ("id", "status", "taker_order_id", "size", "price", "maker_orders")


class UserFrameError(ValueError):
    """A user-channel frame the broker cannot read; the message names what is wrong."""


def _check(msg: Any) -> dict[str, Any]:
    if not isinstance(msg, dict):
        raise UserFrameError(f"a user-channel message must be an object, got {type(msg).__name__}")
    kind = msg.get("event_type")
    fields = _ORDER_FIELDS if kind == "order" else _TRADE_FIELDS if kind == "trade" else None
    if fields is None:
        raise UserFrameError(f"unknown user-channel event_type {kind!r}")
    missing = [f for f in fields if msg.get(f) is None and not (f == "size_matched" and kind == "order")]
    if missing:
        raise UserFrameError(f"{kind} message lacks {', '.join(missing)}")
    if kind == "trade" and not isinstance(msg["maker_orders"], list):
        raise UserFrameError("trade message's maker_orders must be a list")
    return msg


def parse_user_frame(text: str) -> list[dict[str, Any]]:
    """One frame (an object or, batched, a list of them) → the venue's messages."""
    try:
        body = json.loads(text)
    except ValueError:
        raise UserFrameError(f"user-channel frame is not JSON: {text[:60]!r}") from None
    return [_check(m) for m in (body if isinstance(body, list) else [body])]


@dataclass(frozen=True)
class OrderFill:
    """One order's part of one trade."""

    trade_id: str
    size: Decimal
    price: Decimal
    liquidity: str  # "taker" | "maker"
    status: str  # the trade's: MATCHED, MINED, CONFIRMED, RETRYING or FAILED


def _dec(value: Any, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise UserFrameError(f"{name} is not a number: {value!r}") from None


def fill_of(trade: dict[str, Any], order_id: str) -> OrderFill | None:
    """What ``trade`` filled of the order ``order_id`` (None when the order is not in it)."""
    status = str(trade.get("status", "")).upper()
    if trade.get("taker_order_id") == order_id:
        return OrderFill(
            str(trade["id"]), _dec(trade["size"], "size"), _dec(trade["price"], "price"), "taker", status
        )
    for m in trade.get("maker_orders") or []:
        if isinstance(m, dict) and m.get("order_id") == order_id:
            return OrderFill(
                str(trade["id"]),
                _dec(m.get("matched_amount"), "matched_amount"),
                _dec(m.get("price"), "maker price"),
                "maker",
                status,
            )
    return None


def order_ids_in(trade: dict[str, Any]) -> list[str]:
    """Every order a trade record names (the taker's, then the makers')."""
    ids = [str(trade.get("taker_order_id", ""))]
    ids += [str(m.get("order_id", "")) for m in trade.get("maker_orders") or [] if isinstance(m, dict)]
    return ids


class UserChannel:
    def __init__(
        self,
        url: str,
        api_key: str,
        secret: str,
        passphrase: str,
        *,
        markets: list[str] | None = None,
        ping_interval_s: float = 10.0,
        retry_s: float = 1.0,
    ) -> None:
        self.url = url
        self._auth = {"apiKey": api_key, "secret": secret, "passphrase": passphrase}
        self.markets = list(markets or [])  # condition ids; empty: every market of the key
        self.ping_interval_s = ping_interval_s
        self.retry_s = retry_s
        self.updates: queue.SimpleQueue[dict[str, Any] | str] = queue.SimpleQueue()
        self.connected = threading.Event()
        self.connects = 0
        self.malformed = 0  # frames counted and dropped, never fatal
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> UserChannel:
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._run()), name="user-channel", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as http:
            while not self._stop.is_set():
                try:
                    await self._session(http)
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    log.warning("user_channel_disconnected", url=self.url, error=str(exc))
                finally:
                    self.connected.clear()
                await asyncio.sleep(0 if self._stop.is_set() else self.retry_s)

    async def _session(self, http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(self.url, heartbeat=None) as ws:
            await ws.send_str(json.dumps({"auth": self._auth, "markets": self.markets, "type": "user"}))
            self.connects += 1
            self.connected.set()
            self.updates.put(CONNECTED)
            loop = asyncio.get_running_loop()
            next_ping = loop.time() + self.ping_interval_s
            while not self._stop.is_set():
                if loop.time() >= next_ping:
                    await ws.send_str("PING")
                    next_ping = loop.time() + self.ping_interval_s
                try:
                    msg = await ws.receive(timeout=0.2)
                except TimeoutError:
                    continue
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    return
                if msg.type != aiohttp.WSMsgType.TEXT or msg.data in ("PONG", "PING"):
                    continue
                try:
                    for m in parse_user_frame(msg.data):
                        self.updates.put(m)
                except UserFrameError as exc:
                    self.malformed += 1
                    log.warning("user_channel_malformed", error=str(exc))
            with contextlib.suppress(Exception):
                await ws.close()
