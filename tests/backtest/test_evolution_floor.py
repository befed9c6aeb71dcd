"""The decision core's behaviour pinned on a small simulated floor (the bench_evolution harness):
no clone in a market without edge, a clone of the momentum family in a market with momentum —
with the evidence the clone carried."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradingfloor.backtest.evolution import SimulatedFloor, example_manifests
from tradingfloor.decisions import FloorPolicy
from tradingfloor.sim.model import SimConfig, parse_pattern, simulate

DAY_MS = 86_400_000
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "momentum-btc.yaml"


def _floor(pattern: str, seed: int, days: float, shadows: tuple[FloorPolicy, ...] = ()):
    config = SimConfig(seed=seed, assets=("BTC",), pattern=parse_pattern(pattern), step_ms=15_000)
    floor = SimulatedFloor(example_manifests([EXAMPLE]), FloorPolicy(), config.start_ms, shadows=shadows)
    return floor.feed(simulate(config, int(days * DAY_MS)))


def test_no_edge_nothing_is_cloned():
    run = _floor("none", seed=3, days=2)
    assert run.families() == ["momentum-btc"]
    assert run.clones == [] and list(run.agents) == ["momentum-btc"]
    assert all(action != "clone" for _, _, action in run.decisions)
    assert run.agents["momentum-btc"].status.performance.reportedAt is not None


def test_planted_edge_is_cloned_on_evidence():
    policy = FloorPolicy()
    strict = FloorPolicy(confidence=0.995)
    run = _floor("momentum", seed=10_001, days=1.5, shadows=(policy, strict))
    first = run.first_clone("momentum-btc")
    assert first is not None and first.parent == "momentum-btc"
    facts = first.evidence
    assert facts["passed"] == "true" and facts["familySize"] == "1"
    assert first.parent_trades == int(facts["trades"]) >= policy.min_trades_clone
    assert float(facts["winRateLow"]) > float(facts["breakEven"])
    assert float(facts["dsr"]) >= policy.confidence
    child = run.agents[first.child]
    assert child.spec.lineage.parent == "momentum-btc" and child.spec.mode == "paper"
    assert child.labels["tradingfloor.dev/lineage-root"] == "momentum-btc"
    parent = run.agents["momentum-btc"]
    assert parent.status.lastDecision is not None and parent.status.lastDecision.evidence == facts
    # a shadow with the floor's own policy makes the floor's first clone, at the same moment
    assert run.shadow_clones[0]["momentum-btc"] == first
    # a stricter bar needs more trades (or never clones in this window), and clones nothing itself
    later = run.shadow_clones[1].get("momentum-btc")
    assert later is None or later.parent_trades > first.parent_trades
    assert [c.child for c in run.clones].count(first.child) == 1


def test_review_interval_must_be_positive():
    with pytest.raises(ValueError, match="review_ms"):
        SimulatedFloor([], FloorPolicy(), 0, review_ms=0)
