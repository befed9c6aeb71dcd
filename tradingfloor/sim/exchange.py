"""The simulator's order endpoint logic: V2 signed-order payloads matched against the model's book.

What py-clob-client-v2 ``post_order`` sends: ``{"order": {tokenId, makerAmount, takerAmount, side,
expiration, signatureType, timestamp, metadata, builder, signature, salt, maker, signer},
"owner", "orderType", "postOnly", "deferExec"}``; amounts are integers in 10⁻⁶ units. A BUY's
price is maker/taker (collateral per share), a SELL's taker/maker.

Not simulated (documented in docs/simulator.md): signature checks, balances and allowances —
every owner has unlimited collateral. Orders that rest (GTC/GTD) are not shown in the public book;
they fill when the market's touch reaches their price.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from tradingfloor.market.events import Side
from tradingfloor.sim.model import MarketSimulator

UNIT = Decimal(1_000_000)
ORDER_TYPES = ("GTC", "GTD", "FOK", "FAK")


@dataclass
class SimOrder:
    id: str
    owner: str
    market: str
    token_id: str
    side: Side
    price: Decimal
    size: Decimal
    order_type: str
    created_ms: int
    matched: Decimal = Decimal(0)
    status: str = "LIVE"
    trade_ids: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "status": self.status,
            "owner": self.owner,
            "market": self.market,
            "asset_id": self.token_id,
            "side": self.side,
            "original_size": str(self.size),
            "size_matched": str(self.matched),
            "price": str(self.price),
            "order_type": self.order_type,
            "created_at": self.created_ms // 1000,
            "associate_trades": self.trade_ids,
        }


class OrderRejected(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class SimExchange:
    def __init__(self, model: MarketSimulator) -> None:
        self.model = model
        self.orders: dict[str, SimOrder] = {}
        self.trades: list[dict] = []

    def post(self, payload: Any, now_ms: int) -> dict:
        try:
            order = self._parse(payload, now_ms)
        except OrderRejected as exc:
            return {
                "success": False,
                "errorMsg": exc.message,
                "error": exc.code,
                "orderID": "",
                "status": "unmatched",
            }
        if order.id in self.orders:
            return {
                "success": False,
                "errorMsg": "order already exists",
                "error": "INVALID_ORDER_DUPLICATED",
                "orderID": order.id,
                "status": "unmatched",
            }
        info = self.model.market(order.market)
        if payload.get("postOnly") and self._would_cross(order):
            return {
                "success": False,
                "errorMsg": "invalid post-only order: order crosses book",
                "error": "INVALID_POST_ONLY_ORDER",
                "orderID": "",
                "status": "unmatched",
            }
        if order.order_type in ("GTC", "GTD") and order.size < info.min_size:
            return {
                "success": False,
                "errorMsg": f"Size ({order.size}) lower than the minimum: {info.min_size}",
                "error": "INVALID_ORDER_MIN_SIZE",
                "orderID": "",
                "status": "unmatched",
            }
        if order.order_type == "FOK" and not self.fok_fillable(
            order.token_id, order.side, order.price, order.size
        ):
            return {
                "success": False,
                "errorMsg": "order couldn't be fully filled. FOK orders are fully filled or killed.",
                "error": "FOK_ORDER_NOT_FILLED_ERROR",
                "orderID": "",
                "status": "unmatched",
            }
        fills = self.model.take(order.token_id, order.side, order.price, order.size, now_ms)
        self._record_fills(order, fills, now_ms)
        if order.matched >= order.size:
            order.status = "MATCHED"
        elif order.order_type in ("FAK", "FOK"):
            order.status = "CANCELED" if order.matched == 0 else "MATCHED"
        self.orders[order.id] = order
        making, taking = self._amounts(order, fills)
        status = {"MATCHED": "matched", "LIVE": "live"}.get(order.status, "unmatched")
        return {
            "success": True,
            "orderID": order.id,
            "status": status,
            "errorMsg": "",
            "makingAmount": str(making),
            "takingAmount": str(taking),
            "transactionsHashes": ["0x" + hashlib.sha256(t.encode()).hexdigest() for t in order.trade_ids],
            "tradeIDs": list(order.trade_ids),
        }

    def fok_fillable(self, token_id: str, side: str, price: Decimal, size: Decimal) -> bool:
        book = self.model.book(token_id)
        levels = book.asks() if side == "BUY" else book.bids()
        avail = sum((s for p, s in levels if (p <= price if side == "BUY" else p >= price)), Decimal(0))
        return avail >= size

    def cancel(self, order_ids: list[str]) -> dict:
        canceled, not_canceled = [], {}
        for oid in order_ids:
            o = self.orders.get(oid)
            if o is None:
                not_canceled[oid] = "order not found"
            elif o.status != "LIVE":
                not_canceled[oid] = f"order is {o.status.lower()}"
            else:
                o.status = "CANCELED"
                canceled.append(oid)
        return {"canceled": canceled, "not_canceled": not_canceled}

    def cancel_all(self, owner: str | None = None) -> dict:
        return self.cancel(
            [o.id for o in self.orders.values() if o.status == "LIVE" and (owner is None or o.owner == owner)]
        )

    def on_tick(self, now_ms: int) -> None:
        """Resting orders fill when the touch reaches them; orders of closed rounds are canceled."""
        for o in self.orders.values():
            if o.status != "LIVE":
                continue
            if now_ms >= self.model.market(o.market).end_ms:
                o.status = "CANCELED"
                continue
            fills = self.model.take(o.token_id, o.side, o.price, o.size - o.matched, now_ms)
            if fills:
                self._record_fills(o, fills, now_ms)
                if o.matched >= o.size:
                    o.status = "MATCHED"

    # -- helpers -------------------------------------------------------------------------------

    def _parse(self, payload: Any, now_ms: int) -> SimOrder:
        if not isinstance(payload, dict) or not isinstance(payload.get("order"), dict):
            raise OrderRejected("INVALID_ORDER_ERROR", "body must be {order: {...}, owner, orderType}")
        o = payload["order"]
        order_type = payload.get("orderType", "GTC")
        if order_type not in ORDER_TYPES:
            raise OrderRejected("INVALID_ORDER_ERROR", f"unknown orderType {order_type!r}")
        token = str(o.get("tokenId", ""))
        try:
            rnd, _ = self.model.round_of_token(token)
        except KeyError:
            raise OrderRejected("INVALID_ORDER_ERROR", f"unknown token id {token[:20]!r}") from None
        if not rnd.open or rnd.closed:
            raise OrderRejected("MARKET_NOT_READY", "the market is not accepting orders")
        raw_side = o.get("side")
        if raw_side not in ("BUY", "SELL", 0, 1):
            raise OrderRejected("INVALID_ORDER_ERROR", f"side must be BUY or SELL, got {raw_side!r}")
        side: Side = "BUY" if raw_side in ("BUY", 0) else "SELL"
        try:
            maker, taker = Decimal(str(o["makerAmount"])), Decimal(str(o["takerAmount"]))
        except (KeyError, InvalidOperation):
            raise OrderRejected(
                "INVALID_ORDER_ERROR", "makerAmount and takerAmount must be integers"
            ) from None
        if maker <= 0 or taker <= 0:
            raise OrderRejected("INVALID_ORDER_ERROR", "amounts must be positive")
        shares = taker if side == "BUY" else maker
        collateral = maker if side == "BUY" else taker
        raw_price = collateral / shares
        tick = self.model.tick_size(token)
        price = raw_price.quantize(tick)
        if abs(raw_price - price) > Decimal("0.0001") or price < tick or price > 1 - tick:
            raise OrderRejected(
                "INVALID_ORDER_MIN_TICK_SIZE",
                f"order is invalid. Price ({raw_price:.6f}) breaks minimum tick size rules",
            )
        oid = (
            "0x"
            + hashlib.sha256(
                f"{o.get('salt')}:{o.get('signature')}:{token}:{maker}:{taker}".encode()
            ).hexdigest()
        )
        return SimOrder(
            oid,
            str(payload.get("owner", "")),
            rnd.info.market_id,
            token,
            side,
            price,
            (shares / UNIT).quantize(Decimal("0.01")),
            order_type,
            now_ms,
        )

    def _would_cross(self, order: SimOrder) -> bool:
        book = self.model.book(order.token_id)
        best = book.best_ask() if order.side == "BUY" else book.best_bid()
        return best is not None and (order.price >= best if order.side == "BUY" else order.price <= best)

    def _record_fills(self, order: SimOrder, fills: list[tuple[Decimal, Decimal]], now_ms: int) -> None:
        info = self.model.market(order.market)
        for price, size in fills:
            tid = f"sim-trade-{len(self.trades) + 1}"
            fee = (size * info.fee_rate * (price * (1 - price)) ** info.fee_exponent).quantize(
                Decimal("0.00001")
            )
            order.matched += size
            order.trade_ids.append(tid)
            self.trades.append(
                {
                    "id": tid,
                    "taker_order_id": order.id,
                    "market": order.market,
                    "asset_id": order.token_id,
                    "side": order.side,
                    "size": str(size),
                    "price": str(price),
                    "fee": str(fee),
                    "fee_rate_bps": str(int(info.fee_rate * 10_000)),
                    "status": "CONFIRMED",
                    "match_time": str(now_ms // 1000),
                    "owner": order.owner,
                    "trader_side": "TAKER",
                    "transaction_hash": "0x" + hashlib.sha256(tid.encode()).hexdigest(),
                }
            )

    def _amounts(self, order: SimOrder, fills: list[tuple[Decimal, Decimal]]) -> tuple[Decimal, Decimal]:
        shares = sum((s for _, s in fills), Decimal(0))
        cost = sum((p * s for p, s in fills), Decimal(0))
        return (cost, shares) if order.side == "BUY" else (shares, cost)
