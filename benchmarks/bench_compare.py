"""This project's engine side by side with NautilusTrader's backtest engine on the same L2 stream.

The stream is the simulator's venue frames for BTC's 15-minute rounds (``bench_replay.write_recording``
without spot updates and trades: each round's listing, full books, level changes and resolution),
one asset because our engine trades one and would skip another asset's events at no cost. Each engine runs in its own process, so each peak RSS is its own:

* ours, raw frames:     the recording's frame bytes (in memory) → codec → TradingEngine;
* ours, raw from file:  the same, read and gunzipped from the recording while it runs;
* ours, events:         pre-built events (decoded before the clock starts) → TradingEngine;
* ours, events-every-book: the same with the book gate off, so orderFlow's ``on_book`` is called on
                        every book event (it returns at once outside its entry window);
* Nautilus:             pre-built ``OrderBookDelta`` objects → ``BacktestEngine`` (its own venv,
                        ``benchmarks/compare_nautilus_side.py``).

Our strategy is orderFlow, which reads the Up book's depth on its book events while a round is open
for entry (the engine's book gate: ``docs/strategies.md``; outside the window it is not called,
in ``events-every-book`` it is called and returns at once) and hands its intents to risk and the
paper broker; the stream has no spot ticks, so risk refuses them as stale and no order is placed
(``trades`` in the JSON lines is 0). Nautilus's reads the best bid and ask on every book update
and does not trade. Rates are L2 events (a snapshot or a level change) per
CPU-second, the best of three passes on each side (Nautilus: ``reset()`` and run again). At the end each of our modes' final books is compared with Nautilus's level by level.

Run: make bench-compare   (creates .venv-nautilus with NautilusTrader on first use)
     .venv/bin/python benchmarks/bench_compare.py [simulated_hours]   (38 h ≈ 1M L2 events)
     .venv/bin/python benchmarks/bench_compare.py 10 --mode events-every-book   (only these of
     our modes, repeatable; Nautilus still runs when .venv-nautilus exists)
Without .venv-nautilus the script says so and measures only this project's side.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from proc_memory import peak_rss_mib  # benchmarks/ is the script's own folder

from tradingfloor.market.events import BookSnapshot, MarketEvent, PriceChange
from tradingfloor.market.recorder import decode_recorded, read_frames, replay_events
from tradingfloor.strategies.order_flow import OrderFlowStrategy
from tradingfloor.trading.paper_broker import BrokerConfig
from tradingfloor.trading.pipeline import EngineConfig, TradingEngine
from tradingfloor.trading.risk import RiskLimits

HERE = Path(__file__).resolve().parent
NAUTILUS_PYTHON = HERE.parent / ".venv-nautilus" / "bin" / "python"
L2 = (BookSnapshot, PriceChange)
RUNS = 3  # each side's figure is the best of this many passes over the same stream
MODES = ("raw-memory", "raw-file", "events", "events-every-book")


def engine() -> TradingEngine:
    return TradingEngine(EngineConfig("bench-orderFlow", "orderFlow", "BTC"), RiskLimits(), BrokerConfig())


def final_books(eng: TradingEngine) -> dict[str, dict[str, list[list[str]]]]:
    return {
        token: {
            "bids": [[str(p), str(s)] for p, s in book.bids()],
            "asks": [[str(p), str(s)] for p, s in book.asks()],
        }
        for token, book in eng.books.items()
    }


def run_events(events: Iterable[MarketEvent]) -> tuple[TradingEngine, int, int, float, float]:
    """(engine, all events, L2 events, CPU s, wall s) of one pass through a fresh engine. Pre-built
    events (a list) are counted outside the clock, as Nautilus's side counts before its run; a
    decoding stream is counted as it goes."""
    eng = engine()
    on_event = eng.on_event
    n = n_l2 = 0
    if isinstance(events, list):
        c0, w0 = time.process_time(), time.perf_counter()
        for ev in events:
            on_event(ev)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        return eng, len(events), sum(isinstance(ev, L2) for ev in events), cpu, wall
    c0, w0 = time.process_time(), time.perf_counter()
    for ev in events:
        on_event(ev)
        n += 1
        if isinstance(ev, L2):
            n_l2 += 1
    return eng, n, n_l2, time.process_time() - c0, time.perf_counter() - w0


def frames_events(frames: list[tuple[int, str, str | bytes]]) -> Iterable[MarketEvent]:
    for _, src, raw in frames:
        yield from decode_recorded(src, raw)[0]


def ours(mode: str, path: str, runs: int) -> dict:
    """This project's engine in this (fresh) process: the best of ``runs`` passes, each through
    a fresh engine."""
    if mode == "raw-memory":
        frames = list(read_frames(path, as_text=False))

        def one() -> tuple[TradingEngine, int, int, float, float]:
            return run_events(frames_events(frames))
    elif mode == "raw-file":

        def one() -> tuple[TradingEngine, int, int, float, float]:
            return run_events(ev for _, ev in replay_events(path))
    elif mode in ("events", "events-every-book"):
        if mode == "events-every-book":  # the general path: on_book on every book event, no gate
            OrderFlowStrategy.gated_books = False
        events = [ev for _, ev in replay_events(path)]

        def one() -> tuple[TradingEngine, int, int, float, float]:
            return run_events(events)
    else:
        raise SystemExit(f"unknown mode {mode!r}: raw-memory, raw-file, events or events-every-book")
    passes = [one() for _ in range(runs)]
    eng, n, n_l2 = passes[0][:3]
    cpu, wall = min(p[3] for p in passes), min(p[4] for p in passes)
    return {
        "engine": f"ours {mode}",
        "events": n_l2,
        "all_events": n,
        "trades": len(eng.broker.ledger.closed),
        "cpu_s": cpu,
        "wall_s": wall,
        "peak_rss_mib": peak_rss_mib(),
        "books": final_books(eng),
    }


def write_nautilus_stream(recording: str, out: str) -> int:
    """The recording's L2 events as JSON lines for the Nautilus side (which cannot import us): one
    row per event, ``[ts_ms, token_id, "book", [bids, asks]]`` or ``[ts_ms, token, "change", [side,
    price, size]]``; read back one line at a time."""
    n = 0
    with open(out, "w") as fh:
        for _, ev in replay_events(recording):
            if isinstance(ev, BookSnapshot):
                bids = [[str(p), str(s)] for p, s in ev.bids if s > 0]
                asks = [[str(p), str(s)] for p, s in ev.asks if s > 0]
                fh.write(json.dumps([ev.ts_ms, ev.token_id, "book", [bids, asks]]) + "\n")
            elif isinstance(ev, PriceChange):
                fh.write(
                    json.dumps([ev.ts_ms, ev.token_id, "change", [ev.side, str(ev.price), str(ev.size)]])
                    + "\n"
                )
            else:
                continue
            n += 1
    return n


def run_child(cmd: list[str]) -> dict:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def same_books(a: dict, b: dict) -> tuple[int, list[str]]:
    """(tokens compared, tokens whose levels differ); prices and sizes compared as numbers."""

    def norm(levels: list[list[str]]) -> list[tuple[Decimal, Decimal]]:
        return [(Decimal(p), Decimal(s)) for p, s in levels]

    common = sorted(set(a) & set(b))
    differ = [
        t
        for t in common
        if norm(a[t]["bids"]) != norm(b[t]["bids"]) or norm(a[t]["asks"]) != norm(b[t]["asks"])
    ]
    return len(common), differ


def report(r: dict) -> str:
    return (
        f"{r['engine']:<24}{r['events'] / r['cpu_s']:>12,.0f} L2 events/s  "
        f"(wall {r['events'] / r['wall_s']:,.0f}/s; {r['events']:,} in {r['cpu_s']:.2f} CPU-s)  "
        f"peak RSS {r['peak_rss_mib']:.0f} MiB"
    )


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--ours":
        print(json.dumps(ours(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
        return
    parser = argparse.ArgumentParser(description="This engine beside NautilusTrader's on one L2 stream.")
    parser.add_argument("hours", nargs="?", type=float, default=38.0, help="simulated hours (38 ≈ 1M events)")
    parser.add_argument(
        "--mode", action="append", choices=MODES, help="run only this mode of ours (repeatable)"
    )
    args = parser.parse_args()
    hours, modes = args.hours, args.mode or list(MODES)
    sys.path.insert(0, str(HERE))
    write_recording = importlib.import_module("bench_replay").write_recording  # its recording, reused

    with tempfile.TemporaryDirectory(prefix="tf-compare-") as tmp:
        recording = os.path.join(tmp, "stream.frames.gz")
        frames = write_recording(recording, hours, l2_only=True, assets=("BTC",))
        stream = os.path.join(tmp, "stream.jsonl")
        n = write_nautilus_stream(recording, stream)
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"stream: {n:,} L2 events in {frames:,} frames ({hours:g} simulated hours of BTC rounds); "
            f"load average {load}"
        )
        me = [sys.executable, str(Path(__file__).resolve()), "--ours"]
        results = {mode: run_child([*me, mode, recording, str(RUNS)]) for mode in modes}
        for r in results.values():
            print(report(r))
        if not NAUTILUS_PYTHON.exists():
            print(f"NautilusTrader: {NAUTILUS_PYTHON} not found; `make bench-compare` creates it")
            return
        naut = run_child([str(NAUTILUS_PYTHON), str(HERE / "compare_nautilus_side.py"), stream, str(RUNS)])
        print(report(naut) + f"  (NautilusTrader {naut['version']})")
        ours_n = next(iter(results.values()))["events"]
        if naut["events"] != ours_n:
            print(f"WARNING: Nautilus counted {naut['events']:,} L2 events, we {ours_n:,}")
        rate = naut["events"] / naut["cpu_s"]
        for mode, r in results.items():
            print(
                f"ours {mode} / Nautilus: {r['events'] / r['cpu_s'] / rate:.2f}× the rate, "
                f"{r['peak_rss_mib'] / naut['peak_rss_mib']:.2f}× the peak RSS"
            )
        for mode, r in results.items():  # every mode of ours must end on Nautilus's books
            compared, differ = same_books(r["books"], naut["books"])
            print(
                f"final books, ours {mode}: {compared} tokens compared, "
                + ("all identical" if not differ else f"{len(differ)} differ: {differ[:3]}")
            )


if __name__ == "__main__":
    main()
