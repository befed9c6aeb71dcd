"""CLOB REST market data: books (hash-checked), prices, tick size, neg-risk, server time."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiohttp

from tradingfloor.market.book import book_summary_hash
from tradingfloor.market.codec import FrameError, decode_message, to_decimal
from tradingfloor.market.events import BookSnapshot
from tradingfloor.market.gamma import USER_AGENT


class BookHashMismatch(FrameError):
    """The ``/book`` body does not hash to its own ``hash``: a torn or altered response."""


def parse_rest_book(body: Any, verify_hash: bool = True) -> BookSnapshot:
    if not isinstance(body, dict):
        raise FrameError("book response must be an object")
    if verify_hash and body.get("hash"):
        try:
            expected = book_summary_hash(
                market=body["market"],
                asset_id=body["asset_id"],
                timestamp=body["timestamp"],
                bids=body["bids"],
                asks=body["asks"],
                min_order_size=body["min_order_size"],
                tick_size=body["tick_size"],
                neg_risk=body["neg_risk"],
                last_trade_price=body["last_trade_price"],
            )
        except (KeyError, TypeError) as exc:
            raise FrameError(f"book response lacks {exc} needed for its hash check") from None
        if expected != body["hash"]:
            raise BookHashMismatch(f"book hash mismatch for {str(body.get('asset_id'))[:16]}…")
    (snap,) = decode_message({**body, "event_type": "book"})
    if not isinstance(snap, BookSnapshot):
        raise FrameError(f"book response decoded as {type(snap).__name__}, not a book")
    return snap


class ClobRest:
    def __init__(self, base_url: str, session: aiohttp.ClientSession, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.headers = {"User-Agent": USER_AGENT}

    async def _req(self, method: str, path: str, *, params: dict | None = None, json: Any = None) -> Any:
        async with self.session.request(
            method,
            f"{self.base_url}{path}",
            params=params,
            json=json,
            timeout=self.timeout,
            headers=self.headers,
        ) as resp:
            body = await resp.json(content_type=None)
            if resp.status >= 400:
                msg = body.get("error") if isinstance(body, dict) else body
                raise FrameError(f"CLOB {method} {path} -> {resp.status}: {msg}")
            return body

    async def get_book(self, token_id: str, verify_hash: bool = True) -> BookSnapshot:
        return parse_rest_book(await self._req("GET", "/book", params={"token_id": token_id}), verify_hash)

    async def get_books(self, token_ids: list[str], verify_hash: bool = True) -> list[BookSnapshot]:
        body = await self._req("POST", "/books", json=[{"token_id": t} for t in token_ids])
        if not isinstance(body, list):
            raise FrameError("/books response must be a list")
        return [parse_rest_book(b, verify_hash) for b in body]

    async def get_price(self, token_id: str, side: str) -> Decimal:
        body = await self._req("GET", "/price", params={"token_id": token_id, "side": side})
        return to_decimal(body.get("price"), "price")

    async def get_midpoint(self, token_id: str) -> Decimal:
        body = await self._req("GET", "/midpoint", params={"token_id": token_id})
        return to_decimal(body.get("mid"), "mid")

    async def get_tick_size(self, token_id: str) -> Decimal:
        body = await self._req("GET", "/tick-size", params={"token_id": token_id})
        return to_decimal(body.get("minimum_tick_size"), "minimum_tick_size")

    async def get_neg_risk(self, token_id: str) -> bool:
        body = await self._req("GET", "/neg-risk", params={"token_id": token_id})
        return bool(body.get("neg_risk"))

    async def server_time_ms(self) -> int:
        """The venue's clock (``/time`` is unix seconds): slugs are computed from it, not ours."""
        body = await self._req("GET", "/time")
        if not isinstance(body, (int, float)) or isinstance(body, bool):
            raise FrameError(f"/time must be a number, got {body!r}"[:80])
        return int(body) * 1000
