"""`make demo` promises a clone and a paused contrarian within minutes on the market it replays:
this pins that promise on the simulated floor (the real decision core over real trading engines),
reading the seed, market start and speed from the Makefile's demo line, so a change to the
simulator, the strategies or the policy that breaks the demo fails here instead of in front of a
newcomer."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from floor_boss.local.commands import parse_market_start
from tradingfloor.backtest.evolution import SimulatedFloor, example_manifests
from tradingfloor.decisions import FloorPolicy
from tradingfloor.sim.model import SimConfig, parse_pattern, simulate

REPO = Path(__file__).resolve().parents[2]
HOUR_MS = 3_600_000
WALL_MINUTES = 10  # the "within about 10 wall minutes"
START_UP_MINUTES = 1  # the market's clock waits for the traders to start (~5 s measured)


def _demo_command() -> dict[str, str]:
    makefile = (REPO / "Makefile").read_text()
    line = re.search(r"^demo:.*\n\t(.+)$", makefile, re.M)
    assert line, "no demo target in the Makefile"
    words = shlex.split(line.group(1).replace("$(BIN)/", "").replace("$(ARGS)", ""))
    return {w: words[i + 1] for i, w in enumerate(words) if w.startswith("-") and i + 1 < len(words)}


def test_the_demo_market_clones_momentum_and_stops_the_contrarian_within_ten_minutes():
    opts = _demo_command()
    speed, seed = float(opts["--speed"]), int(opts["--seed"])
    start_ms = parse_market_start(opts["--market-start"])
    traders = example_manifests(sorted((REPO / opts["-f"]).glob("*.yaml")))
    market_hours = (WALL_MINUTES - START_UP_MINUTES) * 60 * speed / 3600
    config = SimConfig(seed=seed, pattern=parse_pattern("momentum"), start_ms=start_ms)
    floor = SimulatedFloor(traders, FloorPolicy(), start_ms, review_ms=240_000)
    run = floor.feed(simulate(config, int(market_hours * HOUR_MS)))

    clone = run.first_clone("momentum-demo")
    assert clone is not None, f"no clone of momentum-demo within {market_hours:.1f} market hours"
    assert clone.parent == "momentum-demo" and int(clone.evidence["trades"]) >= FloorPolicy().min_trades_clone
    stopped = run.first_decision("contrarian-demo", ("pause", "retire"))
    assert stopped is not None, "the contrarian was neither paused nor retired"
