"""The trader agent's runtime: market events → the trading engine (strategy → sizing → risk → broker)
→ one durable commit per step, plus its timers (checkpoint, heartbeat, performance report).

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
order first reserves its cost against the floor's cap in Redis; on start the agent resets its own
share there to what its restored engine holds (positions at cost with fees, plus in-flight orders'
reservations: exactly what it will release later), replacing whatever its previous life left.

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
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from floor_agents.trader import signals
from floor_agents.trader.cache import CacheSnapshot, MarketCache, catch_up_events
from floor_agents.trader.manifest import StatusReader, size_multiplier
from floor_agents.trader.performance import performance
from floor_agents.trader.store import Batch, Lot, TraderStore, fill_id
from tradingfloor.brokers.factory import make_broker
from tradingfloor.bus.api_health import ApiCounter
from tradingfloor.bus.exposure import RedisFloorCapital
from tradingfloor.bus.heartbeats import Heartbeat
from tradingfloor.market.codec import event_market
from tradingfloor.market.events import MarketEvent, MarketResolved, NewMarket
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
    HEARTBEAT,
    ORDERS,
    PNL,
    TRADES,
    WIN_RATE,
)
from tradingfloor.settings import Settings
from tradingfloor.status.sink import StatusSink
from tradingfloor.trading.engine import EngineConfig, EngineOutput, TradingEngine
from tradingfloor.trading.orders import Fill, to_json
from tradingfloor.trading.risk import RiskLimits

if TYPE_CHECKING:
    from tradingfloor.brokers.live import Submission

log = get_logger("floor_agents.trader")
STATE_VERSION = 2
BOOK_LEVELS_IN_TRADE_MESSAGE = 5  # levels beyond the fill's own price
LOOKUP_RETRY_S = 5.0  # an unknown market missing from the cache is looked up again after this


@dataclass(frozen=True)
class Timers:
    checkpoint_s: float = 30.0
    heartbeat_s: float = 30.0
    report_s: float = 60.0
    status_s: float = 30.0  # how often the agent re-reads its status for the Floor Boss's size multiplier


class TraderRuntime:
    def __init__(
        self,
        name: str,
        spec: TraderAgentSpec,
        settings: Settings,
        store: TraderStore,
        redis: aioredis.Redis | None,
        sink: StatusSink | None,
        timers: Timers,
        cache: MarketCache | None = None,
        status: StatusReader | None = None,
        floor: RedisFloorCapital | None = None,
    ) -> None:
        self.name = name
        self.spec = spec
        self.settings = settings
        self.store = store
        self.redis = redis
        self.sink = sink
        self.timers = timers
        self.cache = cache
        self.status = status
        self.floor = floor
        self.api: ApiCounter | None = None  # the live broker's venue-call counts
        # ``tf:heartbeat:<agent>``, expiring after three missed beats
        self.beats = (
            Heartbeat(redis, name, ttl=3 * timers.heartbeat_s, interval=timers.heartbeat_s)
            if redis is not None
            else None
        )
        self.lock = asyncio.Lock()
        self.seq = 0
        self.fill_counts: dict[str, dict[str, int]] = {}  # market id -> client id -> fills booked
        self.lots: dict[str, Lot] = {}  # token id -> shares bought/sold while its position is open
        self.traded: set[str] = set()  # markets with orders, not yet resolved (their row is in `markets`)
        self.stored_positions: set[str] = set()  # tokens in the `positions` table as of the last commit
        self.live = False
        self.engine: TradingEngine | None = None
        self._arrived_ns = 0
        self._last_event_wall = time.time()
        self._dirty = False
        self._lookups: dict[str, float] = {}  # market id -> monotonic time of its last cache lookup
        self.stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def mode(self) -> str:
        return "live" if self.live else "paper"

    # --- start / restore ------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.store.open()
        restored = await self.store.load()
        if restored is None:
            engine = TradingEngine(
                EngineConfig(self.name, self.spec.strategy, self.spec.market.asset, dict(self.spec.params)),
                RiskLimits.from_spec(self.spec.risk),
                floor=self.floor,
            )
        else:
            self.seq, state = restored
            if state.get("version") != STATE_VERSION:
                raise ValueError(
                    f"checkpoint {self.seq} of {self.name} has version {state.get('version')!r},"
                    f" not {STATE_VERSION}"
                )
            engine = TradingEngine.from_state(state["engine"], floor=self.floor)
            self.fill_counts = state["fill_counts"]
            self.lots = {t: Lot.from_json(v) for t, v in state["lots"].items()}
            self.traded = set(state["traded"])
        self.stored_positions = set(engine.broker.ledger.positions)
        broker = make_broker(
            self.spec,
            self.settings,
            engine.broker.ledger,
            config=engine.broker.config,
            journal=self._journal_live_intent,
        )
        if self.spec.mode == "live":  # make_broker gave the live broker (or refused)
            from tradingfloor.brokers.live import Submission

            self.live = True
            if restored is not None:
                broker.restore(restored[1]["engine"]["broker"])
            engine.broker = broker
            self.api = broker.api
            for sub in await self.store.submitted_orders():
                broker.adopt(Submission.from_json(sub))
        self.engine = engine
        if self.floor is not None:
            self.floor.reset(sum(engine.floor_reserved.values(), Decimal(0)))
        await self.refresh_size()
        self._instrument(engine)
        self._update_gauges()
        log.info(
            "trader.started",
            agent=self.name,
            resumed_seq=self.seq,
            live=self.live,
            cash=str(engine.broker.ledger.cash),
            positions=len(engine.broker.ledger.positions),
            journaled=self.store.pending,
        )
        await self._publish(
            "agent_started", {"agent": self.name, "pid_seq": self.seq, "mode": self.spec.mode}
        )

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
        events = catch_up_events(self.engine.markets, self.spec.market.asset, snap)  # type: ignore[union-attr]
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

    def _instrument(self, engine: TradingEngine) -> None:
        """Time every broker call from the arrival of the event that caused it (DECISION_LATENCY)."""
        submit = engine.broker.submit
        histogram = DECISION_LATENCY.labels(self.name)

        def timed_submit(order, books, now_ms):
            if self._arrived_ns:
                histogram.observe((time.perf_counter_ns() - self._arrived_ns) / 1e9)
            return submit(order, books, now_ms)

        engine.broker.submit = timed_submit  # type: ignore[method-assign]

    def _journal_live_intent(self, sub: Submission) -> None:
        # Called by the live broker from the worker thread, before the order is sent.
        future = asyncio.run_coroutine_threadsafe(
            self.store.record_intent(sub.order, sub.to_json()), self._loop
        )
        future.result(timeout=15)

    # --- the step ---------------------------------------------------------------------------
    async def on_event(self, event: MarketEvent, arrived_ns: int) -> EngineOutput | None:
        """One event from the feed; a market the engine does not know is first looked up in the
        collector's cache (its listing and latest books)."""
        market_id = event_market(event)
        if self.cache is not None and market_id is not None and self._should_look_up(market_id, event):
            await self._look_up(market_id, event)
        return await self._step(event, arrived_ns)

    def _should_look_up(self, market_id: str, event: MarketEvent) -> bool:
        if market_id in self.engine.markets or isinstance(event, MarketResolved):  # type: ignore[union-attr]
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

    async def _look_up(self, market_id: str, event: MarketEvent) -> None:
        try:
            snap = await self.cache.market(market_id, event if isinstance(event, NewMarket) else None)  # type: ignore[union-attr]
        except Exception as exc:
            ERRORS.labels(self.name, "redis").inc()
            log.warning("trader.cache_lookup_failed", agent=self.name, market=market_id, error=str(exc))
            return
        if market_id in snap.resolved:
            self._lookups[market_id] = float("inf")  # over: never look it up again
            return
        events = catch_up_events(
            self.engine.markets,
            self.spec.market.asset,  # type: ignore[union-attr]
            CacheSnapshot(markets=snap.markets, books=snap.books),
        )
        for e in events:
            await self._step(e, time.perf_counter_ns())
        if events:
            log.info("trader.market_caught_up", agent=self.name, market=market_id, events=len(events))

    async def _step(self, event: MarketEvent, arrived_ns: int) -> EngineOutput | None:
        self._last_event_wall = time.time()
        FEED_LAG.labels(self.name).set(0)
        async with self.lock:
            self._arrived_ns = arrived_ns
            engine = self.engine
            resolving = None
            if isinstance(event, MarketResolved) and event.market_id in self.traded:
                resolving = engine.markets.get(event.market_id)  # type: ignore[union-attr]
            if self.live:
                out = await asyncio.to_thread(engine.on_event, event)
            else:
                out = engine.on_event(event)  # type: ignore[union-attr]
            self._dirty = True
            if out is not None and out.skipped:
                log.info("trader.intent_skipped", agent=self.name, reasons=out.skipped[:3])
            busy = out is not None and bool(out.orders or out.results or out.closed or out.pause_requested)
            if not busy and resolving is None:
                return out
            batch, fills = self._batch(out or EngineOutput())
            if resolving is not None:
                batch.resolution(resolving, event)  # type: ignore[arg-type]
                self.traded.discard(event.market_id)  # type: ignore[union-attr]
            await self._commit(batch)
        if busy:
            await self._after_commit(out, fills)  # type: ignore[arg-type]
        return out

    def _batch(self, out: EngineOutput) -> tuple[Batch, list[tuple[str, Fill]]]:
        engine = self.engine
        batch = Batch(self.name, "live" if self.live else "paper", capital=self.engine.limits.capital)  # type: ignore[union-attr]
        for order in out.orders:
            if order.market_id not in self.traded:
                info = engine.markets.get(order.market_id)  # type: ignore[union-attr]
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
            settled = trade.market_id not in engine.markets  # type: ignore[union-attr]  # resolution removed it
            batch.trade(trade, self.lots.pop(trade.token_id, Lot()), settled)
        if fills or out.closed:
            self.stored_positions = batch.positions(engine.broker.ledger, self.stored_positions)  # type: ignore[union-attr]
        if out.closed:  # resolved markets take no more fills: forget their counters
            for market_id in [m for m in self.fill_counts if m not in engine.markets]:  # type: ignore[union-attr]
                del self.fill_counts[market_id]
        return batch, fills

    def _state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "engine": self.engine.export_state(),  # type: ignore[union-attr]
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
                self.engine.books.get(f.token_id),  # type: ignore[union-attr]
                getattr(self.engine.broker, "consumed", {}),  # type: ignore[union-attr]
                [g for _, g in fills[i:] if g.token_id == f.token_id and g.liquidity == "taker"],
                f,
            )
            for i, (_, f) in enumerate(fills)
        ]

    # --- timers -------------------------------------------------------------------------------
    async def checkpoint(self) -> None:
        async with self.lock:
            if self._dirty:
                await self._commit(Batch(self.name, "live" if self.live else "paper"))

    async def heartbeat(self) -> None:
        HEARTBEAT.labels(self.name).set(time.time())
        FEED_LAG.labels(self.name).set(time.time() - self._last_event_wall)
        if self.beats is not None:
            try:
                await self.beats.beat()
            except Exception as exc:
                ERRORS.labels(self.name, "redis").inc()
                log.warning("trader.heartbeat_failed", agent=self.name, error=str(exc))
            if self.api is not None:
                await self.api.flush(self.redis)  # type: ignore[arg-type]

    async def refresh_size(self) -> None:
        """Take up the Floor Boss's ``status.sizeMultiplier``; when the status cannot be read the
        multiplier in force (restored from the checkpoint) stays."""
        if self.status is None:
            return
        try:
            multiplier = size_multiplier(await self.status())
        except Exception as exc:
            ERRORS.labels(self.name, "status_read").inc()
            log.warning("trader.status_read_failed", agent=self.name, error=f"{type(exc).__name__}: {exc}")
            return
        engine = self.engine
        if multiplier == engine.size_multiplier:  # type: ignore[union-attr]
            return
        async with self.lock:
            previous = engine.size_multiplier  # type: ignore[union-attr]
            engine.set_size_multiplier(multiplier)  # type: ignore[union-attr]
            self._dirty = True
        log.info("trader.size_multiplier", agent=self.name, previous=str(previous), now=str(multiplier))

    def performance(self) -> dict[str, Any]:
        engine = self.engine
        led = engine.broker.ledger  # type: ignore[union-attr]
        exposure = led.open_exposure()
        return performance(
            led.closed,
            led.starting_capital,
            engine.equity(),  # type: ignore[union-attr]
            exposure,
            engine.risk.day_start_equity,  # type: ignore[union-attr]
            engine.risk.consecutive_losses,  # type: ignore[union-attr]
        )

    async def report(self) -> None:
        if self.sink is None:
            return
        try:
            await self.sink.patch_status("TraderAgent", self.name, {"performance": self.performance()})
        except Exception as exc:
            ERRORS.labels(self.name, "status").inc()
            log.warning("trader.report_failed", agent=self.name, error=str(exc))

    def _update_gauges(self) -> None:
        engine = self.engine
        led = engine.broker.ledger  # type: ignore[union-attr]
        equity = engine.equity()  # type: ignore[union-attr]
        EQUITY.labels(self.name).set(float(equity))
        EXPOSURE.labels(self.name).set(float(led.open_exposure()))
        PNL.labels(self.name, "net").set(float(equity - led.starting_capital))
        PNL.labels(self.name, "realized").set(float(led.realized - led.costs))
        wins = sum(1 for t in led.closed if t.net_pnl > 0)
        WIN_RATE.labels(self.name).set(wins / len(led.closed) if led.closed else 0.0)
        peak = max(engine.risk.peak_equity, equity)  # type: ignore[union-attr]
        DRAWDOWN.labels(self.name).set(float((peak - equity) / peak) if peak > 0 else 0.0)
        AGENT_PAUSE_REQUESTED.labels(self.name).set(1 if engine.pause_reason else 0)  # type: ignore[union-attr]

    async def _publish(self, kind: str, payload: dict[str, Any]) -> None:
        if self.redis is None:
            return
        try:
            await signals.publish(self.redis, self.name, kind, payload)
        except Exception as exc:
            ERRORS.labels(self.name, "redis").inc()
            log.warning("trader.publish_failed", agent=self.name, kind=kind, error=str(exc))

    async def run_timers(self) -> None:
        """Checkpoint, heartbeat and report on their own periods until asked to stop."""
        due = {"checkpoint": 0.0, "heartbeat": 0.0, "report": 0.0, "status": 0.0}
        periods = {
            "checkpoint": self.timers.checkpoint_s,
            "heartbeat": self.timers.heartbeat_s,
            "report": self.timers.report_s,
            "status": self.timers.status_s,
        }
        actions = {
            "checkpoint": self.checkpoint,
            "heartbeat": self.heartbeat,
            "report": self.report,
            "status": self.refresh_size,
        }
        while not self.stopping.is_set():
            now = time.monotonic()
            for key, at in due.items():
                if now >= at:
                    try:
                        await actions[key]()
                    except Exception as exc:
                        ERRORS.labels(self.name, key).inc()
                        log.error("trader.timer_failed", agent=self.name, timer=key, error=str(exc))
                    due[key] = now + periods[key]
            try:
                await asyncio.wait_for(
                    self.stopping.wait(), timeout=max(0.05, min(due.values()) - time.monotonic())
                )
            except TimeoutError:
                pass

    async def stop(self) -> None:
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
    book: Any, consumed: dict[tuple[str, str, Any], Any], later_fills: list[Fill], fill: Fill
) -> dict[str, Any] | None:
    """``{ts_ms, bids, asks}`` as ``fill`` met them. ``consumed`` is the broker's taken liquidity
    after the step, keyed (token, book side, price); ``later_fills`` are ``fill`` and the taker fills
    after it in the same step on the same token, whose size is given back to their levels. Levels
    run through the fill's own price and ``BOOK_LEVELS_IN_TRADE_MESSAGE`` beyond."""
    if book is None:
        return None
    n = BOOK_LEVELS_IN_TRADE_MESSAGE

    def side(levels: list[tuple[Any, Any]], book_side: str, taken_by: str) -> list[list[str]]:
        given_back: dict[Any, Any] = {}
        for g in later_fills:
            if g.side == taken_by:
                given_back[g.price] = given_back.get(g.price, 0) + g.size
        out, beyond = [], 0
        for price, size in levels:
            left = size - consumed.get((fill.token_id, book_side, price), 0) + given_back.get(price, 0)
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
