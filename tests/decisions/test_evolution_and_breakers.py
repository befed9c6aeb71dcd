import pytest

from tradingfloor.decisions import FloorPolicy, FloorSignals, floor_pnl, open_breakers
from tradingfloor.decisions.evolution import clone_name, tunable_fields, vary_params
from tradingfloor.strategies.params import PARAM_MODELS, parse_params


@pytest.mark.parametrize("strategy", sorted(PARAM_MODELS))
def test_variations_are_deterministic_distinct_and_valid(strategy):
    seen = set()
    for k in range(8):
        params, variation = vary_params(strategy, {}, k)
        assert vary_params(strategy, {}, k) == (params, variation)
        parse_params(strategy, params)  # within the model's bounds
        key, value = variation.split("=")
        assert key in tunable_fields(strategy) and str(params[key]) == value
        seen.add(variation)
    assert len(seen) == 8


def test_variation_at_a_bound_moves_the_other_way():
    params, variation = vary_params("orderFlow", {"imbalanceThreshold": "0.95", "depthLevels": 50}, 0)
    assert variation == "depthLevels=45" and params["imbalanceThreshold"] == "0.95"


def test_clone_names_do_not_grow_with_generations():
    first = clone_name("btc-momo", 1, {"a": 1})
    second = clone_name(first, 2, {"a": 2})
    assert first.startswith("btc-momo-g1-") and second.startswith("btc-momo-g2-")
    assert len(clone_name("x" * 80, 3, {})) == 63


def test_breakers():
    policy = FloorPolicy()
    pnl, capital = floor_pnl([(1000.0, -40.0), (1000.0, -60.0), (1000.0, None)])
    assert (pnl, capital) == (-100.0, 3000.0)
    assert open_breakers(FloorSignals(daily_pnl=pnl, capital=capital), policy) == ()
    assert open_breakers(FloorSignals(daily_pnl=-150, capital=3000), policy) == ("DailyLoss",)
    assert open_breakers(FloorSignals(api_requests=10, api_errors=10), policy) == ()  # too few requests
    assert open_breakers(FloorSignals(api_requests=100, api_errors=25, database_reachable=False), policy) == (
        "ApiErrorRate",
        "DatabaseUnreachable",
    )
