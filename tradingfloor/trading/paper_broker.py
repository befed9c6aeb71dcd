"""Paper broker: realistic fills against the L2 book, the market's own fees, latency, settlement.

Execution model
* Taker orders (FOK, FAK, and the marketable part of GTC) walk the opposite side level by level up
  to their limit. FOK fills completely or not at all; FAK fills what it can and cancels the rest.
* Liquidity consumption: shares we took from a level are not available again until that level (or
  the whole book) is updated by the market.
* Latency: an order submitted at t is matched against the book as it stands after every event
  stamped at or before t + latency (0 matches at once).
* Resting GTC orders use a queue-position model: on arrival we are behind the size already displayed
  at our price. A trade at our price by an opposite-side taker first consumes that queue, and only
  the excess fills us; a trade strictly through our price fills us up to its size. Makers pay no fee.
* Prices must sit on the market's tick grid (updated by tick-size changes); sizes on ``size_step``
  and at least the market's minimum size. BUYs must be covered by free cash, SELLs by held shares.
* Resolution cancels the market's open orders and settles each position at 1 (winner) or 0; a
  winning redemption is charged ``redemption_cost``.
* Every client order id is accepted once: a retried or replayed order is answered "duplicate".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from tradingfloor.market.book_view import BookView
from tradingfloor.market.events import LastTrade, MarketInfo, MarketResolved
from tradingfloor.trading.fees import fee_per_share, taker_fee
from tradingfloor.trading.ledger import ZERO, ClosedTrade, Ledger
from tradingfloor.trading.orders import Fill, Order, OrderResult, from_json, to_json
from tradingfloor.trading.serde import market_info_from_json, market_info_to_json

_ONE = Decimal(1)


class OrderRejected(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    latency_ms: int = 250  # Polymarket's ~150 ms taker delay on crypto plus network
    size_step: Decimal = Decimal("0.01")  # share granularity of the CLOB
    redemption_cost: Decimal = Decimal("0.005")  # USD per winning redemption (gas; 0 when relayed)

    def to_json(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "size_step": str(self.size_step),
            "redemption_cost": str(self.redemption_cost),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BrokerConfig:
        return cls(int(d["latency_ms"]), Decimal(d["size_step"]), Decimal(d["redemption_cost"]))


@dataclass(slots=True)
class _Resting:
    order: Order
    remaining: Decimal
    queue_ahead: Decimal


class PaperBroker:
    def __init__(self, ledger: Ledger, config: BrokerConfig | None = None) -> None:
        self.ledger = ledger
        self.config = config or BrokerConfig()
        self.markets: dict[str, MarketInfo] = {}
        self.tick_sizes: dict[str, Decimal] = {}  # by market id
        self.token_market: dict[str, str] = {}
        self.seen: set[str] = set()  # every client id ever accepted or rejected
        self.pending: list[tuple[int, Order]] = []  # (due_ms, order) in submission order
        self.resting: dict[str, _Resting] = {}  # by client id
        self.reserved: dict[str, Decimal] = {}  # cash held for pending/resting BUYs, by client id
        self.consumed: dict[tuple[str, str, Decimal], Decimal] = {}  # (token, BUY|SELL book side, price)

    # --- market bookkeeping -------------------------------------------------------------
    def register_market(self, info: MarketInfo) -> None:
        self.markets[info.market_id] = info
        self.tick_sizes.setdefault(info.market_id, info.tick_size)
        self.token_market[info.up_token_id] = info.market_id
        self.token_market[info.down_token_id] = info.market_id

    def set_tick_size(self, market_id: str, tick_size: Decimal) -> None:
        self.tick_sizes[market_id] = tick_size

    def on_level_update(self, token_id: str, side: str, price: Decimal) -> None:
        """The market changed this level: our earlier consumption of it no longer applies."""
        self.consumed.pop((token_id, side, price), None)

    def on_book_snapshot(self, token_id: str) -> None:
        for key in [k for k in self.consumed if k[0] == token_id]:
            del self.consumed[key]

    # --- order entry --------------------------------------------------------------------
    def claim(self, order: Order) -> OrderResult | None:
        """Take the order's client id, or say it was already used (a retried or replayed order)."""
        if order.client_id in self.seen:
            return OrderResult(order.client_id, "duplicate", reason="client order id already used")
        self.seen.add(order.client_id)
        return None

    def submit(self, order: Order, books: Mapping[str, BookView], now_ms: int) -> OrderResult:
        if (duplicate := self.claim(order)) is not None:
            return duplicate
        try:
            self._validate(order)
        except OrderRejected as exc:
            return OrderResult(order.client_id, "rejected", reason=str(exc))
        if order.side == "BUY":
            self.reserved[order.client_id] = self._max_cost(order)
        if self.config.latency_ms > 0:
            self.pending.append((now_ms + self.config.latency_ms, order))
            return OrderResult(order.client_id, "pending")
        return self._arrive(order, books.get(order.token_id), now_ms)

    def advance(self, now_ms: int, books: Mapping[str, BookView]) -> list[OrderResult]:
        """Match pending orders whose latency has elapsed before an event stamped ``now_ms``."""
        if not self.pending or self.pending[0][0] >= now_ms:
            return []
        due = [(t, o) for t, o in self.pending if t < now_ms]
        self.pending = [(t, o) for t, o in self.pending if t >= now_ms]
        return [self._arrive(o, books.get(o.token_id), t) for t, o in due]

    def cancel(self, client_id: str) -> bool:
        if client_id in self.resting:
            del self.resting[client_id]
        elif any(o.client_id == client_id for _, o in self.pending):
            self.pending = [(t, o) for t, o in self.pending if o.client_id != client_id]
        else:
            return False
        self.reserved.pop(client_id, None)
        return True

    def free_cash(self) -> Decimal:
        return self.ledger.cash - sum(self.reserved.values(), ZERO)

    def open_orders(self) -> list[Order]:
        return [o for _, o in self.pending] + [r.order for r in self.resting.values()]

    def _validate(self, order: Order) -> None:
        info = self.markets.get(order.market_id)
        if info is None:
            raise OrderRejected(f"unknown market {order.market_id}")
        if order.token_id not in (info.up_token_id, info.down_token_id):
            raise OrderRejected(f"token {order.token_id} is not part of market {info.slug}")
        tick = self.tick_sizes[order.market_id]
        if order.price % tick != 0 or not tick <= order.price <= _ONE - tick:
            raise OrderRejected(
                f"price {order.price} is not on the tick grid {tick} within ({tick}, {_ONE - tick})"
            )
        if order.size <= 0 or order.size % self.config.size_step != 0:
            raise OrderRejected(f"size {order.size} must be a positive multiple of {self.config.size_step}")
        if order.size < info.min_size:
            raise OrderRejected(f"size {order.size} is below the market's minimum size {info.min_size}")
        if order.side == "BUY":
            if self._max_cost(order) > self.free_cash():
                raise OrderRejected(f"insufficient free cash {self.free_cash()} for {self._max_cost(order)}")
        else:
            held = (
                self.ledger.positions[order.token_id].shares
                if order.token_id in self.ledger.positions
                else ZERO
            )
            selling = sum(
                (o.size for o in self.open_orders() if o.side == "SELL" and o.token_id == order.token_id),
                ZERO,
            )
            if order.size > held - selling:
                raise OrderRejected(
                    f"cannot sell {order.size} shares of {order.token_id}: {held - selling} free"
                )

    def _max_cost(self, order: Order) -> Decimal:
        info = self.markets[order.market_id]
        per_share = order.price + fee_per_share(order.price, info.fee_rate, info.fee_exponent)
        return order.size * per_share + Decimal("0.00001") * order.size  # fee rounding headroom

    # --- matching -----------------------------------------------------------------------
    def _arrive(self, order: Order, book: BookView | None, now_ms: int) -> OrderResult:
        fills = self._take(order, book, now_ms) if book is not None else []
        filled = sum((f.size for f in fills), ZERO)
        if order.order_type == "FOK" and filled < order.size:
            self.reserved.pop(order.client_id, None)
            return OrderResult(
                order.client_id, "rejected", reason="FOK: not enough liquidity within the limit"
            )
        self._book_fills(fills)
        remaining = order.size - filled
        if order.order_type == "GTC" and remaining > 0:
            levels = (
                book.bids() if book is not None and order.side == "BUY" else (book.asks() if book else [])
            )
            ahead = next((s for p, s in levels if p == order.price), ZERO)
            self.resting[order.client_id] = _Resting(order, remaining, ahead)
            if order.side == "BUY":
                self.reserved[order.client_id] = self._max_cost_of(order, remaining)
            return OrderResult(order.client_id, "resting", tuple(fills))
        self.reserved.pop(order.client_id, None)
        if remaining == 0:
            return OrderResult(order.client_id, "filled", tuple(fills))
        if fills:
            return OrderResult(order.client_id, "partial", tuple(fills), reason="FAK: rest cancelled")
        return OrderResult(order.client_id, "cancelled", reason="FAK: no liquidity within the limit")

    def _max_cost_of(self, order: Order, size: Decimal) -> Decimal:
        return order.price * size  # resting fills are maker fills: no fee

    def _take(self, order: Order, book: BookView, now_ms: int) -> list[Fill]:
        buying = order.side == "BUY"
        book_side = "SELL" if buying else "BUY"
        levels = book.asks() if buying else book.bids()
        info = self.markets[order.market_id]
        step = self.config.size_step
        remaining = order.size
        fills: list[Fill] = []
        for price, size in levels:
            if remaining <= 0 or (price > order.price if buying else price < order.price):
                break
            key = (order.token_id, book_side, price)
            available = size - self.consumed.get(key, ZERO)
            take = min(remaining, available).quantize(step, rounding=ROUND_DOWN)
            if take <= 0:
                continue
            fee = taker_fee(take, price, info.fee_rate, info.fee_exponent)
            if buying and order.order_type != "FOK" and not self._affordable(fills, take, price, fee):
                break
            fills.append(
                Fill(
                    order.client_id,
                    order.market_id,
                    order.token_id,
                    order.side,
                    price,
                    take,
                    fee,
                    "taker",
                    now_ms,
                )
            )
            remaining -= take
        return fills

    def _affordable(self, fills: list[Fill], size: Decimal, price: Decimal, fee: Decimal) -> bool:
        spent = sum((f.size * f.price + f.fee for f in fills), ZERO)
        return spent + size * price + fee <= self.ledger.cash

    def _book_fills(self, fills: list[Fill]) -> None:
        for f in fills:
            info = self.markets[f.market_id]
            if f.liquidity == "taker":
                key = (f.token_id, "SELL" if f.side == "BUY" else "BUY", f.price)
                self.consumed[key] = self.consumed.get(key, ZERO) + f.size
            if f.side == "BUY":
                self.ledger.buy(
                    f.market_id, f.token_id, info.outcome_of(f.token_id), f.size, f.price, f.fee, f.ts_ms
                )
            else:
                self.ledger.sell(f.token_id, f.size, f.price, f.fee, f.ts_ms)

    def on_trade(self, trade: LastTrade) -> list[Fill]:
        """Fill resting orders that this public trade reached (see the queue model above)."""
        if not self.resting:
            return []
        fills: list[Fill] = []
        for cid, rest in list(self.resting.items()):
            o = rest.order
            if o.token_id != trade.token_id or trade.side == o.side:
                continue
            through = trade.price < o.price if o.side == "BUY" else trade.price > o.price
            if through:
                size = min(rest.remaining, trade.size)
            elif trade.price == o.price:
                size = min(rest.remaining, max(ZERO, trade.size - rest.queue_ahead))
                rest.queue_ahead = max(ZERO, rest.queue_ahead - trade.size)
            else:
                continue
            size = size.quantize(self.config.size_step, rounding=ROUND_DOWN)
            if size <= 0:
                continue
            fill = Fill(cid, o.market_id, o.token_id, o.side, o.price, size, ZERO, "maker", trade.ts_ms)
            self._book_fills([fill])
            fills.append(fill)
            rest.remaining -= size
            if rest.remaining == 0:
                del self.resting[cid]
                self.reserved.pop(cid, None)
            elif o.side == "BUY":
                self.reserved[cid] = self._max_cost_of(o, rest.remaining)
        return fills

    # --- resolution ---------------------------------------------------------------------
    def resolve(self, event: MarketResolved) -> list[ClosedTrade]:
        info = self.markets.get(event.market_id)
        if info is None:
            return []
        for order in [o for o in self.open_orders() if o.market_id == event.market_id]:
            self.cancel(order.client_id)
        before = len(self.ledger.closed)
        for token in (info.up_token_id, info.down_token_id):
            if token in self.ledger.positions:
                payout = _ONE if token == event.winning_token_id else ZERO
                self.ledger.settle(token, payout, self.config.redemption_cost, event.ts_ms)
        return self.ledger.closed[before:]

    def forget_market(self, market_id: str) -> None:
        """Drop a resolved market's metadata (keeps long replays from growing without bound)."""
        info = self.markets.pop(market_id, None)
        self.tick_sizes.pop(market_id, None)
        if info is not None:
            for token in (info.up_token_id, info.down_token_id):
                self.token_market.pop(token, None)
                self.on_book_snapshot(token)

    # --- checkpoint ---------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "config": self.config.to_json(),
            "ledger": self.ledger.to_json(),
            "markets": [market_info_to_json(m) for m in self.markets.values()],
            "tick_sizes": {k: str(v) for k, v in self.tick_sizes.items()},
            "seen": sorted(self.seen),
            "pending": [{"due_ms": t, "order": to_json(o)} for t, o in self.pending],
            "resting": [
                {"order": to_json(r.order), "remaining": str(r.remaining), "queue_ahead": str(r.queue_ahead)}
                for r in self.resting.values()
            ],
            "reserved": {k: str(v) for k, v in self.reserved.items()},
            "consumed": [[t, s, str(p), str(q)] for (t, s, p), q in self.consumed.items()],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PaperBroker:
        broker = cls(Ledger.from_json(d["ledger"]), BrokerConfig.from_json(d["config"]))
        for m in d["markets"]:
            broker.register_market(market_info_from_json(m))
        broker.tick_sizes = {k: Decimal(v) for k, v in d["tick_sizes"].items()}
        broker.seen = set(d["seen"])
        broker.pending = [(int(p["due_ms"]), from_json(Order, p["order"])) for p in d["pending"]]
        broker.resting = {
            r["order"]["client_id"]: _Resting(
                from_json(Order, r["order"]), Decimal(r["remaining"]), Decimal(r["queue_ahead"])
            )
            for r in d["resting"]
        }
        broker.reserved = {k: Decimal(v) for k, v in d["reserved"].items()}
        broker.consumed = {(t, s, Decimal(p)): Decimal(q) for t, s, p, q in d["consumed"]}
        return broker
