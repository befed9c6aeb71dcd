"""Reading and writing the typed records (tradingfloor.structs): the API server's typing, exact
decimals, errors that name the field, and a round trip that loses nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradingfloor.decimal_fields import DecimalStr
from tradingfloor.decisions.policy import FloorPolicy
from tradingfloor.models.common import Condition
from tradingfloor.models.trader_agent import Risk, TraderAgent, TraderAgentSpec, TraderAgentStatus
from tradingfloor.strategies.params import OrderFlowParams
from tradingfloor.structs import ModelError, dump, parse

SPEC = {"strategy": "orderFlow", "market": {"asset": "BTC"}}


def test_integers_as_the_api_server_reads_them():
    assert parse(Risk, {"maxConcurrentTrades": 5.0}).maxConcurrentTrades == 5  # JSON cannot tell 5 from 5.0
    for bad in ("5", True, 5.5):
        with pytest.raises(ModelError) as err:
            parse(Risk, {"maxConcurrentTrades": bad})
        assert err.value.path == "maxConcurrentTrades"


def test_decimals_are_strings_within_their_bounds():
    risk = parse(Risk, {"capital": "2500.50"})
    assert risk.capital == Decimal("2500.50") and isinstance(risk.capital, Decimal)
    for bad, words in [
        (2500, "written as a string"),
        (0.5, "written as a string"),
        ("1e3", "written as a string"),
        ("NaN", "written as a string"),
        ("0.5", "between 1 and 100000000"),
    ]:
        with pytest.raises(ModelError, match=words) as err:
            parse(Risk, {"capital": bad})
        assert err.value.path == "capital"


def test_errors_name_the_nested_field_and_the_allowed_values():
    with pytest.raises(ModelError) as err:
        parse(TraderAgentSpec, {**SPEC, "market": {"asset": "DOGE"}})
    assert str(err.value) == "market.asset: Invalid enum value 'DOGE': expected one of 'BTC', 'ETH'"
    with pytest.raises(ModelError, match=r"^risk: Object contains unknown field `capitl`$"):
        parse(TraderAgentSpec, {**SPEC, "risk": {"capitl": "10"}})
    with pytest.raises(ModelError) as err:  # a rule of the whole spec: no narrower path
        parse(TraderAgentSpec, {**SPEC, "params": {"depthLevels": 0}})
    assert str(err.value) == "params are not valid for strategy orderFlow: depthLevels: Expected `int` >= 1"
    deep: dict[str, object] = {}
    for _ in range(100_000):  # deeper than Python's recursion limit
        deep = {"x": deep}
    with pytest.raises(ModelError, match=r"^params\[\.\.\.\]: Expected `int \| str`, got `object`$"):
        parse(TraderAgentSpec, {**SPEC, "params": deep})
    with pytest.raises(ModelError, match="^metadata.annotations must map strings to strings$"):
        parse(TraderAgent, {"spec": SPEC, "metadata": {"name": "a", "annotations": deep}})


def test_a_cross_field_rule_reports_the_object_it_spans():
    with pytest.raises(ModelError) as err:
        parse(
            TraderAgentSpec, {**SPEC, "restartPolicy": {"backoffBaseSeconds": 600, "backoffCapSeconds": 60}}
        )
    assert err.value.path == "restartPolicy"
    assert "backoffBaseSeconds (600) must not exceed backoffCapSeconds (60)" in err.value.problem


def test_dump_writes_plain_decimal_strings_and_utc_times():
    status = TraderAgentStatus(
        sizeMultiplier=DecimalStr(Decimal("5E-1")),
        conditions=[
            Condition(
                type="Ready",
                status="True",
                reason="Running",
                lastTransitionTime=datetime(2026, 1, 2, tzinfo=UTC),
            )
        ],
    )
    data = dump(status)
    assert data["sizeMultiplier"] == "0.5"  # never "5E-1", which the CRD's pattern refuses
    assert data["conditions"][0]["lastTransitionTime"] == "2026-01-02T00:00:00Z"
    assert "podName" in data and "podName" not in dump(status, exclude_none=True)
    assert set(dump(status, include={"phase", "sizeMultiplier"})) == {"phase", "sizeMultiplier"}


@given(
    capital=st.decimals(min_value=1, max_value=100_000_000, places=2, allow_nan=False, allow_infinity=False),
    trades=st.integers(min_value=1, max_value=100),
    threshold=st.decimals(min_value=Decimal("0.05"), max_value=Decimal("0.95"), places=3),
)
def test_a_spec_survives_a_round_trip(capital: Decimal, trades: int, threshold: Decimal):
    raw = {
        **SPEC,
        "params": {"imbalanceThreshold": format(threshold, "f")},
        "risk": {"capital": format(capital, "f"), "maxConcurrentTrades": trades},
    }
    spec = parse(TraderAgentSpec, raw)
    again = parse(TraderAgentSpec, dump(spec))
    assert again == spec and again.risk.capital == capital
    params = spec.strategy_params
    assert isinstance(params, OrderFlowParams) and params.imbalanceThreshold == threshold


def test_the_floor_policy_refuses_unknown_and_out_of_range_settings():
    assert parse(FloorPolicy, {"max_children": 2, "reduce_factor": 1}).reduce_factor == 1.0
    with pytest.raises(ModelError, match="unknown field `max_kids`"):
        parse(FloorPolicy, {"max_kids": 2})
    with pytest.raises(ModelError) as err:
        parse(FloorPolicy, {"reduce_factor": 0})
    assert err.value.path == "reduce_factor"
