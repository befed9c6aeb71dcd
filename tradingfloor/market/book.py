"""L2 order book for one token, correct whatever order the levels arrive in.

Polymarket sends ``bids`` ascending and ``asks`` descending (best last), and older docs said the
opposite; this book never trusts the order: levels live in dicts keyed by price and the best
prices are kept as cached extremes, so applying a change is O(1). When the best level itself is
removed the cached best is dropped and found again (O(levels), and books here hold tens of
levels) only when something reads it: a fifth of the venue's changes remove the best level, and
most of them are followed by more changes before anyone asks for the best price.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from decimal import Decimal

from tradingfloor.market.events import BookSnapshot, PriceChange

_ZERO = Decimal(0)
_TWO = Decimal(2)


class OrderBook:
    __slots__ = (
        "_asks",
        "_best_ask",
        "_best_bid",
        "_bids",
        "hash",
        "market_id",
        "tick_size",
        "token_id",
        "ts_ms",
    )

    def __init__(self, token_id: str = "", market_id: str = "", tick_size: Decimal | None = None) -> None:
        self.token_id = token_id
        self.market_id = market_id
        self._bids: dict[Decimal, Decimal] = {}
        self._asks: dict[Decimal, Decimal] = {}
        # the best price of a side, or None when that side is empty or its best level was removed
        # since the last read (``best_bid``/``best_ask`` find it again from the levels)
        self._best_bid: Decimal | None = None
        self._best_ask: Decimal | None = None
        self.ts_ms = 0
        self.tick_size = tick_size
        self.hash: str | None = None

    # -- updates -------------------------------------------------------------------------------

    def apply_snapshot(self, snap: BookSnapshot) -> None:
        """Replace the whole book; zero-size levels in a snapshot are ignored."""
        self.token_id = snap.token_id
        self.market_id = snap.market_id
        self._bids = {p: s for p, s in snap.bids if s > _ZERO}
        self._asks = {p: s for p, s in snap.asks if s > _ZERO}
        self._best_bid = self._best_ask = None  # found on the first read
        self.ts_ms = snap.ts_ms
        self.hash = snap.hash
        if snap.tick_size is not None:
            self.tick_size = snap.tick_size

    def apply_change(self, ch: PriceChange) -> None:
        """Set one level's total size (0 removes it)."""
        price = ch.price
        if ch.side == "BUY":
            if ch.size > _ZERO:
                self._bids[price] = ch.size
                best = self._best_bid
                # a level above a known best is the new best; with no known best (an empty side,
                # or a best level removed and not read since) the next read finds it
                if best is not None and price > best:
                    self._best_bid = price
            elif (  # the best level went: drop it (``is not None`` first: Decimal == None is slow)
                self._bids.pop(price, None) is not None
                and (best := self._best_bid) is not None
                and price == best
            ):
                self._best_bid = None
        else:
            if ch.size > _ZERO:
                self._asks[price] = ch.size
                best = self._best_ask
                if best is not None and price < best:
                    self._best_ask = price
            elif (
                self._asks.pop(price, None) is not None
                and (best := self._best_ask) is not None
                and price == best
            ):
                self._best_ask = None
        self.ts_ms = ch.ts_ms
        self.hash = None  # the last snapshot's hash no longer describes this book

    def clear(self) -> None:
        self._bids.clear()
        self._asks.clear()
        self._best_bid = self._best_ask = None

    # -- reads ---------------------------------------------------------------------------------

    def best_bid(self) -> Decimal | None:
        best = self._best_bid
        if best is None and self._bids:
            best = self._best_bid = max(self._bids)
        return best

    def best_ask(self) -> Decimal | None:
        best = self._best_ask
        if best is None and self._asks:
            best = self._best_ask = min(self._asks)
        return best

    def mid(self) -> Decimal | None:
        bid, ask = self.best_bid(), self.best_ask()
        if bid is None or ask is None:
            return None
        return (bid + ask) / _TWO

    def spread(self) -> Decimal | None:
        bid, ask = self.best_bid(), self.best_ask()
        if bid is None or ask is None:
            return None
        return ask - bid

    def bids(self) -> list[tuple[Decimal, Decimal]]:
        """Bid levels, best (highest) first."""
        return sorted(self._bids.items(), reverse=True)

    def asks(self) -> list[tuple[Decimal, Decimal]]:
        """Ask levels, best (lowest) first."""
        return sorted(self._asks.items())

    def size_at(self, side: str, price: Decimal) -> Decimal:
        return (self._bids if side == "BUY" else self._asks).get(price, _ZERO)

    def depth(self, side: str, levels: int) -> Decimal:
        """Total size on the best ``levels`` levels of one side (BUY = bids)."""
        rows = self.bids() if side == "BUY" else self.asks()
        return sum((s for _, s in rows[:levels]), _ZERO)

    def is_empty(self) -> bool:
        return not self._bids and not self._asks

    def is_crossed(self) -> bool:
        bid, ask = self.best_bid(), self.best_ask()
        return bid is not None and ask is not None and bid >= ask

    def same_levels(self, other: OrderBook) -> bool:
        return self._bids == other._bids and self._asks == other._asks

    def __repr__(self) -> str:
        return f"OrderBook({self.token_id[:10]}…, bid={self.best_bid()}, ask={self.best_ask()}, levels={len(self._bids)}/{len(self._asks)})"


def book_summary_hash(
    *,
    market: str,
    asset_id: str,
    timestamp: str,
    bids: Iterable[dict[str, str]],
    asks: Iterable[dict[str, str]],
    min_order_size: str,
    tick_size: str,
    neg_risk: bool,
    last_trade_price: str,
) -> str:
    """The CLOB's ``/book`` hash: SHA1 of compact JSON in this key order with ``hash`` empty
    (the scheme of py-clob-client-v2 ``generate_orderbook_summary_hash``). Levels are hashed as
    sent, so callers pass the raw ``{"price","size"}`` strings in wire order."""
    payload = {
        "market": market,
        "asset_id": asset_id,
        "timestamp": timestamp,
        "hash": "",
        "bids": [{"price": b["price"], "size": b["size"]} for b in bids],
        "asks": [{"price": a["price"], "size": a["size"]} for a in asks],
        "min_order_size": min_order_size,
        "tick_size": tick_size,
        "neg_risk": neg_risk,
        "last_trade_price": last_trade_price,
    }
    return hashlib.sha1(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
