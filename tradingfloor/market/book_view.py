"""The read side of an L2 book that the paper broker needs (``tradingfloor.market.book.OrderBook``
satisfies it)."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol


class BookView(Protocol):
    ts_ms: int

    def best_bid(self) -> Decimal | None: ...

    def best_ask(self) -> Decimal | None: ...

    def mid(self) -> Decimal | None: ...

    def bids(self) -> list[tuple[Decimal, Decimal]]:
        """Bid levels, best (highest) first."""
        ...

    def asks(self) -> list[tuple[Decimal, Decimal]]:
        """Ask levels, best (lowest) first."""
        ...
