"""Mean reversion: spot rose by more than ``thresholdBps`` over ``lookbackSeconds`` → buy Down; fell → buy Up.

The bet is that a large short-term move overshoots and partly reverts before the round settles.
Strength = |move| / threshold.
"""

from __future__ import annotations

from tradingfloor.market.events import Asset
from tradingfloor.strategies.momentum import MomentumStrategy
from tradingfloor.strategies.params import MeanReversionParams


class MeanReversionStrategy(MomentumStrategy):
    name = "meanReversion"
    follow = False

    def __init__(self, params: MeanReversionParams, asset: Asset) -> None:
        super().__init__(params, asset)
