"""Build a strategy from its name and parameters (as a TraderAgent manifest gives them)."""

from __future__ import annotations

from typing import Any

from tradingfloor.market.events import Asset
from tradingfloor.strategies.base import Strategy
from tradingfloor.strategies.mean_reversion import MeanReversionStrategy
from tradingfloor.strategies.momentum import MomentumStrategy
from tradingfloor.strategies.order_flow import OrderFlowStrategy
from tradingfloor.strategies.params import StrategyParams, parse_params
from tradingfloor.strategies.technical_pattern import TechnicalPatternStrategy
from tradingfloor.strategies.volume_spike import VolumeSpikeStrategy

STRATEGIES: dict[str, type[Strategy[Any]]] = {
    "momentum": MomentumStrategy,
    "meanReversion": MeanReversionStrategy,
    "volumeSpike": VolumeSpikeStrategy,
    "orderFlow": OrderFlowStrategy,
    "technicalPattern": TechnicalPatternStrategy,
}


def create_strategy(name: str, params: StrategyParams | dict[str, Any] | None, asset: Asset) -> Strategy[Any]:
    if not isinstance(params, StrategyParams):
        params = parse_params(name, params)
    return STRATEGIES[name](params, asset)  # parse_params already rejected unknown names
