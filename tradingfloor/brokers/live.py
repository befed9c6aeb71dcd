"""Live broker: the paper broker's interface, with orders signed and sent through Polymarket's official
CLOB client (``py_clob_client_v2``).

* Reachable only through :func:`tradingfloor.brokers.factory.make_broker`, which checks the two-key
  opt-in; constructing it directly still needs a client with credentials.
* Bookkeeping (markets, tick grid, minimum size, free cash, ledger, settlement) is the paper broker's;
  only order entry differs, so both brokers validate an order the same way before it leaves.
* Every order is signed once. Its EIP-712 hash (the venue's order id) and the signed payload are kept
  in :attr:`submissions` and handed to ``journal`` *before* the HTTP call, so a crash or a timeout
  leaves enough to find the order again.
* A submission that timed out (or met a 5xx or a network error), and the venue's asynchronous answer
  (``success`` without a ``status``; trade ids perhaps without hashes), are **unknown**, never
  rejected nor final: the order stays pending and :meth:`reconcile` asks the venue by hash. An
  order the venue does not list and never traded is re-posted byte for byte (the same hash, so the
  venue cannot take it twice); if the venue then says it has it, it was closed unfilled.
* Fills are booked per venue trade, each once (by trade id): from the authenticated user channel
  (:meth:`attach_user_channel`), from ``/data/trades`` when reconciling (the venue lists only open
  orders at ``/data/order``, so a closed order's fills are found by its trades), or — when no trade
  record can be had — from a POST answer's matched amounts. Taker fees follow the market's own
  schedule; makers pay nothing. Every (re)connection of the user channel triggers a full reconcile.
* A cancel counts only when the venue lists the order as cancelled.
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
from py_clob_client_v2.clob_types import OrderPayload, TradeParams
from py_clob_client_v2.config import get_contract_config
from py_clob_client_v2.exceptions import PolyApiException, PolyException
from py_clob_client_v2.http_helpers import helpers as clob_http
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.order_utils.model.order_data_v2 import OrderV2, SignedOrderV2
from py_clob_client_v2.order_utils.model.side import Side as ClobSide
from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2

from tradingfloor.brokers.user_channel import CONNECTED, TRADE_FAILED, UserChannel, fill_of, order_ids_in
from tradingfloor.bus.api_health import ApiCounter
from tradingfloor.market.book_view import BookView
from tradingfloor.observability.logging import get_logger
from tradingfloor.trading.fees import taker_fee
from tradingfloor.trading.ledger import ZERO, Ledger
from tradingfloor.trading.orders import Fill, Order, OrderResult, OrderStatus, from_json, to_json
from tradingfloor.trading.paper_broker import BrokerConfig, OrderRejected, PaperBroker

log = get_logger("tradingfloor.brokers.live")
AMOUNT_QUANTUM = Decimal("0.000001")  # pUSD and outcome shares have 6 decimals
DUST = Decimal("0.01")  # the venue truncates matched sizes to cents: this much short is filled
ORDER_VERSION = 2  # CLOB V2 exchange (EIP-712 domain version "2")
_TERMINAL = ("filled", "rejected", "cancelled")
_DUPLICATE_MARKERS = ("INVALID_ORDER_DUPLICATED", "duplicate")
_CLOSED_STATUSES = ("MATCHED", "CANCELED", "CANCELLED", "UNMATCHED", "EXPIRED")


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
    trade_ids: list[str] = dataclasses.field(default_factory=list)  # venue trades already booked
    untraded: Decimal = ZERO  # shares booked from an order's matched size, before its trades were seen

    def to_json(self) -> dict[str, Any]:
        return {
            "order": to_json(self.order),
            "order_hash": self.order_hash,
            "signed": self.signed,
            "neg_risk": self.neg_risk,
            "state": self.state,
            "matched": str(self.matched),
            "rested": self.rested,
            "trade_ids": list(self.trade_ids),
            "untraded": str(self.untraded),
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
            list(d.get("trade_ids", [])),
            Decimal(d.get("untraded", "0")),
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
        self.by_hash: dict[str, Submission] = {}
        self.user_channel: UserChannel | None = None
        self._reconcile_all = False  # the user channel (re)connected: ask the venue about everything
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
        self.by_hash[sub.order_hash] = sub
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

    def _post(self, sub: Submission, now_ms: int, *, reposting: bool = False) -> OrderResult:
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
                if reposting:  # not listed, no trades of it, yet the venue has it: closed unfilled
                    return self._finish(sub, "cancelled", reason="venue closed the order unfilled")
                sub.state = "unknown"  # the venue already has it: find out what became of it
                return OrderResult(cid, "pending", reason="venue reports a duplicate; reconciling")
            return self._finish(sub, "rejected", reason=text)
        return self._apply_post_response(sub, response, now_ms)

    def _apply_post_response(self, sub: Submission, response: dict[str, Any], now_ms: int) -> OrderResult:
        cid = sub.order.client_id
        status = str(response.get("status") or "").lower()
        if not status:  # processed asynchronously: accepted, fate unknown until reconciled
            sub.state = "unknown"
            return OrderResult(cid, "pending", reason="venue answered asynchronously; reconciling by hash")
        shares, notional = _matched_amounts(sub.order.side, response)
        trade_ids = [str(t) for t in response.get("tradeIDs") or []]
        fills: tuple[Fill, ...] = ()
        if shares > 0:
            fills = self._recover_trades(sub, now_ms, only=set(trade_ids)) if trade_ids else ()
            if not fills:  # no trade records to be had: book the answer's amounts once
                fills = self._fills_for(sub, shares, notional / shares, now_ms)
                sub.trade_ids.extend(trade_ids)
        if self._is_filled(sub):
            return self._finish(sub, "filled", fills)
        if status == "matched" and sub.order.order_type in ("FAK", "FOK"):
            return self._finish(sub, "partial", fills, reason="venue killed the unmatched rest")
        if status in ("live", "matched"):  # the rest of a GTC/GTD rests on the book
            sub.state, sub.rested = "resting", True
            return OrderResult(cid, "resting", fills)
        if status == "delayed":
            sub.state = "pending"
            return OrderResult(cid, "pending", fills, reason="venue delayed the match")
        return self._finish(sub, "partial" if fills else "cancelled", fills, reason=f"venue status {status}")

    def _is_filled(self, sub: Submission) -> bool:
        return sub.order.size - sub.matched < DUST

    def _recover_trades(
        self, sub: Submission, now_ms: int, *, only: set[str] | None = None
    ) -> tuple[Fill, ...]:
        """Book the order's venue trades not booked yet (``only``: just these ids), from
        ``/data/trades``; nothing when the venue cannot be asked now."""
        try:
            trades = self._call(
                self.client.get_trades,
                TradeParams(market=sub.order.market_id, asset_id=sub.order.token_id),
            )
        except PolyApiException:
            return ()
        fills: tuple[Fill, ...] = ()
        for trade in trades if isinstance(trades, list) else []:
            if only is not None and str(trade.get("id")) not in only:
                continue
            fills += self._book_trade(sub, trade, now_ms)
        return fills

    def _book_trade(self, sub: Submission, trade: dict[str, Any], now_ms: int) -> tuple[Fill, ...]:
        part = fill_of(trade, sub.order_hash)
        if part is None or part.trade_id in sub.trade_ids:
            return ()
        if part.status == TRADE_FAILED:  # the match did not settle: nothing changed hands
            log.warning("venue_trade_failed", order_hash=sub.order_hash, trade_id=part.trade_id)
            return ()
        sub.trade_ids.append(part.trade_id)
        if sub.state == "unknown":
            sub.state = "pending"  # the venue has it: never re-post
        absorbed = min(sub.untraded, part.size)  # already booked from the order's matched size
        sub.untraded -= absorbed
        return self._fills_for(sub, part.size - absorbed, part.price, now_ms, maker=part.liquidity == "maker")

    # --- the user channel -----------------------------------------------------------------
    def attach_user_channel(self, channel: UserChannel) -> None:
        """Take order and trade updates from ``channel`` (started by the caller); each
        (re)connection makes the next :meth:`advance` reconcile every open order by REST."""
        self.user_channel = channel

    def close(self) -> None:
        """Stop the user-channel consumer (if any); open orders stay at the venue."""
        if self.user_channel is not None:
            self.user_channel.stop()

    def _drain_user_channel(self, now_ms: int) -> list[OrderResult]:
        results: list[OrderResult] = []
        if self.user_channel is None:
            return results
        updates = self.user_channel.updates
        while not updates.empty():
            msg = updates.get_nowait()
            if msg == CONNECTED:
                self._reconcile_all = True
            elif isinstance(msg, dict):
                results.extend(self._on_user_message(msg, now_ms))
        return results

    def _on_user_message(self, msg: dict[str, Any], now_ms: int) -> list[OrderResult]:
        if msg.get("event_type") == "trade":
            return self._on_trade_message(msg, now_ms)
        return self._on_order_message(msg, now_ms)

    def _on_trade_message(self, msg: dict[str, Any], now_ms: int) -> list[OrderResult]:
        out = []
        for oid in order_ids_in(msg):
            sub = self.by_hash.get(oid)
            if sub is None or sub.state in _TERMINAL:
                continue
            fills = self._book_trade(sub, msg, now_ms)
            if fills:
                out.append(self._progress(sub, fills))
        return out

    def _on_order_message(self, msg: dict[str, Any], now_ms: int) -> list[OrderResult]:
        sub = self.by_hash.get(str(msg.get("id")))
        if sub is None or sub.state in _TERMINAL:
            return []
        status = str(msg.get("status", "")).upper()
        if status == "LIVE":
            newly_resting = sub.state != "resting"
            sub.state, sub.rested = "resting", True
            return [OrderResult(sub.order.client_id, "resting")] if newly_resting else []
        if status in _CLOSED_STATUSES:
            fills: tuple[Fill, ...] = ()
            if Decimal(str(msg.get("size_matched") or "0")) > sub.matched:
                fills = self._recover_trades(sub, now_ms)  # trades the channel has not shown yet
            if self._is_filled(sub):
                return [self._finish(sub, "filled", fills)]
            return [self._finish(sub, "partial" if fills else "cancelled", fills, f"venue status {status}")]
        return []

    def _progress(self, sub: Submission, fills: tuple[Fill, ...]) -> OrderResult:
        if self._is_filled(sub):
            return self._finish(sub, "filled", fills)
        return OrderResult(sub.order.client_id, "resting" if sub.state == "resting" else "pending", fills)

    # --- reconciliation -----------------------------------------------------------------
    def advance(self, now_ms: int, books: Mapping[str, BookView]) -> list[OrderResult]:
        results = self._drain_user_channel(now_ms)
        due = now_ms - self._last_reconcile_ms >= self.reconcile_every_ms
        if (due or self._reconcile_all) and self.open_submissions():
            results += self.reconcile(now_ms)
        self._sync_pending()
        return results

    def open_submissions(self) -> list[Submission]:
        return [s for s in self.submissions.values() if s.state not in _TERMINAL]

    def reconcile(self, now_ms: int) -> list[OrderResult]:
        """Ask the venue about every order not known to be finished; book any new fills."""
        self._last_reconcile_ms = now_ms
        self._reconcile_all = False
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
        listed = isinstance(venue, dict) and bool(venue.get("id"))
        fills: tuple[Fill, ...] = ()
        if not listed or Decimal(str(venue.get("size_matched") or "0")) > sub.matched:
            fills = self._recover_trades(sub, now_ms)
        status = str(venue.get("status", "")).upper() if listed else ""
        if status in _CLOSED_STATUSES:  # a closed order listed after all: its own figures are final
            left = Decimal(str(venue.get("size_matched") or "0")) - sub.matched
            if left > 0:  # no trade records for them: book the order's matched size at its price
                price = Decimal(str(venue.get("price", sub.order.price)))
                fills += self._fills_for(sub, left, price, now_ms)
            if self._is_filled(sub) or status == "MATCHED":
                return self._finish(sub, "filled", fills)
            return self._finish(sub, "partial" if fills else "cancelled", fills, f"venue status {status}")
        if self._is_filled(sub):
            return self._finish(sub, "filled", fills)
        if not listed:  # the venue lists open orders only: this one is closed, or never arrived
            if sub.trade_ids or sub.state == "resting":
                return self._finish(
                    sub, "partial" if fills else "cancelled", fills, "no longer open at the venue"
                )
            return self._post(sub, now_ms, reposting=True)  # the very same signed order
        if status == "LIVE":
            left = Decimal(str(venue.get("size_matched") or "0")) - sub.matched
            if left > 0:  # its trades cannot be had now: book the matched size once, absorb them later
                price = Decimal(str(venue.get("price", sub.order.price)))
                more = self._fills_for(sub, left, price, now_ms)
                sub.untraded += sum((f.size for f in more), ZERO)
                fills += more
            newly_resting = sub.state != "resting"
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
        self.by_hash[sub.order_hash] = sub
        if sub.order.side == "BUY":
            self.reserved[sub.order.client_id] = self._max_cost(sub.order)
        self._sync_pending()

    def cancel(self, client_id: str) -> bool:
        sub = self.submissions.get(client_id)
        if sub is None or sub.state in _TERMINAL:
            return False
        try:
            answer = self._call(self.client.cancel_order, OrderPayload(orderID=sub.order_hash))
        except PolyApiException:
            return False  # reconciliation will tell whether it is still open
        # only the venue's word counts: {"canceled": [ids], "not_canceled": {id: reason}}
        canceled = isinstance(answer, dict) and sub.order_hash in (answer.get("canceled") or [])
        if not canceled:
            reason = (
                (answer.get("not_canceled") or {}).get(sub.order_hash) if isinstance(answer, dict) else answer
            )
            log.info("venue_did_not_cancel", order_hash=sub.order_hash, reason=str(reason))
        return canceled

    # --- bookkeeping ----------------------------------------------------------------------
    def _fills_for(
        self, sub: Submission, shares: Decimal, price: Decimal, now_ms: int, *, maker: bool | None = None
    ) -> tuple[Fill, ...]:
        shares = shares.quantize(AMOUNT_QUANTUM, rounding=ROUND_DOWN)
        if shares <= 0:
            return ()
        price = price.quantize(AMOUNT_QUANTUM)
        o = sub.order
        info = self.markets[o.market_id]
        maker = sub.rested if maker is None else maker
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
        self.by_hash = {s.order_hash: s for s in self.submissions.values()}
        self._sync_pending()


def _matched_amounts(side: str, response: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """(shares, pUSD) matched at once, from a POST /order answer's making/taking amounts."""
    making = Decimal(str(response.get("makingAmount") or "0"))
    taking = Decimal(str(response.get("takingAmount") or "0"))
    return (taking, making) if side == "BUY" else (making, taking)
