"""The trader agent's runtime: market events → the trading engine (strategy → sizing → risk → broker)
→ one durable commit per step, plus its timers (checkpoint, heartbeat, performance report).

Crash safety: everything a step changed (orders, fills, closed trades, positions) is committed in the
same transaction as the engine state after it (:mod:`.store`). On restart the agent resumes from
that state: the DB ledger and the checkpoint agree by construction, client order ids continue from
the checkpointed sequence, and the broker refuses any id it has already seen. A live order's signed
form is made durable before it is sent; submissions found in the database but not in the checkpoint
are adopted and reconciled with the venue.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from floor_agents.trader import signals
from floor_agents.trader.performance import performance
from floor_agents.trader.store import Batch, TraderStore
from tradingfloor.brokers import LiveBroker, Submission, make_broker
from tradingfloor.market.events import MarketEvent
from tradingfloor.models.trader_agent import TraderAgentSpec
from tradingfloor.observability.logging import get_logger
from tradingfloor.observability.metrics import (
    AGENT_PAUSE_REQUESTED, DECISION_LATENCY, DRAWDOWN, EQUITY, ERRORS, EXPOSURE, FEED_LAG, FEES, FILLS, HEARTBEAT,
    ORDERS, PNL, TRADES, WIN_RATE,
)
from tradingfloor.settings import Settings
from tradingfloor.status.sink import StatusSink
from tradingfloor.trading.engine import EngineConfig, EngineOutput, TradingEngine
from tradingfloor.trading.orders import to_json
from tradingfloor.trading.risk import RiskLimits

log = get_logger("floor_agents.trader")
STATE_VERSION = 1
BOOK_LEVELS_IN_TRADE_MESSAGE = 5


@dataclass(frozen=True)
class Timers:
    checkpoint_s: float = 30.0
    heartbeat_s: float = 30.0
    report_s: float = 60.0


class TraderRuntime:
    def __init__(self, name: str, spec: TraderAgentSpec, settings: Settings, store: TraderStore,
                 redis: aioredis.Redis | None, sink: StatusSink | None, timers: Timers) -> None:
        self.name = name
        self.spec = spec
        self.settings = settings
        self.store = store
        self.redis = redis
        self.sink = sink
        self.timers = timers
        self.lock = asyncio.Lock()
        self.seq = 0
        self.fill_counts: dict[str, dict[str, int]] = {}  # market id -> client id -> fills booked
        self.live = False
        self.engine: TradingEngine | None = None
        self._arrived_ns = 0
        self._last_event_wall = time.time()
        self._dirty = False
        self.stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- start / restore ------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.store.open()
        restored = await self.store.load()
        if restored is None:
            engine = TradingEngine(EngineConfig(self.name, self.spec.strategy, self.spec.market.asset,
                                                dict(self.spec.params)), RiskLimits.from_spec(self.spec.risk))
        else:
            self.seq, state = restored
            if state.get("version") != STATE_VERSION:
                raise ValueError(f"checkpoint of {self.name} has version {state.get('version')!r}, not {STATE_VERSION}")
            engine = TradingEngine.from_state(state["engine"])
            self.fill_counts = state["fill_counts"]
        broker = make_broker(self.spec, self.settings, engine.broker.ledger, config=engine.broker.config,
                             journal=self._journal_live_intent)
        if isinstance(broker, LiveBroker):
            self.live = True
            if restored is not None:
                broker.restore(restored[1]["engine"]["broker"])
            engine.broker = broker
            for sub in await self.store.submitted_orders():
                broker.adopt(Submission.from_json(sub))
        self.engine = engine
        self._instrument(engine)
        self._update_gauges()
        log.info("trader.started", agent=self.name, resumed_seq=self.seq, live=self.live,
                 cash=str(engine.broker.ledger.cash), positions=len(engine.broker.ledger.positions))
        await self._publish("agent_started", {"agent": self.name, "pid_seq": self.seq, "mode": self.spec.mode})

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
        future = asyncio.run_coroutine_threadsafe(self.store.record_intent(sub.order, sub.to_json()), self._loop)
        future.result(timeout=15)

    # --- the step ---------------------------------------------------------------------------
    async def on_event(self, event: MarketEvent, arrived_ns: int) -> EngineOutput | None:
        self._last_event_wall = time.time()
        FEED_LAG.labels(self.name).set(0)
        async with self.lock:
            self._arrived_ns = arrived_ns
            engine = self.engine
            if self.live:
                out = await asyncio.to_thread(engine.on_event, event)
            else:
                out = engine.on_event(event)
            self._dirty = True
            if out is None or not (out.orders or out.results or out.closed or out.pause_requested):
                return out
            batch = self._batch(out)
            await self._commit(batch)
        await self._after_commit(out)
        return out

    def _batch(self, out: EngineOutput) -> Batch:
        batch = Batch()
        status = {r.client_id: r for r in out.results}
        new = {o.client_id for o in out.orders}
        for order in out.orders:
            res = status.get(order.client_id)
            batch.add_order(order, res.status if res else "pending", res.reason if res else "")
        for res in out.results:
            if res.client_id not in new:
                batch.order_updates.append((res.client_id, res.status, res.reason[:500]))
            for fill in res.fills:
                counts = self.fill_counts.setdefault(fill.market_id, {})
                n = counts.get(fill.client_id, 0)
                counts[fill.client_id] = n + 1
                batch.add_fill(f"{fill.client_id}/{n}", fill)
        for trade in out.closed:
            batch.add_trade(self.name, trade)
        if out.closed:  # resolved markets take no more fills: forget their counters
            for market_id in [m for m in self.fill_counts if m not in self.engine.markets]:  # type: ignore[union-attr]
                del self.fill_counts[market_id]
        return batch

    async def _commit(self, batch: Batch) -> None:
        self.seq += 1
        state = {"version": STATE_VERSION, "engine": self.engine.export_state(),  # type: ignore[union-attr]
                 "fill_counts": self.fill_counts}
        if not await self.store.commit(self.seq, state, batch, self.engine.broker.ledger):  # type: ignore[union-attr]
            ERRORS.labels(self.name, "database_unavailable").inc()
        self._dirty = False

    async def _after_commit(self, out: EngineOutput) -> None:
        """Metrics and bus messages, only for what is now durable."""
        for order in out.orders:
            res = next((r for r in out.results if r.client_id == order.client_id), None)
            ORDERS.labels(self.name, order.side, res.status if res else "pending").inc()
        for res in out.results:
            for fill in res.fills:
                FILLS.labels(self.name).inc()
                FEES.labels(self.name).inc(float(fill.fee))
                await self._publish("trade_executed", {"agent": self.name, "trade": to_json(fill),
                                                       "book": self._book_json(fill.token_id)})
        for trade in out.closed:
            TRADES.labels(self.name, "win" if trade.net_pnl > 0 else "loss").inc()
        if out.pause_requested:
            AGENT_PAUSE_REQUESTED.labels(self.name).set(1)
            log.warning("trader.pause_requested", agent=self.name, reason=out.pause_requested)
            await self._publish("pause_requested", {"agent": self.name, "reason": out.pause_requested})
            await self.report()
        self._update_gauges()

    def _book_json(self, token_id: str) -> dict[str, Any] | None:
        book = self.engine.books.get(token_id)  # type: ignore[union-attr]
        if book is None:
            return None
        n = BOOK_LEVELS_IN_TRADE_MESSAGE
        return {"ts_ms": book.ts_ms, "bids": [[str(p), str(s)] for p, s in book.bids()[:n]],
                "asks": [[str(p), str(s)] for p, s in book.asks()[:n]]}

    # --- timers -------------------------------------------------------------------------------
    async def checkpoint(self) -> None:
        async with self.lock:
            if self._dirty:
                await self._commit(Batch())

    async def heartbeat(self) -> None:
        HEARTBEAT.labels(self.name).set(time.time())
        FEED_LAG.labels(self.name).set(time.time() - self._last_event_wall)
        if self.redis is not None:
            try:
                await signals.beat(self.redis, self.name, self.seq, self.timers.heartbeat_s)
            except Exception as exc:  # noqa: BLE001 - Redis down must not stop trading
                ERRORS.labels(self.name, "redis").inc()
                log.warning("trader.heartbeat_failed", agent=self.name, error=str(exc))

    def performance(self) -> dict[str, Any]:
        engine = self.engine
        led = engine.broker.ledger  # type: ignore[union-attr]
        exposure = led.open_exposure()
        return performance(led.closed, led.starting_capital, engine.equity(), exposure, led.costs,  # type: ignore[union-attr]
                           engine.risk.day_start_equity)  # type: ignore[union-attr]

    async def report(self) -> None:
        if self.sink is None:
            return
        try:
            await self.sink.patch_status("TraderAgent", self.name, {"performance": self.performance()})
        except Exception as exc:  # noqa: BLE001 - reporting is best effort; trading goes on
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
        except Exception as exc:  # noqa: BLE001
            ERRORS.labels(self.name, "redis").inc()
            log.warning("trader.publish_failed", agent=self.name, kind=kind, error=str(exc))

    async def run_timers(self) -> None:
        """Checkpoint, heartbeat and report on their own periods until asked to stop."""
        due = {"checkpoint": 0.0, "heartbeat": 0.0, "report": 0.0}
        periods = {"checkpoint": self.timers.checkpoint_s, "heartbeat": self.timers.heartbeat_s,
                   "report": self.timers.report_s}
        actions = {"checkpoint": self.checkpoint, "heartbeat": self.heartbeat, "report": self.report}
        while not self.stopping.is_set():
            now = time.monotonic()
            for key, at in due.items():
                if now >= at:
                    try:
                        await actions[key]()
                    except Exception as exc:  # noqa: BLE001 - a failing timer is counted, not fatal
                        ERRORS.labels(self.name, key).inc()
                        log.error("trader.timer_failed", agent=self.name, timer=key, error=str(exc))
                    due[key] = now + periods[key]
            try:
                await asyncio.wait_for(self.stopping.wait(), timeout=max(0.05, min(due.values()) - time.monotonic()))
            except asyncio.TimeoutError:
                pass

    async def stop(self) -> None:
        self.stopping.set()
        await self.checkpoint()
        await self.report()
        await self._publish("agent_stopped", {"agent": self.name, "seq": self.seq})
        await self.store.close()

