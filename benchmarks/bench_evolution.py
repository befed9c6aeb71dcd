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

Usage:  .venv/bin/python benchmarks/bench_evolution.py [--seeds N] [--days D] [--edge-seeds N] [--first-seed S]
        [--edge-days D] [--step-ms MS] [--policy FIELD=VALUE] [--shadow FIELD=VALUE[,...]]
        [--jsonl FILE] [--from-jsonl FILE]
The default is a quick look (minutes); the documented study (docs/floor-boss.md, its records in
benchmarks/results/) is ``--seeds 100 --days 30 --edge-seeds 30``. ``--shadow`` scores other clone
bars on the same floors (tradingfloor/backtest/evolution.py). The last line printed is JSON:
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

import yaml

from tradingfloor.analytics.performance import sharpe_track, trade_returns
from tradingfloor.analytics.stats import min_track_record_length
from tradingfloor.backtest.evolution import SimulatedFloor, example_manifests
from tradingfloor.decisions import FloorPolicy
from tradingfloor.decisions.evidence import clone_evidence
from tradingfloor.sim.model import SimConfig, parse_pattern, simulate
from tradingfloor.structs import parse

DAY_MS = 86_400_000
ROOT = Path(__file__).resolve().parent.parent
EDGE_FAMILY = "momentum-btc"


def run_floor(
    seed: int,
    days: float,
    pattern: str,
    step_ms: int,
    manifests: list[dict[str, Any]],
    policy: FloorPolicy,
    shadows: tuple[FloorPolicy, ...] = (),
):
    config = SimConfig(seed=seed, assets=("BTC", "ETH"), pattern=parse_pattern(pattern), step_ms=step_ms)
    floor = SimulatedFloor(manifests, policy, config.start_ms, shadows=shadows)
    return floor.feed(simulate(config, int(days * DAY_MS)))


def parse_policy(text: str) -> tuple[str, FloorPolicy]:
    """``FIELD=VALUE[,FIELD=VALUE…]`` → (the text as a label, the default policy with those fields)."""
    fields = dict(item.split("=", 1) for item in text.split(",") if item.strip()) if text else {}
    return text or "default", parse(FloorPolicy, {k: yaml.safe_load(v) for k, v in fields.items()})


def shadow_rows(lines: list[dict[str, Any]]) -> list[str]:
    """One line per shadow policy: its false clone rate and detection on the same floors."""
    null = [r for r in lines if r["pattern"] == "none" and "shadows" in r]
    edge = [r for r in lines if r["pattern"] == "momentum" and "shadows" in r]
    labels = list(dict.fromkeys(label for r in null + edge for label in r["shadows"]))
    rows = []
    for label in labels:
        fams = sum(r["families"] for r in null if label in r["shadows"])
        cloned = sum(len(r["shadows"][label]) for r in null if label in r["shadows"])
        detect = [
            r["shadows"][label][EDGE_FAMILY] for r in edge if EDGE_FAMILY in r["shadows"].get(label, {})
        ]
        runs = sum(label in r["shadows"] for r in edge)
        rate = cloned / fams if fams else math.nan
        median = statistics.median(detect) if detect else math.inf
        rows.append(
            f"  shadow {label}: null {cloned}/{fams} families cloned (rate {rate:.3f}, 95 % upper bound "
            f"{clopper_pearson_upper(cloned, fams):.3f}); edge: median {median} trades to clone "
            f"({len(detect)} of {runs} floors)"
        )
    return rows


def summarize(lines: list[dict[str, Any]], started: float) -> dict[str, Any]:
    """The study's figures from its per-floor records (one run or several appended to one file)."""
    null = [r for r in lines if r["pattern"] == "none"]
    edge = [r for r in lines if r["pattern"] == "momentum"]
    families = sum(r["families"] for r in null)
    cloned = sum(len(r["cloned_families"]) for r in null)
    detect = [r["first_clone"]["parent_trades"] for r in edge if r["first_clone"]]
    track = sharpe_track([x for r in edge for x in r["edge_returns"]])
    min_trl = (
        min_track_record_length(track.sharpe, track.skew, track.kurtosis) if track.periods > 1 else math.inf
    )
    rate = cloned / families if families else 0.0
    median = statistics.median(detect) if detect else math.inf
    days = sum(r["days"] for r in null)
    print(
        f"null: {cloned} of {families} families cloned over {len(null)} floors, {days:g} floor-days "
        f"(false clone rate {rate:.3f}, 95 % upper bound {clopper_pearson_upper(cloned, families):.3f}); "
        f"edge: first clone after median {median} trades ({len(detect)} of {len(edge)} floors cloned), "
        f"per-trade Sharpe {track.sharpe:.3f} skew {track.skew:.2f} kurtosis {track.kurtosis:.2f} over "
        f"{track.periods} trades -> MinTRL {min_trl:.1f}; {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    for row in shadow_rows(lines):
        print(row, file=sys.stderr)
    return {
        "null_floor_days": round(days),
        "false_clone_rate": round(rate, 4),
        "detect_trades_median": median if math.isfinite(median) else None,
        "min_trl": round(min_trl, 1) if math.isfinite(min_trl) else None,
    }


def clopper_pearson_upper(k: int, n: int, confidence: float = 0.95) -> float:
    """One-sided exact upper bound of a binomial rate (Clopper & Pearson, Biometrika 26(4), 1934),
    by bisection on the binomial CDF: the largest p with P(X ≤ k; n, p) ≥ 1 − confidence."""
    if n == 0:
        return 1.0
    if k >= n:
        return 1.0

    def cdf(p: float) -> float:
        return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))

    lo, hi = k / n, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) > 1 - confidence else (lo, mid)
    return hi


def exact_null_study(policy: FloorPolicy, floors: int = 1000, trades: int = 200, seed: int = 7) -> None:
    """The bar's worst case, without the simulator: binary bets whose win probability is exactly their
    break-even (entry 0.50 and 0.65 plus the 7 % fee), the evidence re-checked after every trade for
    ``trades`` trades (the clone signal held for 5 trades stands in for the hold time); and an edge of
    86 % wins at entry 0.58 (what the simulator's momentum agent shows): trades to the first clone vs
    its MinTRL. Prints one line per case; a model of the statistics, not of the floor."""
    import random

    rng = random.Random(seed)

    def first_clone(p_win: float, price: float, n_max: int) -> int | None:
        be = price + 0.07 * price * (1 - price)
        shift = be - policy.break_even_win_rate
        rets: list[float] = []
        wins = held = 0
        for n in range(1, n_max + 1):
            won = rng.random() < p_win
            wins += won
            rets.append(0.02 * ((1 - be) / be if won else -1.0))
            held = held + 1 if wins / n > policy.clone_win_rate + shift else 0
            if n >= policy.min_trades_clone and held >= 5:
                track = sharpe_track(rets)
                if clone_evidence(wins, n, policy, 1, break_even=be, track=track).ok:
                    return n
        return None

    for price in (0.50, 0.65):
        be = price + 0.07 * price * (1 - price)
        hits = sum(first_clone(be, price, trades) is not None for _ in range(floors))
        print(
            f"exact null, entry {price:.2f}: {hits / floors:.3f} of {floors} agents cloned within {trades} trades"
        )
    detect = [d for d in (first_clone(0.86, 0.58, 2 * trades) for _ in range(300)) if d is not None]
    be = 0.58 + 0.07 * 0.58 * 0.42
    track = sharpe_track([0.02 * ((1 - be) / be if rng.random() < 0.86 else -1.0) for _ in range(100_000)])
    min_trl = min_track_record_length(track.sharpe, track.skew, track.kurtosis)
    print(
        f"edge 86 % at 0.58: median {statistics.median(detect)} trades to clone, MinTRL {min_trl:.1f} "
        f"({statistics.median(detect) / min_trl:.2f} x)"
    )


def shadow_record(shadows: dict[str, FloorPolicy], run: Any) -> dict[str, dict[str, int]]:
    """Per shadow policy: lineage root -> the original's trades at that policy's first clone."""
    return {
        label: {root: c.parent_trades for root, c in clones.items()}
        for label, clones in zip(shadows, run.shadow_clones, strict=True)
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="null-market seeds (default 3)")
    ap.add_argument("--days", type=float, default=30.0, help="simulated days per null floor (default 30)")
    ap.add_argument("--edge-seeds", type=int, default=3, help="planted-edge seeds (default 3)")
    ap.add_argument("--edge-days", type=float, default=3.0, help="simulated days per edge floor (default 3)")
    ap.add_argument("--first-seed", type=int, default=1, help="first seed (to split a study over processes)")
    ap.add_argument("--step-ms", type=int, default=15_000, help="simulator step (default 15000 ms)")
    ap.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a FloorPolicy field (to study a trade-off); repeatable",
    )
    ap.add_argument(
        "--shadow",
        action="append",
        default=[],
        metavar="FIELD=VALUE[,FIELD=VALUE]",
        help="also score this policy on the same floors (its first clone per family; repeatable)",
    )
    ap.add_argument("--jsonl", type=Path, help="append one JSON line per floor here (a long study's record)")
    ap.add_argument(
        "--from-jsonl",
        type=Path,
        action="append",
        default=[],
        help="only summarize records written by --jsonl (repeatable)",
    )
    ap.add_argument(
        "--exact-null",
        action="store_true",
        help="only the bar's worst case on modelled binary bets (seconds; see exact_null_study)",
    )
    args = ap.parse_args(argv)
    started = time.perf_counter()
    if args.from_jsonl:
        loaded = [json.loads(x) for f in args.from_jsonl for x in f.read_text().splitlines() if x.strip()]
        print(json.dumps(summarize(loaded, started)))
        return
    try:
        policy = parse_policy(",".join(args.policy))[1]
        shadows = dict(parse_policy(text) for text in args.shadow)
    except ValueError as exc:
        ap.error(f"--policy/--shadow: {exc}")
    shadow_policies = tuple(shadows.values())
    if args.exact_null:
        exact_null_study(policy)
        return
    if args.seeds < 0 or args.edge_seeds < 0 or args.days <= 0 or args.edge_days <= 0:
        ap.error("--seeds and --edge-seeds must be >= 0, --days and --edge-days positive")
    manifests = example_manifests(sorted((ROOT / "examples").glob("*.yaml")))
    record = args.jsonl.open("a", encoding="utf-8") if args.jsonl else None
    lines: list[dict[str, Any]] = []

    def log(line: dict[str, Any]) -> None:
        lines.append(line)
        brief = {k: v for k, v in line.items() if k != "edge_returns"}
        print("  " + json.dumps(brief), flush=True)
        if record is not None:
            record.write(json.dumps(line) + "\n")
            record.flush()

    for seed in range(args.first_seed, args.first_seed + args.seeds):
        t0 = time.perf_counter()
        run = run_floor(seed, args.days, "none", args.step_ms, manifests, policy, shadow_policies)
        roots = run.families()
        log(
            {
                "pattern": "none",
                "seed": seed,
                "days": args.days,
                "families": len(roots),
                "cloned_families": [r for r in roots if run.first_clone(r) is not None],
                "trades": {a.name: len(a.trades()) for a in run.agents.values()},
                "clones": [c.__dict__ for c in run.clones],
                "shadows": shadow_record(shadows, run),
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )
    for seed in range(10_000 + args.first_seed, 10_000 + args.first_seed + args.edge_seeds):
        t0 = time.perf_counter()
        run = run_floor(seed, args.edge_days, "momentum", args.step_ms, manifests, policy, shadow_policies)
        first = run.first_clone(EDGE_FAMILY)
        original = run.agents[EDGE_FAMILY]
        pnls = [t.net_pnl for t in original.trades()]
        log(
            {
                "pattern": "momentum",
                "seed": seed,
                "days": args.edge_days,
                "edge_trades": len(pnls),
                "first_clone": first.__dict__ if first else None,
                "edge_returns": trade_returns(original.engine.limits.capital, pnls),
                "shadows": shadow_record(shadows, run),
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )
    if record is not None:
        record.close()
    print(json.dumps(summarize(lines, started)))


if __name__ == "__main__":
    main()
