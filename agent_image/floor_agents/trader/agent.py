"""The trader agent's runtime: market events → the trading engine (strategy → sizing → risk → broker)
→ one durable commit per step. Its periodic duties (checkpoint, heartbeat, performance report,
status refresh) run apart from it, in :mod:`.timers`.

A runtime exists only once its state is restored: :meth:`TraderRuntime.start` opens the store,
loads the newest checkpoint (or starts fresh), builds the engine and the broker, and only then
constructs the runtime around them.

Crash safety: everything a step changed (orders, fills, closed trades, positions, the markets it
traded and their resolution) is committed to the floor's shared tables in the same transaction as
the engine state after it (:mod:`.store`). On restart the agent resumes from that state: the DB
ledger and the checkpoint agree by construction, client order ids continue from the checkpointed
sequence, and the broker refuses any id it has already seen. A live order's signed form is made
durable before it is sent; submissions found in the database but not in the checkpoint are adopted
and reconciled with the venue.

Size: the Floor Boss's ``status.sizeMultiplier`` (small capital while Testing, reduced for a weak
Sharpe) is read from the agent's own status on start and every ``Timers.status_s`` (its ``agents``
row locally, its custom resource in Kubernetes; :mod:`.manifest`) and handed to the engine, which
sizes new positions against that share of the capital.

Floor-wide capital: with a ``floor`` (:class:`~tradingfloor.bus.exposure.RedisFloorCapital`) every
order first reserves its cost against the floor's cap in Redis, from a credit of one order's largest
stake the agent holds there ahead (topped up after each order, so the order path makes no round
trip); on start the agent resets its own share there to what its restored engine holds (positions
at cost with fees, plus in-flight orders' reservations: exactly what it will release later),
replacing whatever its previous life left, then takes its credit.

API health: a live broker counts its venue calls; the agent flushes the counts to the floor's
API-health buckets (:mod:`tradingfloor.bus.api_health`) with every heartbeat and on stop.

Catching up (:mod:`.cache`): on start, and whenever an event names a market the engine does not
know, the collector's Redis cache (listings, resolutions, latest books, spot) is replayed through
the same step, so a restarted trader trades the current round and settles rounds that resolved
while it was down.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import redis.asyncio as aioredis

from floor_agents.trader import signals
from floor_agents.trader.cache import CacheSnapshot, MarketCache, catch_up_events
from floor_agents.trader.manifest import StatusReader, size_multiplier
from floor_agents.trader.performance import performance
from floor_agents.trader.store import Batch, Lot, TraderStore, fill_id
from tradingfloor.brokers.factory import make_broker, user_ws_url
from tradingfloor.bus import floor_pause
from tradingfloor.bus.api_health import ApiCounter
from tradingfloor.bus.exposure import RedisFloorCapital
from tradingfloor.market.book_view import BookView
from tradingfloor.market.codec import event_market
from tradingfloor.market.events import MarketEvent, MarketInfo, MarketResolved, NewMarket
from tradingfloor.models.trader_agent import TraderAgentSpec
from tradingfloor.observability.logging import get_logger
from tradingfloor.observability.metrics import (
    AGENT_PAUSE_REQUESTED,
    DECISION_LATENCY,
    DRAWDOWN,
    EQUITY,
    ERRORS,
    EXPOSURE,
    FEED_LAG,
    FEES,
    FILLS,
    ORDERS,
    PNL,
    TRADES,
    WIN_RATE,
)
from tradingfloor.settings import Settings
from tradingfloor.status.sink import StatusSink
from tradingfloor.trading.orders import Fill, to_json
from tradingfloor.trading.pipeline import EngineConfig, EngineOutput, TradingEngine
from tradingfloor.trading.risk import RiskLimits

log = get_logger("floor_agents.trader")
STATE_VERSION = 2
BOOK_LEVELS_IN_TRADE_MESSAGE = 5  # levels beyond the fill's own price
LOOKUP_RETRY_S = 5.0  # an unknown market missing from the cache is looked up again after this
ZERO = Decimal(0)


@dataclass
class Restored:
    """Where a trader stands when it starts: its newest checkpoint, or a fresh engine (seq 0)."""

    engine: TradingEngine
    seq: int = 0
    fill_counts: dict[str, dict[str, int]] = field(default_factory=dict)  # market -> client id -> fills
    lots: dict[str, Lot] = field(default_factory=dict)  # token id -> shares bought/sold while open
    traded: set[str] = field(default_factory=set)  # markets with orders, not yet resolved
    broker_state: dict[str, Any] | None = None  # the checkpointed broker, for a live broker to restore


def restore(
    name: str,
    spec: TraderAgentSpec,
    checkpoint: tuple[int, dict[str, Any]] | None,
    floor: RedisFloorCapital | None,
) -> Restored:
    """The engine and bookkeeping from ``checkpoint`` (``TraderStore.load``), or fresh from the spec."""
    if checkpoint is None:
        config = EngineConfig(name, spec.strategy, spec.market.asset, dict(spec.params))
        return Restored(TradingEngine(config, RiskLimits.from_spec(spec.risk), floor=floor))
    seq, state = checkpoint
    if state.get("version") != STATE_VERSION:
        raise ValueError(
            f"checkpoint {seq} of {name} has version {state.get('version')!r}, not {STATE_VERSION}"
        )
    return Restored(
        TradingEngine.from_state(state["engine"], floor=floor),
        seq,
        state["fill_counts"],
        {t: Lot.from_json(v) for t, v in state["lots"].items()},
        set(state["traded"]),
        state["engine"]["broker"],
    )


class TraderRuntime:
    """One trader's trading logic around a restored engine. Build it with :meth:`start`."""

    def __init__(
        self,
        name: str,
        spec: TraderAgentSpec,
        store: TraderStore,
        restored: Restored,
        *,
        live: bool = False,
        api: ApiCounter | None = None,
        redis: aioredis.Redis | None = None,
        sink: StatusSink | None = None,
        cache: MarketCache | None = None,
        status: StatusReader | None = None,
        floor: RedisFloorCapital | None = None,
    ) -> None:
        self.name = name
        self.spec = spec
        self.store = store
        self.engine = restored.engine
        self.seq = restored.seq
        self.fill_counts = restored.fill_counts
        self.lots = restored.lots
        self.traded = restored.traded
        self.stored_positions: set[str] = set(self.engine.broker.ledger.positions)  # as of the last commit
        self.live = live
        self.api = api  # the live broker's venue-call counts
        self.redis = redis
        self.sink = sink
        self.cache = cache
        self.status = status
        self.floor = floor
        self.lock = asyncio.Lock()
        self.last_event_wall = time.time()
        self.stopping = asyncio.Event()
        self._arrived_ns = 0
        self._dirty = False
        self._lookups: dict[str, float] = {}  # market id -> monotonic time of its last cache lookup
        # the Floor Boss's multiplier as last read from the status, and the floor's open breakers
        # (tradingfloor.bus.floor_pause): while any is open new entries are sized at zero
        self.status_multiplier = restored.engine.size_multiplier
        self.floor_breakers: tuple[str, ...] = ()
        latency = DECISION_LATENCY.labels(name)

        def observe_decision_latency() -> None:
            # from the arrival of the event that caused the order to the broker call
            if self._arrived_ns:
                latency.observe((time.perf_counter_ns() - self._arrived_ns) / 1e9)

        self.engine.before_submit = observe_decision_latency

    @classmethod
    async def start(
        cls,
        name: str,
        spec: TraderAgentSpec,
        settings: Settings,
        store: TraderStore,
        *,
        redis: aioredis.Redis | None = None,
        sink: StatusSink | None = None,
        cache: MarketCache | None = None,
        status: StatusReader | None = None,
        floor: RedisFloorCapital | None = None,
    ) -> TraderRuntime:
        """Open the store, restore the newest checkpoint, put the broker in (the live one when the
        manifest asks for it, with its signed-but-unanswered orders adopted), reset this agent's
        floor-wide reservations and take up its size multiplier."""
        loop = asyncio.get_running_loop()
        await store.open()
        restored = restore(name, spec, await store.load(), floor)
        engine = restored.engine

        def journal_live_intent(sub: Any) -> None:
            # Called by the live broker from its worker thread, before the order is sent.
            future = asyncio.run_coroutine_threadsafe(store.record_intent(sub.order, sub.to_json()), loop)
            future.result(timeout=15)

        broker = make_broker(
            spec,
            settings,
            engine.broker.ledger,
            config=engine.broker.config,
            journal=journal_live_intent,
            user_ws_url=user_ws_url(settings),  # live only: fills from the venue's user channel
        )
        api = None
        if spec.mode == "live":  # make_broker gave the live broker (or refused)
            from tradingfloor.brokers.live import LiveBroker, Submission

            assert isinstance(broker, LiveBroker)
            if restored.broker_state is not None:
                broker.restore(restored.broker_state)
            engine.broker = broker
            api = broker.api
            for sub in await store.submitted_orders():
                broker.adopt(Submission.from_json(sub))
        runtime = cls(
            name,
            spec,
            store,
            restored,
            live=api is not None,
            api=api,
            redis=redis,
            sink=sink,
            cache=cache,
            status=status,
            floor=floor,
        )
        if floor is not None:
            floor.reset(sum(engine.floor_reserved.values(), Decimal(0)))
        await runtime.refresh_size()
        runtime._hold_floor_credit()
        runtime._update_gauges()
        log.info(
            "trader.started",
            agent=name,
            resumed_seq=runtime.seq,
            live=runtime.live,
            cash=str(engine.broker.ledger.cash),
            positions=len(engine.broker.ledger.positions),
            journaled=store.pending,
        )
        await runtime._publish("agent_started", {"agent": name, "pid_seq": runtime.seq, "mode": spec.mode})
        return runtime

    @property
    def mode(self) -> str:
        return "live" if self.live else "paper"

    async def catch_up(self) -> int:
        """Replay the collector's cache: settle what resolved while we were away, then take up the
        open rounds with their latest books and the latest spot price. Returns the events replayed."""
        if self.cache is None:
            return 0
        try:
            snap = await self.cache.snapshot()
        except Exception as exc:
            ERRORS.labels(self.name, "redis").inc()
            log.warning("trader.catch_up_failed", agent=self.name, error=str(exc))
            return 0
        events = catch_up_events(self.engine.markets, self.spec.market.asset, snap)
        for event in events:
            await self._step(event, time.perf_counter_ns())
        log.info(
            "trader.caught_up",
            agent=self.name,
            events=len(events),
            markets=len(snap.markets),
            resolved=len(snap.resolved),
            books=len(snap.books),
        )
        return len(events)

    # --- the step ---------------------------------------------------------------------------
    async def on_event(self, event: MarketEvent, arrived_ns: int) -> EngineOutput | None:
        """One event from the feed; a market the engine does not know is first looked up in the
        collector's cache (its listing and latest books)."""
        market_id = event_market(event)
        if self.cache is not None and market_id is not None and self._should_look_up(market_id, event):
            await self._look_up(self.cache, market_id, event)
        return await self._step(event, arrived_ns)

    def _should_look_up(self, market_id: str, event: MarketEvent) -> bool:
        if market_id in self.engine.markets or isinstance(event, MarketResolved):
            return False  # an unknown market's resolution settles nothing of ours
        if isinstance(event, NewMarket) and event.info.asset != self.spec.market.asset:
            return False
        now = time.monotonic()
        last = self._lookups.get(market_id)
        if last is not None and now - last < LOOKUP_RETRY_S:
            return False
        if len(self._lookups) > 10_000:
            self._lookups = {m: t for m, t in self._lookups.items() if now - t < LOOKUP_RETRY_S}
        self._lookups[market_id] = now
        return True

    async def _look_up(self, cache: MarketCache, market_id: str, event: MarketEvent) -> None:
        try:
            snap = await cache.market(market_id, event if isinstance(event, NewMarket) else None)
        except Exception as exc:
            ERRORS.labels(self.name, "redis").inc()
            log.warning("trader.cache_lookup_failed", agent=self.name, market=market_id, error=str(exc))
            return
        if market_id in snap.resolved:
            self._lookups[market_id] = float("inf")  # over: never look it up again
            return
        events = catch_up_events(
            self.engine.markets,
            self.spec.market.asset,
            CacheSnapshot(markets=snap.markets, books=snap.books),
        )
        for e in events:
            await self._step(e, time.perf_counter_ns())
        if events:
            log.info("trader.market_caught_up", agent=self.name, market=market_id, events=len(events))

    async def _step(self, event: MarketEvent, arrived_ns: int) -> EngineOutput | None:
        self.last_event_wall = time.time()
        FEED_LAG.labels(self.name).set(0)
        async with self.lock:
            self._arrived_ns = arrived_ns
            engine = self.engine
            resolution: tuple[MarketInfo, MarketResolved] | None = None
            if isinstance(event, MarketResolved) and event.market_id in self.traded:
                info = engine.markets.get(event.market_id)
                if info is not None:
                    resolution = (info, event)
            if self.live:
                out = await asyncio.to_thread(engine.on_event, event)
            else:
                out = engine.on_event(event)
            self._dirty = True
            if out is not None and out.skipped:
                log.info("trader.intent_skipped", agent=self.name, reasons=out.skipped[:3])
            busy = out is not None and bool(out.orders or out.results or out.closed or out.pause_requested)
            if not busy and resolution is None:
                return out
            batch, fills = self._batch(out or EngineOutput())
            if resolution is not None:
                info, resolved = resolution
                batch.resolution(info, resolved)
                self.traded.discard(resolved.market_id)
            await self._commit(batch)
            if out is not None and out.orders:
                self._hold_floor_credit()  # after the order went out: off its path
        if out is not None and busy:
            await self._after_commit(out, fills)
        return out

    def _batch(self, out: EngineOutput) -> tuple[Batch, list[tuple[str, Fill]]]:
        engine = self.engine
        batch = Batch(self.name, "live" if self.live else "paper", capital=engine.limits.capital)
        for order in out.orders:
            if order.market_id not in self.traded:
                info = engine.markets.get(order.market_id)
                if info is not None:
                    batch.market(info)
                    self.traded.add(order.market_id)
        status = {r.client_id: r for r in out.results}
        new = {o.client_id for o in out.orders}
        for order in out.orders:
            res = status.get(order.client_id)
            if res is None or res.status != "duplicate":
                batch.order(order, res.status if res else "pending", res.reason if res else "")
        fills: list[tuple[str, Fill]] = []
        for res in out.results:
            if res.client_id not in new and res.status != "duplicate":
                batch.order_status(res.client_id, res.status, res.reason)
            for fill in res.fills:
                counts = self.fill_counts.setdefault(fill.market_id, {})
                n = counts.get(fill.client_id, 0)
                counts[fill.client_id] = n + 1
                fid = fill_id(fill.client_id, n)
                batch.fill(fid, fill)
                fills.append((fid, fill))
                self.lots.setdefault(fill.token_id, Lot()).add(fill)
        for trade in out.closed:
            settled = trade.market_id not in engine.markets  # resolution removed it
            batch.trade(trade, self.lots.pop(trade.token_id, Lot()), settled)
        if fills or out.closed:
            self.stored_positions = batch.positions(engine.broker.ledger, self.stored_positions)
        if out.closed:  # resolved markets take no more fills: forget their counters
            for market_id in [m for m in self.fill_counts if m not in engine.markets]:
                del self.fill_counts[market_id]
        return batch, fills

    def _state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "engine": self.engine.export_state(),
            "fill_counts": self.fill_counts,
            "lots": {t: lot.to_json() for t, lot in self.lots.items()},
            "traded": sorted(self.traded),
        }

    async def _commit(self, batch: Batch) -> None:
        self.seq += 1
        if not await self.store.commit(self.seq, self._state(), batch):
            ERRORS.labels(self.name, "database_unavailable").inc()
        self._dirty = False

    async def _after_commit(self, out: EngineOutput, fills: list[tuple[str, Fill]]) -> None:
        """Metrics and bus messages, only for what is now durable."""
        for order in out.orders:
            res = next((r for r in out.results if r.client_id == order.client_id), None)
            ORDERS.labels(self.name, order.side, res.status if res else "pending").inc()
        books = self._books_met(fills)
        for (fid, fill), book in zip(fills, books, strict=False):
            FILLS.labels(self.name).inc()
            FEES.labels(self.name).inc(float(fill.fee))
            await self._publish(
                "trade_executed",
                {
                    "agent": self.name,
                    "fill_id": fid,
                    "trade": {"fill_id": fid, **to_json(fill)},
                    "book": book,
                },
            )
        for trade in out.closed:
            TRADES.labels(self.name, "win" if trade.net_pnl > 0 else "loss").inc()
        if out.pause_requested:
            AGENT_PAUSE_REQUESTED.labels(self.name).set(1)
            log.warning("trader.pause_requested", agent=self.name, reason=out.pause_requested)
            await self._publish("pause_requested", {"agent": self.name, "reason": out.pause_requested})
            await self.report()
        self._update_gauges()

    def _books_met(self, fills: list[tuple[str, Fill]]) -> list[dict[str, Any] | None]:
        """The book each fill of this step met: the engine's book less the liquidity the broker had
        already taken, including earlier fills of the same step (walked level by level)."""
        return [
            book_met(
                self.engine.books.get(f.token_id),
                self.engine.broker.consumed,
                [g for _, g in fills[i:] if g.token_id == f.token_id and g.liquidity == "taker"],
                f,
            )
            for i, (_, f) in enumerate(fills)
        ]

    # --- what the timers call (floor_agents.trader.timers) --------------------------------------
    async def checkpoint(self) -> None:
        """Commit the engine state when something changed since the last commit."""
        async with self.lock:
            if self._dirty:
                await self._commit(Batch(self.name, "live" if self.live else "paper"))

    async def refresh_size(self) -> None:
        """Take up the Floor Boss's ``status.sizeMultiplier``; when the status cannot be read the
        multiplier in force (restored from the checkpoint) stays."""
        if self.status is None:
            return
        try:
            self.status_multiplier = size_multiplier(await self.status())
        except Exception as exc:
            ERRORS.labels(self.name, "status_read").inc()
            log.warning("trader.status_read_failed", agent=self.name, error=f"{type(exc).__name__}: {exc}")
            return
        await self._apply_size()

    async def refresh_floor_breakers(self) -> None:
        """Take up the floor's open circuit breakers from Redis (the local floor publishes them
        there: with PostgreSQL away, the agent's status cannot say so). While one is open, new
        entries are sized at zero; positions, journal and process carry on."""
        if self.redis is None:
            return
        try:
            breakers = await floor_pause.open_breakers(self.redis)
        except Exception as exc:  # Redis away: keep what was last known
            ERRORS.labels(self.name, "redis").inc()
            log.warning("trader.breakers_unreadable", agent=self.name, error=f"{type(exc).__name__}: {exc}")
            return
        if breakers == self.floor_breakers:
            return
        self.floor_breakers = breakers
        log.warning(
            "trader.entries_paused" if breakers else "trader.entries_resumed",
            agent=self.name,
            breakers=list(breakers),
            market_ms=self.engine.now_ms,  # the market's time, to compare with orders' timestamps
        )
        await self._apply_size()

    async def _apply_size(self) -> None:
        engine = self.engine
        multiplier = Decimal(0) if self.floor_breakers else self.status_multiplier
        if multiplier == engine.size_multiplier:
            return
        async with self.lock:
            previous = engine.size_multiplier
            engine.set_size_multiplier(multiplier)
            self._dirty = True
            self._hold_floor_credit()
        log.info("trader.size_multiplier", agent=self.name, previous=str(previous), now=str(multiplier))

    def _hold_floor_credit(self) -> None:
        """Reserve the next order's largest stake in the floor ledger ahead, so that the order
        itself needs no Redis round trip (:class:`RedisFloorCapital`'s credit). Callers hold the
        lock or run before any step: a live engine reserves from its worker thread."""
        if self.floor is None:
            return
        engine = self.engine
        capital = engine.limits.capital * engine.size_multiplier
        self.floor.set_credit_target(engine.risk.max_stake(Decimal(0), capital))
        self.floor.top_up()

    def performance(self) -> dict[str, Any]:
        engine = self.engine
        led = engine.broker.ledger
        return performance(
            led.closed,
            led.starting_capital,
            engine.equity(),
            led.open_exposure(),
            engine.risk.day_start_equity,
            engine.risk.consecutive_losses,
        )

    async def report(self) -> None:
        """Write the performance block into the agent's status."""
        if self.sink is None:
            return
        try:
            await self.sink.patch_status("TraderAgent", self.name, {"performance": self.performance()})
        except Exception as exc:
            ERRORS.labels(self.name, "status").inc()
            log.warning("trader.report_failed", agent=self.name, error=str(exc))

    def _update_gauges(self) -> None:
        engine = self.engine
        led = engine.broker.ledger
        equity = engine.equity()
        EQUITY.labels(self.name).set(float(equity))
        EXPOSURE.labels(self.name).set(float(led.open_exposure()))
        PNL.labels(self.name, "net").set(float(equity - led.starting_capital))
        PNL.labels(self.name, "realized").set(float(led.realized - led.costs))
        wins = sum(1 for t in led.closed if t.net_pnl > 0)
        WIN_RATE.labels(self.name).set(wins / len(led.closed) if led.closed else 0.0)
        peak = max(engine.risk.peak_equity, equity)
        DRAWDOWN.labels(self.name).set(float((peak - equity) / peak) if peak > 0 else 0.0)
        AGENT_PAUSE_REQUESTED.labels(self.name).set(1 if engine.pause_reason else 0)

    async def _publish(self, kind: str, payload: dict[str, Any]) -> None:
        if self.redis is None:
            return
        try:
            await signals.publish(self.redis, self.name, kind, payload)
        except Exception as exc:
            ERRORS.labels(self.name, "redis").inc()
            log.warning("trader.publish_failed", agent=self.name, kind=kind, error=str(exc))

    async def stop(self) -> None:
        """Last checkpoint and report, then close the store and the floor-wide reservations."""
        self.stopping.set()
        await self.checkpoint()
        await self.report()
        await self._publish("agent_stopped", {"agent": self.name, "seq": self.seq})
        if self.api is not None and self.redis is not None:
            await self.api.flush(self.redis)
        await self.store.close()
        if self.floor is not None:
            self.floor.close()


def book_met(
    book: BookView | None,
    consumed: dict[tuple[str, str, Decimal], Decimal],
    later_fills: list[Fill],
    fill: Fill,
) -> dict[str, Any] | None:
    """``{ts_ms, bids, asks}`` as ``fill`` met them. ``consumed`` is the broker's taken liquidity
    after the step, keyed (token, book side, price); ``later_fills`` are ``fill`` and the taker fills
    after it in the same step on the same token, whose size is given back to their levels. Levels
    run through the fill's own price and ``BOOK_LEVELS_IN_TRADE_MESSAGE`` beyond."""
    if book is None:
        return None
    n = BOOK_LEVELS_IN_TRADE_MESSAGE

    def side(levels: list[tuple[Decimal, Decimal]], book_side: str, taken_by: str) -> list[list[str]]:
        given_back: dict[Decimal, Decimal] = {}
        for g in later_fills:
            if g.side == taken_by:
                given_back[g.price] = given_back.get(g.price, ZERO) + g.size
        out: list[list[str]] = []
        beyond = 0
        for price, size in levels:
            left = size - consumed.get((fill.token_id, book_side, price), ZERO) + given_back.get(price, ZERO)
            if left <= 0:
                continue
            out.append([str(price), str(left)])
            through = fill.side == taken_by and (
                price > fill.price if taken_by == "BUY" else price < fill.price
            )
            if through or fill.side != taken_by:
                beyond += 1
                if beyond >= n:
                    break
        return out

    return {
        "ts_ms": book.ts_ms,
        "bids": side(book.bids(), "BUY", "SELL"),
        "asks": side(book.asks(), "SELL", "BUY"),
    }
