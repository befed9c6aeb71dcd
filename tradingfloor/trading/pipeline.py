"""The trading pipeline — strategy → sizing → risk → broker — as one pure, synchronous object.

``TradingEngine.on_event(event)`` takes one market event and returns what happened (orders sent,
broker results, closed trades, pause requests), or None when nothing did. The backtester and the
live trader agent both drive it; ``export_state()`` / ``TradingEngine.from_state()`` round-trip
its full state through JSON (Decimals as strings) for checkpoints.

Client order ids are ``client_order_id(agent, market, n)`` with n the agent's n-th order in that
market, so a decision replayed after a crash (from the last checkpoint) carries the same id and the
broker refuses to fill it twice.

``size_multiplier`` (default 1) is the Floor Boss's ``status.sizeMultiplier``: new positions are
sized as if the agent's capital were ``capital × size_multiplier`` (Kelly stake, per-trade risk
and exposure cap alike), which is how "small capital while Testing" and "reduce size" take effect.
The capital itself, the ledger and the loss limits are unchanged. It is part of the exported state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from tradingfloor.market.book import OrderBook
from tradingfloor.market.events import (
    Asset,
    BookSnapshot,
    LastTrade,
    MarketEvent,
    MarketInfo,
    MarketResolved,
    NewMarket,
    PriceChange,
    SpotTick,
    TickSizeChange,
)
from tradingfloor.strategies.intent import Intent
from tradingfloor.strategies.params import StrategyParams
from tradingfloor.strategies.registry import create_strategy
from tradingfloor.trading.ledger import ClosedTrade, Ledger
from tradingfloor.trading.orders import Order, OrderResult, OrderType, client_order_id
from tradingfloor.trading.paper_broker import BrokerConfig, PaperBroker
from tradingfloor.trading.risk import FloorCapital, InMemoryFloorCapital, RiskLimits, RiskManager
from tradingfloor.trading.serde import market_info_from_json, market_info_to_json
from tradingfloor.trading.sizing import MICRO_USD, size_buy

ZERO = Decimal(0)
STATE_VERSION = 1
NEVER = 2**62  # an event time no stream reaches
_NO_TOKENS: frozenset[str] = frozenset()


@dataclass
class EngineOutput:
    orders: list[Order] = field(default_factory=list)
    results: list[OrderResult] = field(default_factory=list)
    closed: list[ClosedTrade] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # intents that produced no order, with why
    pause_requested: str | None = None


@dataclass(frozen=True)
class EngineConfig:
    agent: str
    strategy: str
    asset: Asset
    params: dict[str, Any] = field(default_factory=dict)
    order_type: OrderType = "FAK"
    slippage_ticks: int = 2  # limit = best ask + this many ticks (never above maxEntryPrice)

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "strategy": self.strategy,
            "asset": self.asset,
            "params": dict(self.params),
            "order_type": self.order_type,
            "slippage_ticks": self.slippage_ticks,
        }


class TradingEngine:
    def __init__(
        self,
        config: EngineConfig,
        limits: RiskLimits,
        broker_config: BrokerConfig | None = None,
        floor: FloorCapital | None = None,
        book_factory: Callable[[str, str, Decimal], OrderBook] | None = None,
    ) -> None:
        self.config = config
        self.params: StrategyParams = create_strategy(config.strategy, config.params, config.asset).params
        self.strategy = create_strategy(config.strategy, self.params, config.asset)
        self.limits = limits
        self.risk = RiskManager(limits)
        self.broker = PaperBroker(Ledger(limits.capital), broker_config)
        self.floor = floor or InMemoryFloorCapital(limits.capital)
        self._book_factory = book_factory or (lambda token, market, tick: OrderBook(token, market, tick))
        self.books: dict[str, OrderBook] = {}
        self.markets: dict[str, MarketInfo] = {}
        self.token_market: dict[str, str] = {}
        self.current: MarketInfo | None = None
        self.data_ms: dict[str, int] = {}  # last market-data time per market
        self.spot_ms = 0
        self.now_ms = 0
        self.order_seq: dict[str, int] = {}
        self.floor_reserved: dict[str, Decimal] = {}  # by market id
        self.order_reserve: dict[str, tuple[str, Decimal]] = {}  # client id -> (market, reserved amount)
        self.size_multiplier = Decimal(1)
        self._strategy_books = self.strategy.wants_books
        self._gated_books = self._strategy_books and self.strategy.gated_books
        self._book_tokens: frozenset[str] = _NO_TOKENS  # see _refresh_book_gate
        self._gate_ms = 0  # event time at which to refresh the book gate (0: at the next book event)
        self.before_submit: Callable[[], None] | None = None  # e.g. the trader's decision-latency clock

    def set_size_multiplier(self, multiplier: Decimal) -> None:
        """Size new positions against ``multiplier`` × capital (0 ≤ multiplier ≤ 1); open positions stay."""
        if not isinstance(multiplier, Decimal) or not multiplier.is_finite() or not 0 <= multiplier <= 1:
            raise ValueError(f"size multiplier must be a Decimal between 0 and 1, got {multiplier!r}")
        self.size_multiplier = multiplier

    # --- MarketView for strategies -----------------------------------------------------
    def current_market(self, asset: Asset) -> MarketInfo | None:
        cur = self.current
        if cur is not None and cur.start_ms <= self.now_ms < cur.end_ms:
            return cur
        self.current = next((m for m in self.markets.values() if m.start_ms <= self.now_ms < m.end_ms), None)
        return self.current

    def book(self, token_id: str) -> OrderBook | None:
        return self.books.get(token_id)

    # --- events ------------------------------------------------------------------------
    def _on_book(self, token_id: str, out: EngineOutput | None) -> EngineOutput | None:
        """Give a book-driven strategy its look at an updated book."""
        intent = self.strategy.on_book(token_id, self)
        if intent is None:
            return out
        self._gate_ms = 0  # the strategy entered a round: its entry window moved
        return self._act(intent, out)

    def _refresh_book_gate(self) -> None:
        """For a ``gated_books`` strategy: the tokens whose book updates it reads now (none outside
        the entry window) and the event time until which that holds. The window is
        ``Strategy.entry_market``'s, evaluated here once instead of on every book event; it moves
        only with time (bounded by ``_gate_ms``), the markets (added, resolved) or an entry, and
        each of those sets ``_gate_ms`` to 0."""
        now = self.now_ms
        info = self.current_market(self.config.asset)
        if info is None:  # nothing open until the next round starts (or a market is added)
            self._book_tokens = _NO_TOKENS
            self._gate_ms = min(
                (m.start_ms for m in self.markets.values() if m.start_ms > now), default=NEVER
            )
            return
        strategy = self.strategy
        until = info.end_ms  # when current_market may change
        tokens = _NO_TOKENS
        if info.market_id != strategy.last_entered:
            opens, closes = strategy.entry_window(info)
            if now < opens:
                until = min(until, opens)
            elif now < closes:
                tokens, until = strategy.entry_books(info), min(until, closes)
        self._book_tokens = tokens
        self._gate_ms = until

    def on_event(self, event: MarketEvent) -> EngineOutput | None:
        ts = event.ts_ms
        if ts > self.now_ms:
            self.now_ms = ts
        out = None
        broker = self.broker
        if broker.pending and broker.pending[0][0] < ts:
            out = EngineOutput()
            self._settle_results(broker.advance(ts, self.books), out)
        # exact-type dispatch, the most frequent event first: events are final msgspec Structs, and
        # ``type(x) is C`` narrows for the checker as ``isinstance`` does at a third of its cost
        if type(event) is PriceChange:
            token = event.token_id
            book = self.books.get(token)
            if book is None:
                return out
            book.apply_change(event)
            self.data_ms[event.market_id] = ts
            if broker.consumed:
                broker.on_level_update(token, event.side, event.price)
            if self._gated_books:
                if self.now_ms >= self._gate_ms:
                    self._refresh_book_gate()
                if token in self._book_tokens:
                    out = self._on_book(token, out)
            elif self._strategy_books and (intent := self.strategy.on_book(token, self)) is not None:
                out = self._act(intent, out)
        elif type(event) is BookSnapshot:
            book = self.books.get(event.token_id)
            if book is None:
                return out
            book.apply_snapshot(event)
            self.data_ms[event.market_id] = ts
            broker.on_book_snapshot(event.token_id)
            if self._gated_books:
                if self.now_ms >= self._gate_ms:
                    self._refresh_book_gate()
                if event.token_id in self._book_tokens:
                    out = self._on_book(event.token_id, out)
            elif self._strategy_books:
                out = self._on_book(event.token_id, out)
        elif type(event) is SpotTick:
            if event.asset != self.config.asset:
                return out
            self.spot_ms = ts
            intent = self.strategy.on_spot(event, self)
            self._gate_ms = 0  # on_spot may have entered a round or moved current_market
            if intent is not None:
                out = self._act(intent, out)
        elif type(event) is LastTrade:
            if event.token_id in self.books:
                self.data_ms[event.market_id] = ts
                fills = broker.on_trade(event)
                if fills:
                    out = out or EngineOutput()
                    out.results.append(
                        OrderResult(fills[0].client_id, "partial", tuple(fills), "resting order filled")
                    )
        elif type(event) is NewMarket:
            if event.info.asset == self.config.asset:
                self._add_market(event.info)
        elif type(event) is MarketResolved:
            if event.market_id in self.markets:
                out = self._resolve(event, out or EngineOutput())
        elif type(event) is TickSizeChange:
            book = self.books.get(event.token_id)
            if book is not None:
                book.tick_size = event.new_tick_size
                broker.set_tick_size(event.market_id, event.new_tick_size)
        return out

    def finish(self) -> EngineOutput:
        """Match orders still in flight (end of a replay)."""
        out = EngineOutput()
        self._settle_results(self.broker.advance(NEVER, self.books), out)
        return out

    def _add_market(self, info: MarketInfo) -> None:
        self.markets[info.market_id] = info
        self.broker.register_market(info)
        for token in (info.up_token_id, info.down_token_id):
            self.token_market[token] = info.market_id
            if token not in self.books:
                self.books[token] = self._book_factory(token, info.market_id, info.tick_size)
        self.data_ms.setdefault(info.market_id, 0)
        self._gate_ms = 0

    def _resolve(self, event: MarketResolved, out: EngineOutput) -> EngineOutput:
        for cid in [o.client_id for o in self.broker.open_orders() if o.market_id == event.market_id]:
            self.broker.cancel(cid)
            self._release_order(cid, ZERO)
        closed = self.broker.resolve(event)
        equity = self.realized_equity()
        for trade in closed:
            reason = self.risk.record(trade, equity)
            if reason:
                out.pause_requested = reason
        out.closed.extend(closed)
        self.floor.release(self.floor_reserved.pop(event.market_id, ZERO))
        info = self.markets.pop(event.market_id)
        for token in (info.up_token_id, info.down_token_id):
            self.books.pop(token, None)
            self.token_market.pop(token, None)
        self.data_ms.pop(event.market_id, None)
        self.order_seq.pop(event.market_id, None)
        self.broker.forget_market(event.market_id)
        if self.current is not None and self.current.market_id == event.market_id:
            self.current = None
        self._gate_ms = 0
        return out

    # --- intent → order ----------------------------------------------------------------
    def _act(self, intent: Intent, out: EngineOutput | None) -> EngineOutput:
        out = out or EngineOutput()
        reason = self._place(intent, out)
        if reason:
            out.skipped.append(f"{intent.reason}: {reason}")
        return out

    def _place(self, intent: Intent, out: EngineOutput) -> str | None:
        info = self.markets.get(intent.market_id)
        if info is None:
            return "unknown market"
        token = info.token_of(intent.outcome)
        book = self.books.get(token)
        ask = book.best_ask() if book is not None else None
        if book is None or ask is None:
            return "no ask"
        data_ms = min(self.data_ms.get(info.market_id, 0), self.spot_ms)
        reason = self.risk.check(
            self.now_ms, info.end_ms, data_ms, self._open_trades(), self.realized_equity()
        )
        if reason:
            return reason
        tick = book.tick_size or info.tick_size
        limit = min(intent.max_price, ask + tick * self.config.slippage_ticks)
        limit = (limit / tick).to_integral_value(rounding=ROUND_DOWN) * tick
        if limit < ask:
            return f"ask {ask} above max price {intent.max_price}"
        capital = self.limits.capital * self.size_multiplier
        max_stake = min(self.risk.max_stake(self._exposure(), capital), self.broker.free_cash())
        size = size_buy(
            intent.p_win,
            ask,
            info,
            capital,
            self.limits.kelly_fraction,
            max_stake,
            self.broker.config.size_step,
            worst_price=limit,
        )
        if size.shares == 0:
            return size.reason
        reserve = size.stake  # the most this order can cost, in whole micro-dollars
        if not self.floor.reserve(reserve):
            return "floor-wide deployed capital cap reached"
        seq = self.order_seq.get(info.market_id, 0)
        self.order_seq[info.market_id] = seq + 1
        order = Order(
            client_order_id(self.config.agent, info.market_id, seq),
            self.config.agent,
            info.market_id,
            token,
            "BUY",
            limit,
            size.shares,
            self.config.order_type,
            self.now_ms,
        )
        self.floor_reserved[info.market_id] = self.floor_reserved.get(info.market_id, ZERO) + reserve
        self.order_reserve[order.client_id] = (info.market_id, reserve)
        out.orders.append(order)
        if self.before_submit is not None:
            self.before_submit()
        self._settle_results([self.broker.submit(order, self.books, self.now_ms)], out)
        return None

    def _settle_results(self, results: list[OrderResult], out: EngineOutput) -> None:
        for res in results:
            out.results.append(res)
            if res.status not in ("pending", "resting"):
                spent = sum((f.size * f.price + f.fee for f in res.fills), ZERO)
                self._release_order(res.client_id, spent)

    def _release_order(self, client_id: str, kept: Decimal) -> None:
        """Give back the floor capital an order reserved beyond what it actually deployed."""
        entry = self.order_reserve.pop(client_id, None)
        if entry is None:
            return
        market, reserved = entry
        # whole micro-dollars, rounded down: the shared ledger books exactly what this engine books
        unused = max(ZERO, reserved - kept).quantize(MICRO_USD, rounding=ROUND_DOWN)
        self.floor.release(unused)
        if market in self.floor_reserved:
            self.floor_reserved[market] -= unused

    # --- accounting --------------------------------------------------------------------
    def _exposure(self) -> Decimal:
        return self.broker.ledger.open_exposure() + sum(self.broker.reserved.values(), ZERO)

    def _open_trades(self) -> int:
        markets = {p.market_id for p in self.broker.ledger.positions.values()}
        markets.update(o.market_id for o in self.broker.open_orders())
        return len(markets)

    def realized_equity(self) -> Decimal:
        """Cash plus open positions at cost: equity without marks."""
        led = self.broker.ledger
        return led.cash + led.open_exposure()

    def marks(self) -> dict[str, Decimal]:
        """Mid price of each open position's book (cost price when the book has no mid)."""
        marks = {}
        for token, pos in self.broker.ledger.positions.items():
            book = self.books.get(token)
            mid = book.mid() if book is not None else None
            marks[token] = mid if mid is not None else pos.cost_basis / pos.shares
        return marks

    def equity(self) -> Decimal:
        return self.broker.ledger.equity(self.marks())

    @property
    def pause_reason(self) -> str | None:
        return self.risk.pause_reason

    # --- checkpoint --------------------------------------------------------------------
    def export_state(self) -> dict[str, Any]:
        """Everything needed to resume: JSON-able, Decimals as strings. Books are not included —
        the venue resends a snapshot on (re)subscription."""
        return {
            "version": STATE_VERSION,
            "config": self.config.to_json(),
            "limits": self.limits.to_json(),
            "broker": self.broker.to_json(),
            "risk": self.risk.to_json(),
            "strategy": self.strategy.state(),
            "markets": [market_info_to_json(m) for m in self.markets.values()],
            "data_ms": dict(self.data_ms),
            "spot_ms": self.spot_ms,
            "now_ms": self.now_ms,
            "order_seq": dict(self.order_seq),
            "floor_reserved": {k: str(v) for k, v in self.floor_reserved.items()},
            "order_reserve": {k: [m, str(v)] for k, (m, v) in self.order_reserve.items()},
            "size_multiplier": str(self.size_multiplier),
        }

    @classmethod
    def from_state(
        cls,
        state: dict[str, Any],
        floor: FloorCapital | None = None,
        book_factory: Callable[[str, str, Decimal], Any] | None = None,
    ) -> TradingEngine:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"engine state version {state.get('version')!r} is not {STATE_VERSION}")
        c = state["config"]
        config = EngineConfig(
            c["agent"], c["strategy"], c["asset"], c["params"], c["order_type"], c["slippage_ticks"]
        )
        engine = cls(config, RiskLimits.from_json(state["limits"]), floor=floor, book_factory=book_factory)
        engine.broker = PaperBroker.from_json(state["broker"])
        engine.risk.load_json(state["risk"])
        engine.strategy.load_state(state["strategy"])
        engine._gate_ms = 0
        for m in state["markets"]:
            engine._add_market(market_info_from_json(m))
        engine.data_ms = {k: int(v) for k, v in state["data_ms"].items()}
        engine.spot_ms = int(state["spot_ms"])
        engine.now_ms = int(state["now_ms"])
        engine.order_seq = {k: int(v) for k, v in state["order_seq"].items()}
        engine.floor_reserved = {k: Decimal(v) for k, v in state["floor_reserved"].items()}
        engine.order_reserve = {k: (m, Decimal(v)) for k, (m, v) in state["order_reserve"].items()}
        engine.set_size_multiplier(Decimal(state.get("size_multiplier", "1")))  # absent in older checkpoints
        return engine
