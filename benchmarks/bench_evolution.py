"""How often does the floor clone a strategy with no edge, and how fast does it clone a real one?

The real Floor Boss decision core (default policy) runs over simulated floors at backtest speed
(tradingfloor/backtest/evolution.py): the examples' TraderAgents and every clone the core makes,
each a real trading engine with the paper broker, fed by the deterministic market simulator.

(a) null markets (``pattern=none``: no edge after fees), ``--seeds`` seeds × ``--days`` days:
    the false clone rate = families (lineage roots) in which anything was cloned / families;
(b) planted edge (``pattern=momentum``), ``--edge-seeds`` seeds: trades the momentum family's
    original needed before its first clone, against the theoretical minimum track record length
    (Bailey & López de Prado 2012, MinTRL at 95 % vs Sharpe 0) of that edge, estimated from the
    per-trade returns the momentum agent made over all edge seeds.

Usage:  .venv/bin/python benchmarks/bench_evolution.py [--seeds N] [--days D] [--edge-seeds N]
        [--edge-days D] [--step-ms MS] [--jsonl FILE]
The default is a quick look (minutes); the documented study (docs/floor-boss.md) is
``--seeds 100 --days 30``. The last line printed is JSON:
``{"null_floor_days": N, "false_clone_rate": x, "detect_trades_median": y, "min_trl": z}``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from tradingfloor.analytics.performance import sharpe_track, trade_returns
from tradingfloor.analytics.stats import min_track_record_length
from tradingfloor.backtest.evolution import SimulatedFloor, example_manifests
from tradingfloor.decisions import FloorPolicy
from tradingfloor.sim.model import SimConfig, simulate

DAY_MS = 86_400_000
ROOT = Path(__file__).resolve().parent.parent
EDGE_FAMILY = "momentum-btc"


def run_floor(
    seed: int, days: float, pattern: str, step_ms: int, manifests: list[dict[str, Any]], policy: FloorPolicy
):
    config = SimConfig(seed=seed, assets=("BTC", "ETH"), pattern=pattern, step_ms=step_ms)  # type: ignore[arg-type]
    floor = SimulatedFloor(manifests, policy, config.start_ms)
    return floor.feed(simulate(config, int(days * DAY_MS)))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="null-market seeds (default 3)")
    ap.add_argument("--days", type=float, default=30.0, help="simulated days per null floor (default 30)")
    ap.add_argument("--edge-seeds", type=int, default=3, help="planted-edge seeds (default 3)")
    ap.add_argument(
        "--edge-days", type=float, default=10.0, help="simulated days per edge floor (default 10)"
    )
    ap.add_argument("--step-ms", type=int, default=5_000, help="simulator step (default 5000 ms)")
    ap.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a FloorPolicy field (to study a trade-off); repeatable",
    )
    ap.add_argument("--jsonl", type=Path, help="append one JSON line per floor here (a long study's record)")
    args = ap.parse_args(argv)
    if args.seeds < 1 or args.edge_seeds < 1 or args.days <= 0 or args.edge_days <= 0:
        ap.error("--seeds, --edge-seeds, --days and --edge-days must be positive")
    try:
        policy = FloorPolicy(**dict(item.split("=", 1) for item in args.policy))
    except ValueError as exc:
        ap.error(f"--policy: {exc}")
    manifests = example_manifests(sorted((ROOT / "examples").glob("*.yaml")))
    record = args.jsonl.open("a", encoding="utf-8") if args.jsonl else None

    def log(line: dict[str, Any]) -> None:
        print("  " + json.dumps(line), flush=True)
        if record is not None:
            record.write(json.dumps(line) + "\n")
            record.flush()

    started = time.perf_counter()
    families = cloned = 0
    for seed in range(1, args.seeds + 1):
        t0 = time.perf_counter()
        run = run_floor(seed, args.days, "none", args.step_ms, manifests, policy)
        roots = run.families()
        false = [r for r in roots if run.first_clone(r) is not None]
        families += len(roots)
        cloned += len(false)
        trades = {a.name: len(a.trades()) for a in run.agents.values()}
        log(
            {
                "pattern": "none",
                "seed": seed,
                "days": args.days,
                "families": len(roots),
                "cloned_families": false,
                "trades": trades,
                "clones": [c.__dict__ for c in run.clones],
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )

    detect: list[int] = []
    edge_returns: list[float] = []
    for seed in range(1, args.edge_seeds + 1):
        t0 = time.perf_counter()
        run = run_floor(10_000 + seed, args.edge_days, "momentum", args.step_ms, manifests, policy)
        first = run.first_clone(EDGE_FAMILY)
        original = run.agents[EDGE_FAMILY]
        pnls = [t.net_pnl for t in original.trades()]
        edge_returns += trade_returns(original.engine.limits.capital, pnls)
        if first is not None:
            detect.append(first.parent_trades)
        log(
            {
                "pattern": "momentum",
                "seed": 10_000 + seed,
                "days": args.edge_days,
                "edge_trades": len(pnls),
                "first_clone": first.__dict__ if first else None,
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )

    track = sharpe_track(edge_returns)
    min_trl = min_track_record_length(track.sharpe, track.skew, track.kurtosis)
    rate = cloned / families if families else 0.0
    median = statistics.median(detect) if detect else math.inf
    print(
        f"null: {cloned} of {families} families cloned over {args.seeds} seeds x {args.days:g} days "
        f"(false clone rate {rate:.3f}); edge: first clone after median {median} trades "
        f"({len(detect)} of {args.edge_seeds} seeds cloned), per-trade Sharpe {track.sharpe:.3f} "
        f"skew {track.skew:.2f} kurtosis {track.kurtosis:.2f} over {track.periods} trades -> MinTRL "
        f"{min_trl:.1f}; {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    if record is not None:
        record.close()
    print(
        json.dumps(
            {
                "null_floor_days": round(args.seeds * args.days),
                "false_clone_rate": round(rate, 4),
                "detect_trades_median": median if math.isfinite(median) else None,
                "min_trl": round(min_trl, 1) if math.isfinite(min_trl) else None,
            }
        )
    )


if __name__ == "__main__":
    main()
