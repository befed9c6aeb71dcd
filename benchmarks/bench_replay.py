"""Replay throughput from a recorded file, and the same stream through a trading engine.

Writes a recording of simulated frames (the simulator's venue shapes: market messages and spot
updates, one frame per message, and each round's listing as the recorder writes it) to a temp
file, then measures on one core:

* ``replay:``         raw frames from the recording → normalized events (the codec the live client uses);
* ``frames→engine:``  the same, each event then run through a TradingEngine whose strategy
                      (orderFlow) reads the book on every book event;
* ``events→engine:``  pre-built events (already decoded, in memory) through the same engine.

Rates are per CPU-second of this process (``time.process_time``), which is what "one core" means
on a shared machine; the wall-clock rate is printed beside it.
Run: .venv/bin/python benchmarks/bench_replay.py [simulated_hours]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal

from tradingfloor.market.codec import event_to_json
from tradingfloor.market.events import (
    Asset,
    BookSnapshot,
    LastTrade,
    MarketInfo,
    MarketResolved,
    NewMarket,
    PriceChange,
    SpotTick,
)
from tradingfloor.market.recorder import FrameRecorder, replay_events
from tradingfloor.sim import wire
from tradingfloor.sim.model import SimConfig, simulate
from tradingfloor.trading.paper_broker import BrokerConfig
from tradingfloor.trading.pipeline import EngineConfig, TradingEngine
from tradingfloor.trading.risk import RiskLimits


def write_recording(
    path: str, hours: float, l2_only: bool = False, assets: tuple[Asset, ...] = ("BTC", "ETH")
) -> int:
    """Record ``hours`` of the simulator's venue frames for ``assets``; ``l2_only`` leaves out spot
    updates and trades (the rounds' listings, books, level changes and resolutions remain)."""
    rec = FrameRecorder(path, meta={"source": "bench_replay"}, compresslevel=1)
    group: list[PriceChange] = []
    infos: dict[str, MarketInfo] = {}

    def flush() -> None:
        if group:
            msg = wire.price_change_message(
                group[0].market_id, group[0].ts_ms, [(c, None, None) for c in group]
            )
            rec.write("market", json.dumps(msg), group[0].ts_ms)
            group.clear()

    for ev in simulate(SimConfig(seed=2, assets=assets), int(hours * 3_600_000)):
        if isinstance(ev, PriceChange):
            if group and (group[0].ts_ms != ev.ts_ms or group[0].market_id != ev.market_id):
                flush()
            group.append(ev)
            continue
        flush()
        if l2_only and isinstance(ev, (SpotTick, LastTrade)):
            continue
        if isinstance(ev, SpotTick):
            rec.write(
                "spot",
                json.dumps(wire.spot_update(ev.asset, ev.price, ev.volume, ev.ts_ms, ev.ts_ms)),
                ev.ts_ms,
            )
        elif isinstance(ev, LastTrade):
            rec.write("market", json.dumps(wire.last_trade_message(ev)), ev.ts_ms)
        elif isinstance(ev, NewMarket):
            infos[ev.info.market_id] = ev.info
            rec.write("listing", event_to_json(ev), ev.ts_ms)  # what the recorder takes from Gamma
            rec.write("market", json.dumps(wire.new_market_message(ev, Decimal("0.2"))), ev.ts_ms)
        elif isinstance(ev, MarketResolved) and ev.market_id in infos:
            rec.write("market", json.dumps(wire.resolved_message(ev, infos[ev.market_id])), ev.ts_ms)
        elif isinstance(ev, BookSnapshot):
            msg = {
                "event_type": "book",
                "market": ev.market_id,
                "asset_id": ev.token_id,
                "timestamp": str(ev.ts_ms),
                "hash": "",
                "bids": [{"price": str(p), "size": str(s)} for p, s in reversed(ev.bids)],
                "asks": [{"price": str(p), "size": str(s)} for p, s in reversed(ev.asks)],
            }
            rec.write("market", json.dumps(msg), ev.ts_ms)
    flush()
    rec.close()
    return rec.frames


def timed(run: Callable[[], int]) -> tuple[int, float, float]:
    """(count, CPU seconds, wall seconds) of the best of three runs."""
    best = (0, float("inf"), float("inf"))
    for _ in range(3):
        c0, w0 = time.process_time(), time.perf_counter()
        n = run()
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        if cpu < best[1]:
            best = (n, cpu, wall)
    return best


def engine() -> TradingEngine:
    return TradingEngine(EngineConfig("bench-orderFlow", "orderFlow", "BTC"), RiskLimits(), BrokerConfig())


def line(label: str, n: int, cpu: float, wall: float, unit: str = "events") -> str:
    return f"{label:<15}{n / cpu:>12,.0f} {unit}/s  (wall {n / wall:,.0f}/s; {n:,} {unit} in {cpu:.2f} CPU-s)"


def main() -> None:
    hours = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    fd, path = tempfile.mkstemp(suffix=".frames.gz")
    os.close(fd)
    try:
        frames = write_recording(path, hours)
        size = os.path.getsize(path)
        print(f"recording: {frames:,} frames, {size / 1e6:.1f} MB gzip ({hours} simulated hours, BTC+ETH)")
        n, cpu, wall = timed(lambda: sum(1 for _ in replay_events(path)))
        print(line("replay:", n, cpu, wall) + f"  {frames / cpu:,.0f} frames/s")

        def frames_to_engine() -> int:
            on_event, count = engine().on_event, 0
            for _, ev in replay_events(path):
                on_event(ev)
                count += 1
            return count

        print(line("frames→engine:", *timed(frames_to_engine)))
        events = [ev for _, ev in replay_events(path)]

        def events_to_engine() -> int:
            on_event = engine().on_event
            for ev in events:
                on_event(ev)
            return len(events)

        print(line("events→engine:", *timed(events_to_engine)))
        c0 = time.process_time()
        m = sum(1 for _ in simulate(SimConfig(seed=2), int(hours * 3_600_000)))
        dt = time.process_time() - c0
        print(
            f"{'simulate:':<15}{m / dt:>12,.0f} events/s  ({hours / dt * 3600 / 86400:.3f} simulated days per CPU-s)"
        )
    finally:
        os.unlink(path)


if __name__ == "__main__":
    main()
