"""The simulator's order endpoint logic: V2 signed-order payloads matched against the model's book.

What py-clob-client-v2 ``post_order`` sends: ``{"order": {salt, maker, signer, tokenId, makerAmount,
takerAmount, side, expiration, signatureType, timestamp, metadata, builder, signature}, "owner",
"orderType", "postOnly", "deferExec"}``; amounts are integers in 10⁻⁶ units. A BUY's price is
maker/taker (collateral per share), a SELL's taker/maker.

As the venue does:

* the order id is the order's EIP-712 hash under the V2 exchange's domain (what the official
  client computes), so a client can find its order by the hash it signed;
* ``GET /data/order/{id}`` knows only orders still open; a filled or cancelled order is found
  through its trades (``/data/trades``), whose records carry ``fee_rate_bps``, not a fee amount;
* every owner's order and trade updates go to the authenticated user channel (``order`` events
  PLACEMENT / UPDATE / CANCELLATION, ``trade`` events MATCHED then CONFIRMED);
* optionally (``async_answers``) ``POST /order`` answers the way the venue does when it processes
  an order asynchronously: ``success`` with the order id and trade ids, no status, no amounts.

Not simulated (documented in docs/simulator.md): signature checks, balances and allowances —
every owner has unlimited collateral. Orders that rest (GTC/GTD) are not shown in the public book;
they fill (as makers) when the market's touch reaches their price.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from py_clob_client_v2.config import get_contract_config
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.order_utils.model.order_data_v2 import OrderV2
from py_clob_client_v2.order_utils.model.side import Side
from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2

from tradingfloor.market.events import Side as BookSide
from tradingfloor.sim.model import MarketSimulator

UNIT = Decimal(1_000_000)
ORDER_TYPES = ("GTC", "GTD", "FOK", "FAK")
SIM_MAKER = "0x5100000000000000000000000000000000000001"  # the simulated market maker's address
SIM_MAKER_OWNER = "00000000-0000-4000-8000-00000000517a"


def venue_order_id(order: dict[str, Any], chain_id: int, neg_risk: bool) -> str:
    """The EIP-712 hash of a posted V2 order (its ``order`` object), as the venue names it."""
    config = get_contract_config(chain_id)
    exchange = config.neg_risk_exchange_v2 if neg_risk else config.exchange_v2
    builder = ExchangeOrderBuilderV2(exchange, chain_id, None, domain_version="2")
    side = Side.BUY if order.get("side") in ("BUY", 0) else Side.SELL
    unsigned = OrderV2(
        salt=str(order["salt"]),
        maker=str(order["maker"]),
        signer=str(order["signer"]),
        tokenId=str(order["tokenId"]),
        makerAmount=str(order["makerAmount"]),
        takerAmount=str(order["takerAmount"]),
        side=side,
        signatureType=SignatureTypeV2(int(order.get("signatureType", 0))),
        timestamp=str(order["timestamp"]),
        metadata=str(order["metadata"]),
        builder=str(order["builder"]),
        expiration=str(order.get("expiration", "0")),
    )
    return builder.build_order_hash(builder.build_order_typed_data(unsigned))


@dataclass
class SimOrder:
    id: str
    owner: str
    maker_address: str
    market: str
    token_id: str
    outcome: str
    side: BookSide
    price: Decimal
    size: Decimal
    order_type: str
    created_ms: int
    expiration: str = "0"
    matched: Decimal = Decimal(0)
    status: str = "LIVE"
    trade_ids: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """``GET /data/order/{id}`` / ``/data/orders`` shape (``created_at`` in seconds)."""
        return {
            "associate_trades": list(self.trade_ids),
            "id": self.id,
            "status": self.status,
            "market": self.market,
            "original_size": str(self.size),
            "outcome": self.outcome,
            "maker_address": self.maker_address,
            "owner": self.owner,
            "price": str(self.price),
            "side": self.side,
            "size_matched": str(self.matched),
            "asset_id": self.token_id,
            "expiration": self.expiration,
            "order_type": self.order_type,
            "created_at": self.created_ms // 1000,
        }

    def user_event(self, kind: str, now_ms: int) -> dict[str, Any]:
        """A user-channel ``order`` event (``kind``: PLACEMENT, UPDATE or CANCELLATION)."""
        return {
            "event_type": "order",
            "asset_id": self.token_id,
            "associate_trades": list(self.trade_ids) or None,
            "created_at": str(self.created_ms),
            "expiration": self.expiration,
            "id": self.id,
            "maker_address": self.maker_address,
            "market": self.market,
            "order_owner": self.owner,
            "order_type": self.order_type,
            "original_size": str(self.size),
            "outcome": self.outcome,
            "owner": self.owner,
            "price": str(self.price),
            "side": self.side,
            "size_matched": str(self.matched),
            "status": self.status,
            "timestamp": str(now_ms),
            "type": kind,
        }


class OrderRejected(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _rejection(code: str, message: str, order_id: str = "") -> dict[str, Any]:
    return {"success": False, "errorMsg": message, "error": code, "orderID": order_id, "status": "unmatched"}


@dataclass
class UserEvent:
    """One message for the user channel: who may see it, for which market."""

    owner: str
    market: str
    message: dict[str, Any]


MAX_AMOUNT = 10**18  # base units (6 decimals): a trillion dollars or shares, far above any order
_DIGITS = re.compile(r"[0-9]{1,19}")


def _amount(order: dict[str, Any], name: str) -> Decimal:
    """``order[name]`` as a positive whole number of base units, as the venue's order struct has it
    (a string of digits, or a JSON integer); anything else — ``NaN``, ``Infinity``, ``1e999999``,
    fractions, booleans — is refused naming the field, before any arithmetic could overflow."""
    value = order.get(name)
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        units = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        units = value
    else:
        shown = "missing" if value is None else f"got {str(value)[:40]!r}"
        raise OrderRejected(
            "INVALID_ORDER_ERROR", f"order.{name} must be a whole number of base units ({shown})"
        )
    if not 0 < units <= MAX_AMOUNT:
        raise OrderRejected(
            "INVALID_ORDER_ERROR", f"order.{name} must be between 1 and {MAX_AMOUNT} base units (got {units})"
        )
    return Decimal(units)


_UINT = re.compile(r"[0-9]{1,78}")  # a uint256 written in decimal
_STRUCT_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "salt": (_UINT, "a whole number"),
    "timestamp": (_UINT, "a whole number"),
    "expiration": (_UINT, "a whole number"),
    "tokenId": (_UINT, "a whole number"),
    "signatureType": (re.compile(r"[0-3]"), "0, 1, 2 or 3"),
    "maker": (re.compile(r"0x[0-9a-fA-F]{40}"), "an address (0x and 40 hex digits)"),
    "signer": (re.compile(r"0x[0-9a-fA-F]{40}"), "an address (0x and 40 hex digits)"),
    "metadata": (re.compile(r"0x[0-9a-fA-F]{64}"), "32 bytes (0x and 64 hex digits)"),
    "builder": (re.compile(r"0x[0-9a-fA-F]{64}"), "32 bytes (0x and 64 hex digits)"),
}
_OPTIONAL = {"expiration": "0", "signatureType": 0}


def _check_struct(order: dict[str, Any]) -> None:
    """Every field of the V2 order struct has the shape the venue's EIP-712 type gives it, so no
    value reaches the hashing (or arithmetic) that it could break; the first bad field is named."""
    for name, (pattern, shape) in _STRUCT_RULES.items():
        value = order.get(name, _OPTIONAL.get(name))
        text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
        if text is None or not pattern.fullmatch(text):
            shown = "missing" if value is None else f"got {str(value)[:40]!r}"
            raise OrderRejected("INVALID_ORDER_ERROR", f"order.{name} must be {shape} ({shown})")


class SimExchange:
    def __init__(self, model: MarketSimulator, *, chain_id: int = 137, async_answers: bool = False) -> None:
        self.model = model
        self.chain_id = chain_id
        self.async_answers = async_answers
        self.orders: dict[str, SimOrder] = {}
        self.trades: list[dict[str, Any]] = []  # /data/trades records, every owner's
        self.outbox: list[UserEvent] = []  # user-channel messages not yet sent

    def post(self, payload: Any, now_ms: int) -> dict[str, Any]:
        try:
            order = self._parse(payload, now_ms)
        except OrderRejected as exc:
            return _rejection(exc.code, exc.message)
        if order.id in self.orders:
            return _rejection("INVALID_ORDER_DUPLICATED", "order already exists", order.id)
        info = self.model.market(order.market)
        if payload.get("postOnly") and self._would_cross(order):
            return _rejection("INVALID_POST_ONLY_ORDER", "invalid post-only order: order crosses book")
        if order.order_type in ("GTC", "GTD") and order.size < info.min_size:
            return _rejection(
                "INVALID_ORDER_MIN_SIZE", f"Size ({order.size}) lower than the minimum: {info.min_size}"
            )
        if order.order_type == "FOK" and not self.fok_fillable(
            order.token_id, order.side, order.price, order.size
        ):
            return _rejection(
                "FOK_ORDER_NOT_FILLED_ERROR",
                "order couldn't be fully filled. FOK orders are fully filled or killed.",
            )
        fills = self.model.take(order.token_id, order.side, order.price, order.size, now_ms)
        trades = self._record_taker_fills(order, fills, now_ms)
        if order.matched >= order.size:
            order.status = "MATCHED"
        elif order.order_type in ("FAK", "FOK"):
            order.status = "CANCELED" if order.matched == 0 else "MATCHED"
        self.orders[order.id] = order
        if order.status == "LIVE":
            self._emit(order, order.user_event("PLACEMENT", now_ms))
        for t in trades:
            self._emit_trade(order, t, now_ms)
        if self.async_answers:
            return {"success": True, "orderID": order.id, "errorMsg": None, "tradeIDs": list(order.trade_ids)}
        making, taking = self._amounts(order, fills)
        status = "matched" if order.matched > 0 else ("live" if order.status == "LIVE" else "unmatched")
        return {
            "success": True,
            "orderID": order.id,
            "status": status,
            "errorMsg": "",
            "makingAmount": str(making),
            "takingAmount": str(taking),
            "transactionsHashes": [t["transaction_hash"] for t in trades],
            "tradeIDs": [t["id"] for t in trades],
        }

    def fok_fillable(self, token_id: str, side: str, price: Decimal, size: Decimal) -> bool:
        book = self.model.book(token_id)
        levels = book.asks() if side == "BUY" else book.bids()
        avail = sum((s for p, s in levels if (p <= price if side == "BUY" else p >= price)), Decimal(0))
        return avail >= size

    def cancel(self, order_ids: list[str], now_ms: int, owner: str | None = None) -> dict[str, Any]:
        canceled: list[str] = []
        not_canceled: dict[str, str] = {}
        for oid in order_ids:
            o = self.orders.get(oid)
            if o is None or (owner is not None and o.owner != owner):
                not_canceled[oid] = "order not found"
            elif o.status != "LIVE":
                not_canceled[oid] = "already canceled or matched"
            else:
                o.status = "CANCELED"
                canceled.append(oid)
                self._emit(o, o.user_event("CANCELLATION", now_ms))
        return {"canceled": canceled, "not_canceled": not_canceled}

    def cancel_all(self, now_ms: int, owner: str | None = None) -> dict[str, Any]:
        return self.cancel(
            [
                o.id
                for o in self.orders.values()
                if o.status == "LIVE" and (owner is None or o.owner == owner)
            ],
            now_ms,
            owner,
        )

    def open_order(self, order_id: str, owner: str | None = None) -> SimOrder | None:
        """An order the venue still lists (open, and the asker's own)."""
        o = self.orders.get(order_id)
        if o is None or o.status != "LIVE" or (owner is not None and o.owner != owner):
            return None
        return o

    def trades_of(self, owner: str | None) -> list[dict[str, Any]]:
        """The trades ``owner`` took part in, as taker or as maker."""
        return [
            t
            for t in self.trades
            if owner is None or t["owner"] == owner or any(m["owner"] == owner for m in t["maker_orders"])
        ]

    def drain(self) -> list[UserEvent]:
        out, self.outbox = self.outbox, []
        return out

    def on_tick(self, now_ms: int) -> None:
        """Resting orders fill (as makers) when the touch reaches them; orders of closed rounds are
        cancelled."""
        for o in self.orders.values():
            if o.status != "LIVE":
                continue
            if now_ms >= self.model.market(o.market).end_ms:
                o.status = "CANCELED"
                self._emit(o, o.user_event("CANCELLATION", now_ms))
                continue
            fills = self.model.take(o.token_id, o.side, o.price, o.size - o.matched, now_ms)
            if not fills:
                continue
            for price, size in fills:
                trade = self._maker_trade(o, price, size, now_ms)
                self._emit_trade(o, trade, now_ms)
            if o.matched >= o.size:
                o.status = "MATCHED"
            self._emit(o, o.user_event("UPDATE", now_ms))

    # -- helpers -------------------------------------------------------------------------------

    def _parse(self, payload: Any, now_ms: int) -> SimOrder:
        if not isinstance(payload, dict) or not isinstance(payload.get("order"), dict):
            raise OrderRejected("INVALID_ORDER_ERROR", "body must be {order: {...}, owner, orderType}")
        o = payload["order"]
        order_type = payload.get("orderType", "GTC")
        if order_type not in ORDER_TYPES:
            raise OrderRejected("INVALID_ORDER_ERROR", f"unknown orderType {order_type!r}")
        _check_struct(o)
        token = str(o.get("tokenId", ""))
        try:
            rnd, is_up = self.model.round_of_token(token)
        except KeyError:
            raise OrderRejected("INVALID_ORDER_ERROR", f"unknown token id {token[:20]!r}") from None
        if not rnd.book_open or rnd.closed:
            raise OrderRejected("MARKET_NOT_READY", "the market is not accepting orders")
        raw_side = o.get("side")
        if raw_side not in ("BUY", "SELL", 0, 1):
            raise OrderRejected("INVALID_ORDER_ERROR", f"side must be BUY or SELL, got {raw_side!r}")
        side: BookSide = "BUY" if raw_side in ("BUY", 0) else "SELL"
        maker, taker = _amount(o, "makerAmount"), _amount(o, "takerAmount")
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
        try:
            oid = venue_order_id(o, self.chain_id, rnd.info.neg_risk)
        except (KeyError, ValueError, TypeError) as exc:
            raise OrderRejected(
                "INVALID_ORDER_ERROR", f"order fields do not form a V2 order: {exc}"
            ) from None
        return SimOrder(
            oid,
            str(payload.get("owner", "")),
            str(o.get("maker", "")),
            rnd.info.market_id,
            token,
            "Up" if is_up else "Down",
            side,
            price,
            (shares / UNIT).quantize(Decimal("0.01")),
            order_type,
            now_ms,
            expiration=str(o.get("expiration", "0")),
        )

    def _would_cross(self, order: SimOrder) -> bool:
        book = self.model.book(order.token_id)
        best = book.best_ask() if order.side == "BUY" else book.best_bid()
        return best is not None and (order.price >= best if order.side == "BUY" else order.price <= best)

    def _fee_bps(self, market: str) -> str:
        return str(int(self.model.market(market).fee_rate * 10_000))

    def _trade_id(self) -> str:
        return f"{len(self.trades) + 1:08x}-5e0d-4a1b-8c2d-{self.model.config.seed:012x}"

    def _base_trade(self, order: SimOrder, now_ms: int) -> dict[str, Any]:
        tid = self._trade_id()
        return {
            "id": tid,
            "market": order.market,
            "asset_id": order.token_id,
            "status": "CONFIRMED",  # the simulator settles at once
            "match_time": str(now_ms // 1000),
            "last_update": str(now_ms // 1000),
            "outcome": order.outcome,
            "bucket_index": 0,
            "transaction_hash": "0x" + hashlib.sha256(tid.encode()).hexdigest(),
        }

    def _record_taker_fills(
        self, order: SimOrder, fills: list[tuple[Decimal, Decimal]], now_ms: int
    ) -> list[dict[str, Any]]:
        out = []
        for price, size in fills:
            trade = self._base_trade(order, now_ms) | {
                "taker_order_id": order.id,
                "side": order.side,
                "size": str(size),
                "fee_rate_bps": self._fee_bps(order.market),
                "price": str(price),
                "owner": order.owner,
                "maker_address": order.maker_address,
                "maker_orders": [
                    {
                        "order_id": "0x" + hashlib.sha256(f"maker:{order.id}:{price}".encode()).hexdigest(),
                        "owner": SIM_MAKER_OWNER,
                        "maker_address": SIM_MAKER,
                        "matched_amount": str(size),
                        "price": str(price),
                        "fee_rate_bps": "0",
                        "asset_id": order.token_id,
                        "outcome": order.outcome,
                        "side": "SELL" if order.side == "BUY" else "BUY",
                    }
                ],
                "trader_side": "TAKER",
            }
            order.matched += size
            order.trade_ids.append(trade["id"])
            self.trades.append(trade)
            out.append(trade)
        return out

    def _maker_trade(self, order: SimOrder, price: Decimal, size: Decimal, now_ms: int) -> dict[str, Any]:
        """A resting order filled by an outside taker: the record names the taker; ours is a maker."""
        taker_id = "0x" + hashlib.sha256(f"taker:{order.id}:{len(self.trades)}".encode()).hexdigest()
        trade = self._base_trade(order, now_ms) | {
            "taker_order_id": taker_id,
            "side": "SELL" if order.side == "BUY" else "BUY",
            "size": str(size),
            "fee_rate_bps": self._fee_bps(order.market),
            "price": str(order.price),
            "owner": SIM_MAKER_OWNER,
            "maker_address": SIM_MAKER,
            "maker_orders": [
                {
                    "order_id": order.id,
                    "owner": order.owner,
                    "maker_address": order.maker_address,
                    "matched_amount": str(size),
                    "price": str(order.price),
                    "fee_rate_bps": "0",
                    "asset_id": order.token_id,
                    "outcome": order.outcome,
                    "side": order.side,
                }
            ],
            "trader_side": "MAKER",
        }
        order.matched += size
        order.trade_ids.append(trade["id"])
        self.trades.append(trade)
        return trade

    def _emit(self, order: SimOrder, message: dict[str, Any]) -> None:
        self.outbox.append(UserEvent(order.owner, order.market, message))

    def _emit_trade(self, order: SimOrder, trade: dict[str, Any], now_ms: int) -> None:
        """The trade's lifecycle on the user channel: MATCHED, then CONFIRMED (settled at once)."""
        for status in ("MATCHED", "CONFIRMED"):
            message = {"event_type": "trade", **trade, "status": status}
            message.update(type="TRADE", timestamp=str(now_ms), trade_owner=order.owner)
            if status == "MATCHED":
                message.pop("transaction_hash", None)
            self._emit(order, message)

    def _amounts(self, order: SimOrder, fills: list[tuple[Decimal, Decimal]]) -> tuple[Decimal, Decimal]:
        shares = sum((s for _, s in fills), Decimal(0))
        cost = sum((p * s for p, s in fills), Decimal(0))
        return (cost, shares) if order.side == "BUY" else (shares, cost)
