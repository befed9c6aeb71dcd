"""What `make demo` should show, and on which market: the simulated floor (the real decision core
over real trading engines, tradingfloor/backtest/evolution.py) runs examples/demo's traders on the
simulator's momentum pattern, one market per seed, all from the same market start, and prints when
the momentum trader is first cloned and the contrarian paused or retired (market hours), with the
momentum trader's trades and wins up to the end of the window.

`make demo` runs one of these markets live (its seed and --market-start); the live floor's clone
and pause come close to this script's figures for that seed (docs/local-floor.md).

Run: .venv/bin/python benchmarks/bench_demo.py [--seeds 1-40] [--hours 15] [--start 2026-01-01T00:00Z]
The last line is JSON: {"seeds": N, "cloned": k, "median_clone_hours": x, "earliest": [seed, hours]}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from floor_boss.local.commands import parse_market_start
from tradingfloor.backtest.evolution import SimulatedFloor, example_manifests
from tradingfloor.decisions import FloorPolicy
from tradingfloor.sim.model import SimConfig, parse_pattern, simulate

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo"
HOUR_MS = 3_600_000
REVIEW_MS = 240_000  # how often the floor's decision core looks at each agent, in market time


def one_market(seed: int, start_ms: int, hours: float, policy: FloorPolicy) -> dict[str, Any]:
    traders = example_manifests(sorted(DEMO.glob("*.yaml")))
    momentum = next(t["metadata"]["name"] for t in traders if t["spec"]["strategy"] == "momentum")
    contrarian = next(t["metadata"]["name"] for t in traders if t["spec"]["strategy"] != "momentum")
    config = SimConfig(seed=seed, pattern=parse_pattern("momentum"), start_ms=start_ms)
    floor = SimulatedFloor(traders, policy, start_ms, review_ms=REVIEW_MS)
    run = floor.feed(simulate(config, int(hours * HOUR_MS)))
    clone = run.first_clone(momentum)
    stopped = run.first_decision(contrarian, ("pause", "retire"))
    trades = run.agents[momentum].trades()
    return {
        "seed": seed,
        "clone_hours": None if clone is None else round((clone.at_ms - start_ms) / HOUR_MS, 1),
        "contrarian_stopped_hours": None if stopped is None else round((stopped - start_ms) / HOUR_MS, 1),
        "momentum_trades": len(trades),
        "momentum_wins": sum(1 for t in trades if t.net_pnl > 0),
    }


def seed_range(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="1-40", help="a seed or a range, e.g. 15 or 1-40")
    parser.add_argument(
        "--hours", type=float, default=15.0, help="market hours per market (90x: 10 wall min)"
    )
    parser.add_argument("--start", default="2026-01-01T00:00Z", help="the market start (UTC)")
    args = parser.parse_args()
    start_ms = parse_market_start(args.start)
    policy = FloorPolicy()
    rows = []
    for seed in seed_range(args.seeds):
        began = time.process_time()
        row = one_market(seed, start_ms, args.hours, policy)
        rows.append(row)
        print(f"{json.dumps(row)}  ({time.process_time() - began:.1f} CPU s)", flush=True)
    cloned = [r for r in rows if r["clone_hours"] is not None]
    earliest = min(cloned, key=lambda r: r["clone_hours"], default=None)
    print(
        json.dumps(
            {
                "seeds": len(rows),
                "cloned": len(cloned),
                "median_clone_hours": statistics.median(r["clone_hours"] for r in cloned) if cloned else None,
                "earliest": [earliest["seed"], earliest["clone_hours"]] if earliest else None,
            }
        )
    )


if __name__ == "__main__":
    main()
