"""Live broker: the paper broker's interface, with orders signed and sent through Polymarket's official
CLOB client (``py_clob_client_v2``).

* Reachable only through :func:`tradingfloor.brokers.factory.make_broker`, which checks the two-key
  opt-in; constructing it directly still needs a client with credentials.
* Bookkeeping (markets, tick grid, minimum size, free cash, ledger, settlement) is the paper broker's;
  only order entry differs, so both brokers validate an order the same way before it leaves.
* Every order is signed once. Its EIP-712 hash (the venue's order id) and the signed payload are kept
  in :attr:`submissions` and handed to ``journal`` *before* the HTTP call, so a crash or a timeout
  leaves enough to find the order again.
* A submission that timed out (or met a 5xx or a network error) is **unknown**, never rejected: it
  stays pending and :meth:`reconcile` asks the venue by hash; an order the venue has never seen is
  re-posted byte for byte (the same hash, so the venue cannot take it twice).
* Fills come from the venue's matched sizes (POST response, or ``size_matched`` on reconcile); taker
  fees are computed from the market's own fee schedule.
* The client is synchronous (it blocks on HTTP): the agent calls a live broker from a worker thread.
* Every venue call counts in :attr:`api` (:class:`~tradingfloor.bus.api_health.ApiCounter`; a network
  error, a timeout, a 5xx or a 429 as an error), which the agent flushes to the floor's API-health
  buckets for the ``ApiErrorRate`` circuit breaker.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from decimal import ROUND_DOWN, Decimal
from typing import Any

import httpx
from py_clob_client_v2 import ClobClient, OrderArgsV2, PartialCreateOrderOptions
from py_clob_client_v2.clob_types import OrderPayload
from py_clob_client_v2.config import get_contract_config
from py_clob_client_v2.exceptions import PolyApiException, PolyException
from py_clob_client_v2.http_helpers import helpers as clob_http
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.order_utils.model.order_data_v2 import OrderV2, SignedOrderV2
from py_clob_client_v2.order_utils.model.side import Side as ClobSide
from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2

from tradingfloor.bus.api_health import ApiCounter
from tradingfloor.market.book_view import BookView
from tradingfloor.trading.fees import taker_fee
from tradingfloor.trading.ledger import ZERO, Ledger
from tradingfloor.trading.orders import Fill, Order, OrderResult, OrderStatus, from_json, to_json
from tradingfloor.trading.paper_broker import BrokerConfig, OrderRejected, PaperBroker

AMOUNT_QUANTUM = Decimal("0.000001")  # pUSD and outcome shares have 6 decimals
ORDER_VERSION = 2  # CLOB V2 exchange (EIP-712 domain version "2")
_TERMINAL = ("filled", "rejected", "cancelled")
_DUPLICATE_MARKERS = ("INVALID_ORDER_DUPLICATED", "duplicate")


def metadata_for(client_id: str) -> str:
    """The client order id carried in the signed order's bytes32 ``metadata`` (traceable on chain)."""
    raw = client_id.encode()
    if len(raw) > 32:
        raise ValueError(f"client order id {client_id!r} is longer than 32 bytes")
    return "0x" + raw.hex().ljust(64, "0")


def order_hash(signed: SignedOrderV2, chain_id: int, neg_risk: bool) -> str:
    """The venue's id for a signed V2 order: its EIP-712 struct hash under the exchange's domain."""
    config = get_contract_config(chain_id)
    exchange = config.neg_risk_exchange_v2 if neg_risk else config.exchange_v2
    builder = ExchangeOrderBuilderV2(exchange, chain_id, None, domain_version=str(ORDER_VERSION))
    fields = {f.name: getattr(signed, f.name) for f in dataclasses.fields(OrderV2)}
    return builder.build_order_hash(builder.build_order_typed_data(OrderV2(**fields)))


def signed_to_json(signed: SignedOrderV2) -> dict[str, Any]:
    d = dataclasses.asdict(signed)
    d["side"] = int(signed.side)
    d["signatureType"] = int(signed.signatureType)
    return d


def signed_from_json(d: dict[str, Any]) -> SignedOrderV2:
    return SignedOrderV2(
        **{**d, "side": ClobSide(d["side"]), "signatureType": SignatureTypeV2(d["signatureType"])}
    )


@dataclasses.dataclass(slots=True)
class Submission:
    """One order as sent to the venue: enough to find it again (hash) or to resend it (signed)."""

    order: Order
    order_hash: str
    signed: dict[str, Any]
    neg_risk: bool
    state: str = "unknown"  # unknown | resting | pending | filled | cancelled | rejected
    matched: Decimal = ZERO  # shares already booked as fills
    rested: bool = False  # seen resting on the book: later fills are maker fills

    def to_json(self) -> dict[str, Any]:
        return {
            "order": to_json(self.order),
            "order_hash": self.order_hash,
            "signed": self.signed,
            "neg_risk": self.neg_risk,
            "state": self.state,
            "matched": str(self.matched),
            "rested": self.rested,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Submission:
        return cls(
            from_json(Order, d["order"]),
            d["order_hash"],
            d["signed"],
            bool(d["neg_risk"]),
            d["state"],
            Decimal(d["matched"]),
            bool(d["rested"]),
        )


def _is_unknown_outcome(exc: PolyApiException) -> bool:
    """No HTTP status (timeout, connection dropped) or a server error: the order may have arrived."""
    return exc.status_code is None or exc.status_code >= 500


def _is_api_error(exc: PolyApiException) -> bool:
    """A failure of the venue's API (not an answer from it): counted against the floor's error rate."""
    return _is_unknown_outcome(exc) or exc.status_code == 429


def _error_text(payload: Any) -> str:
    if isinstance(payload, dict):
        return str(payload.get("errorMsg") or payload.get("error") or payload)
    return str(payload)


class LiveBroker(PaperBroker):
    def __init__(
        self,
        ledger: Ledger,
        client: ClobClient,
        *,
        config: BrokerConfig | None = None,
        request_timeout_s: float = 5.0,
        reconcile_every_ms: int = 1000,
        journal: Callable[[Submission], None] | None = None,
    ) -> None:
        super().__init__(ledger, config or BrokerConfig(latency_ms=0))
        client.assert_level_2_auth()
        self.client = client
        self.chain_id = client.chain_id
        self.journal = journal
        self.reconcile_every_ms = reconcile_every_ms
        self.submissions: dict[str, Submission] = {}
        self._last_reconcile_ms = 0
        self.api = ApiCounter("live-broker")
        # The client shares one module-level httpx client; its timeout decides when a POST is "unknown".
        clob_http._http_client.timeout = httpx.Timeout(request_timeout_s)

    def _call(self, method: Callable[..., Any], *args: Any) -> Any:
        """One venue call, counted in :attr:`api`; exceptions pass through unchanged."""
        try:
            result = method(*args)
        except PolyApiException as exc:
            self.api.count(1, int(_is_api_error(exc)))
            raise
        except Exception:
            self.api.count(1, 1)
            raise
        self.api.count(1)
        return result

    # --- order entry --------------------------------------------------------------------
    def submit(self, order: Order, books: Mapping[str, BookView], now_ms: int) -> OrderResult:
        if (duplicate := self.claim(order)) is not None:
            return duplicate
        try:
            self._validate(order)
            sub = self.prepare(order)
        except (OrderRejected, PolyException, ValueError) as exc:
            return OrderResult(order.client_id, "rejected", reason=_error_text(getattr(exc, "msg", exc)))
        if order.side == "BUY":
            self.reserved[order.client_id] = self._max_cost(order)
        self.submissions[order.client_id] = sub
        if self.journal is not None:
            self.journal(sub)  # the intent is durable before anything leaves the process
        result = self._post(sub, now_ms)
        self._sync_pending()
        return result

    def prepare(self, order: Order) -> Submission:
        """Build and sign the venue order for ``order`` (no state change; also what the benchmark times)."""
        info = self.markets[order.market_id]
        options = PartialCreateOrderOptions(
            tick_size=str(self.tick_sizes[order.market_id]), neg_risk=info.neg_risk
        )
        args = OrderArgsV2(
            token_id=order.token_id,
            price=float(order.price),
            size=float(order.size),
            side=order.side,
            metadata=metadata_for(order.client_id),
        )
        signed = self.client.create_order(args, options)
        return Submission(
            order, order_hash(signed, self.chain_id, info.neg_risk), signed_to_json(signed), info.neg_risk
        )

    def _post(self, sub: Submission, now_ms: int) -> OrderResult:
        cid = sub.order.client_id
        try:
            response = self._call(self.client.post_order, signed_from_json(sub.signed), sub.order.order_type)
        except PolyApiException as exc:
            if _is_unknown_outcome(exc):
                sub.state = "unknown"
                return OrderResult(
                    cid, "pending", reason=f"submission outcome unknown ({exc.error_msg}); reconciling"
                )
            return self._finish(sub, "rejected", reason=_error_text(exc.error_msg))
        if not isinstance(response, dict) or not response.get("success", False):
            text = _error_text(response)
            if any(m in text for m in _DUPLICATE_MARKERS):
                sub.state = "unknown"  # the venue already has it: find out what became of it
                return OrderResult(cid, "pending", reason="venue reports a duplicate; reconciling")
            return self._finish(sub, "rejected", reason=text)
        return self._apply_post_response(sub, response, now_ms)

    def _apply_post_response(self, sub: Submission, response: dict[str, Any], now_ms: int) -> OrderResult:
        status = str(response.get("status", "")).lower()
        shares, notional = _matched_amounts(sub.order.side, response)
        fills = self._fills_for(sub, shares, notional / shares if shares > 0 else sub.order.price, now_ms)
        if status == "matched" or sub.matched >= sub.order.size:
            return self._finish(sub, "filled", fills)
        if status == "live":
            sub.state, sub.rested = "resting", True
            return OrderResult(sub.order.client_id, "resting", fills)
        if status == "delayed":
            sub.state = "pending"
            return OrderResult(sub.order.client_id, "pending", fills, reason="venue delayed the match")
        return self._finish(
            sub, "partial" if fills else "cancelled", fills, reason=f"venue status {status or 'unmatched'}"
        )

    # --- reconciliation -----------------------------------------------------------------
    def advance(self, now_ms: int, books: Mapping[str, BookView]) -> list[OrderResult]:
        if now_ms - self._last_reconcile_ms < self.reconcile_every_ms or not self.open_submissions():
            return []
        return self.reconcile(now_ms)

    def open_submissions(self) -> list[Submission]:
        return [s for s in self.submissions.values() if s.state not in _TERMINAL]

    def reconcile(self, now_ms: int) -> list[OrderResult]:
        """Ask the venue about every order not known to be finished; book any new fills."""
        self._last_reconcile_ms = now_ms
        results = []
        for sub in self.open_submissions():
            result = self._reconcile_one(sub, now_ms)
            if result is not None:
                results.append(result)
        self._sync_pending()
        return results

    def _sync_pending(self) -> None:
        """Mirror open submissions into ``pending`` (due at the next reconcile time): the engine calls
        :meth:`advance` only while ``pending`` holds something due."""
        due = self._last_reconcile_ms + self.reconcile_every_ms - 1
        self.pending = [(due, s.order) for s in self.open_submissions()]

    def _reconcile_one(self, sub: Submission, now_ms: int) -> OrderResult | None:
        try:
            venue = self._call(self.client.get_order, sub.order_hash)
        except PolyApiException as exc:
            if exc.status_code != 404:
                return None  # still unknown; ask again next time
            venue = None
        if not venue:
            if sub.state == "unknown":  # never arrived: resend the very same signed order
                return self._post(sub, now_ms)
            return None
        matched = Decimal(str(venue.get("size_matched", "0")))
        price = Decimal(str(venue.get("price", sub.order.price)))
        fills = self._fills_for(sub, matched - sub.matched, price, now_ms)
        status = str(venue.get("status", "")).upper()
        if sub.matched >= sub.order.size or status == "MATCHED":
            return self._finish(sub, "filled", fills)
        if status in ("CANCELED", "CANCELLED", "UNMATCHED", "EXPIRED"):
            return self._finish(
                sub, "partial" if fills else "cancelled", fills, reason=f"venue status {status}"
            )
        if status == "LIVE":
            newly_resting = not sub.rested
            sub.state, sub.rested = "resting", True
            if fills or newly_resting:
                return OrderResult(sub.order.client_id, "resting", fills)
            return None
        sub.state = "pending"
        return OrderResult(sub.order.client_id, "pending", fills) if fills else None

    def adopt(self, sub: Submission) -> None:
        """Take over a submission journaled by an earlier process (found in the database after a crash)
        but missing from the restored checkpoint: it is unknown until the venue says otherwise."""
        if sub.order.client_id in self.submissions:
            return
        sub.state = "unknown"
        self.seen.add(sub.order.client_id)
        self.submissions[sub.order.client_id] = sub
        if sub.order.side == "BUY":
            self.reserved[sub.order.client_id] = self._max_cost(sub.order)
        self._sync_pending()

    def cancel(self, client_id: str) -> bool:
        sub = self.submissions.get(client_id)
        if sub is None or sub.state in _TERMINAL:
            return False
        try:
            self._call(self.client.cancel_order, OrderPayload(orderID=sub.order_hash))
        except PolyApiException:
            return False  # reconciliation will tell whether it is still open
        return True

    # --- bookkeeping ----------------------------------------------------------------------
    def _fills_for(self, sub: Submission, shares: Decimal, price: Decimal, now_ms: int) -> tuple[Fill, ...]:
        shares = shares.quantize(AMOUNT_QUANTUM, rounding=ROUND_DOWN)
        if shares <= 0:
            return ()
        price = price.quantize(AMOUNT_QUANTUM)
        o = sub.order
        info = self.markets[o.market_id]
        maker = sub.rested
        fee = ZERO if maker else taker_fee(shares, price, info.fee_rate, info.fee_exponent)
        fill = Fill(
            o.client_id,
            o.market_id,
            o.token_id,
            o.side,
            price,
            shares,
            fee,
            "maker" if maker else "taker",
            now_ms,
        )
        self._book_fills([fill])
        sub.matched += shares
        if o.side == "BUY" and o.client_id in self.reserved:
            self.reserved[o.client_id] = max(ZERO, self._max_cost(o) * (o.size - sub.matched) / o.size)
        return (fill,)

    def _book_fills(self, fills: list[Fill]) -> None:
        # Live fills are the venue's, not taken from our book view: no liquidity-consumption tracking.
        for f in fills:
            info = self.markets[f.market_id]
            if f.side == "BUY":
                self.ledger.buy(
                    f.market_id, f.token_id, info.outcome_of(f.token_id), f.size, f.price, f.fee, f.ts_ms
                )
            else:
                self.ledger.sell(f.token_id, f.size, f.price, f.fee, f.ts_ms)

    def _finish(
        self, sub: Submission, status: OrderStatus, fills: tuple[Fill, ...] = (), reason: str = ""
    ) -> OrderResult:
        sub.state = "filled" if status == "filled" else ("rejected" if status == "rejected" else "cancelled")
        self.reserved.pop(sub.order.client_id, None)
        return OrderResult(sub.order.client_id, status, fills, reason)

    def open_orders(self) -> list[Order]:
        return [s.order for s in self.open_submissions()]

    def on_trade(self, trade: Any) -> list[Fill]:
        return []  # live fills are reported by the venue, not inferred from public trades

    def resolve(self, event: Any) -> Any:
        for sub in self.submissions.values():
            if sub.order.market_id == event.market_id and sub.state not in _TERMINAL:
                sub.state = "cancelled"  # the venue cancels a resolved market's open orders
                self.reserved.pop(sub.order.client_id, None)
        return super().resolve(event)

    # --- checkpoint -----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        d = super().to_json()
        d["live"] = {"submissions": [s.to_json() for s in self.submissions.values()]}
        return d

    def restore(self, d: dict[str, Any]) -> None:
        """Load a checkpoint written by :meth:`to_json` into this broker (keeps the client)."""
        paper = PaperBroker.from_json(d)
        for name in ("ledger", "config", "markets", "tick_sizes", "token_market", "seen", "reserved"):
            setattr(self, name, getattr(paper, name))
        self.submissions = {
            s["order"]["client_id"]: Submission.from_json(s) for s in d.get("live", {}).get("submissions", [])
        }
        self._sync_pending()


def _matched_amounts(side: str, response: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """(shares, pUSD) matched at once, from a POST /order answer's making/taking amounts."""
    making = Decimal(str(response.get("makingAmount") or "0"))
    taking = Decimal(str(response.get("takingAmount") or "0"))
    return (taking, making) if side == "BUY" else (making, taking)
