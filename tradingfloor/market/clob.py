"""CLOB REST market data: books (hash-checked), prices, tick size, neg-risk, server time.

A ``/book`` whose ``hash`` does not check out but is otherwise a valid book is used, and counted
(:attr:`ClobRest.book_hash`): the venue changed its hash scheme twice in 2025 and older shapes lack
``min_order_size``, so a mismatch alone does not prove the book wrong — refusing it would only turn
every resync into a loop.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any, Literal

import aiohttp

from tradingfloor.market.book import book_summary_hash
from tradingfloor.market.codec import FrameError, decode_message, to_decimal
from tradingfloor.market.events import BookSnapshot
from tradingfloor.market.gamma import USER_AGENT
from tradingfloor.observability.logging import get_logger

log = get_logger("tradingfloor.market.clob")
HashCheck = Literal["verified", "mismatch", "unverifiable", "absent"]


def book_hash_check(body: dict) -> HashCheck:
    """Whether a ``/book`` body hashes to its own ``hash`` under the scheme we know."""
    if not body.get("hash"):
        return "absent"
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
    except (KeyError, TypeError):
        return "unverifiable"  # an older shape (no min_order_size …): nothing to check against
    return "verified" if expected == body["hash"] else "mismatch"


def parse_rest_book(body: Any) -> BookSnapshot:
    """A ``/book`` body → snapshot; ``FrameError`` naming what is wrong with the book itself."""
    if not isinstance(body, dict):
        raise FrameError("book response must be an object")
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
        self.book_hash: Counter[str] = Counter()  # hash-check outcomes of the books fetched

    def _book(self, body: Any) -> BookSnapshot:
        snap = parse_rest_book(body)  # a bad book is an error; a bad hash alone is not
        check = book_hash_check(body)
        self.book_hash[check] += 1
        if check == "mismatch":
            log.warning("clob_book_hash_mismatch", token=str(body.get("asset_id"))[:16])
        return snap

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

    async def get_book(self, token_id: str) -> BookSnapshot:
        return self._book(await self._req("GET", "/book", params={"token_id": token_id}))

    async def get_books(self, token_ids: list[str]) -> list[BookSnapshot]:
        body = await self._req("POST", "/books", json=[{"token_id": t} for t in token_ids])
        if not isinstance(body, list):
            raise FrameError("/books response must be a list")
        return [self._book(b) for b in body]

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
