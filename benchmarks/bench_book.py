"""Book events applied per second on one core: parse (raw WS frame → events) + apply (OrderBook).

Frames are real-shaped ``price_change`` messages produced by the simulator's wire encoder from a
simulated hour of BTC, so price/size strings and level churn look like the venue's.
Rates are per CPU-second of this process (one core, whatever else the machine runs).
Run: .venv/bin/python benchmarks/bench_book.py
"""

from __future__ import annotations

import json
import time

from tradingfloor.market.book import OrderBook
from tradingfloor.market.codec import decode_frame
from tradingfloor.market.events import BookSnapshot, PriceChange
from tradingfloor.sim.model import SimConfig, simulate
from tradingfloor.sim.wire import price_change_message


def build_frames(hours: float = 1.0) -> tuple[list[BookSnapshot], list[str], list[PriceChange]]:
    snaps: list[BookSnapshot] = []
    frames: list[str] = []
    changes: list[PriceChange] = []
    group: list[PriceChange] = []
    for ev in simulate(SimConfig(seed=1, assets=("BTC",)), int(hours * 3_600_000)):
        if isinstance(ev, BookSnapshot):
            snaps.append(ev)
        elif isinstance(ev, PriceChange):
            changes.append(ev)
            if group and group[0].ts_ms != ev.ts_ms:
                frames.append(
                    json.dumps(
                        price_change_message(
                            group[0].market_id, group[0].ts_ms, [(c, None, None) for c in group]
                        )
                    )
                )
                group = []
            group.append(ev)
    return snaps, frames, changes


def main() -> None:
    snaps, frames, changes = build_frames()
    books: dict[str, OrderBook] = {}

    def reset() -> None:
        books.clear()
        for s in snaps[:4]:
            books.setdefault(s.token_id, OrderBook()).apply_snapshot(s)

    # apply only (already-normalized events, as a backtest sees them)
    reset()
    t0 = time.process_time()
    for ch in changes:
        b = books.get(ch.token_id)
        if b is None:
            b = books[ch.token_id] = OrderBook()
        b.apply_change(ch)
    apply_s = time.process_time() - t0
    # parse + apply (the live path)
    reset()
    n = 0
    t0 = time.process_time()
    for frame in frames:
        events, _ = decode_frame(frame)
        for ev in events:
            if not isinstance(ev, PriceChange):
                continue
            b = books.get(ev.token_id)
            if b is None:
                b = books[ev.token_id] = OrderBook()
            b.apply_change(ev)
            n += 1
    both_s = time.process_time() - t0
    print(f"book events: {len(changes):,} level changes in {len(frames):,} frames")
    print(f"apply only:    {len(changes) / apply_s:>12,.0f} events/s")
    print(f"parse + apply: {n / both_s:>12,.0f} events/s  ({len(frames) / both_s:,.0f} frames/s)")


if __name__ == "__main__":
    main()
