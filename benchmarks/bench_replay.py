"""Replay throughput from a recorded file: frames and normalized events per second.

Writes a recording of simulated frames (the simulator's wire shapes: market messages and spot
updates, one frame per message) to a temp file, then replays it at full speed through the same
codec the live client uses.
Run: .venv/bin/python benchmarks/bench_replay.py [simulated_hours]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

from tradingfloor.market.events import BookSnapshot, LastTrade, PriceChange, SpotTick
from tradingfloor.market.recorder import FrameRecorder, replay_events
from tradingfloor.sim import wire
from tradingfloor.sim.model import SimConfig, simulate


def write_recording(path: str, hours: float) -> int:
    rec = FrameRecorder(path, meta={"source": "bench_replay"}, compresslevel=1)
    group: list[PriceChange] = []

    def flush() -> None:
        if group:
            rec.write(
                "market",
                json.dumps(
                    wire.price_change_message(
                        group[0].market_id, group[0].ts_ms, [(c, None, None) for c in group]
                    )
                ),
                group[0].ts_ms,
            )
            group.clear()

    for ev in simulate(SimConfig(seed=2), int(hours * 3_600_000)):
        if isinstance(ev, PriceChange):
            if group and (group[0].ts_ms != ev.ts_ms or group[0].market_id != ev.market_id):
                flush()
            group.append(ev)
            continue
        flush()
        if isinstance(ev, SpotTick):
            rec.write(
                "spot",
                json.dumps(wire.spot_update(ev.asset, ev.price, ev.volume, ev.ts_ms, ev.ts_ms)),
                ev.ts_ms,
            )
        elif isinstance(ev, LastTrade):
            rec.write("market", json.dumps(wire.last_trade_message(ev)), ev.ts_ms)
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


def main() -> None:
    hours = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    fd, path = tempfile.mkstemp(suffix=".jsonl.gz")
    os.close(fd)
    try:
        frames = write_recording(path, hours)
        size = os.path.getsize(path)
        t0 = time.perf_counter()
        n = sum(1 for _ in replay_events(path))
        dt = time.perf_counter() - t0
        print(f"recording: {frames:,} frames, {size / 1e6:.1f} MB gzip ({hours} simulated hours, BTC+ETH)")
        print(
            f"replay:    {frames / dt:>12,.0f} frames/s  {n / dt:>12,.0f} events/s  ({n:,} events in {dt:.2f} s)"
        )
        t0 = time.perf_counter()
        m = sum(1 for _ in simulate(SimConfig(seed=2), int(hours * 3_600_000)))
        dt = time.perf_counter() - t0
        print(
            f"simulate:  {m / dt:>12,.0f} events/s  ({hours / dt * 3600 / 86400:.3f} simulated days of BTC+ETH per second)"
        )
    finally:
        os.unlink(path)


if __name__ == "__main__":
    main()
