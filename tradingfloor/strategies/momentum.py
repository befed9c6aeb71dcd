"""Momentum: spot rose by at least ``thresholdBps`` over ``lookbackSeconds`` → buy Up; fell → buy Down.

The bet is that a move inside a 15-minute round tends to continue to the round's end.
Strength = |move| / threshold.
"""

from __future__ import annotations

from typing import Any

from tradingfloor.market.events import Asset, SpotTick
from tradingfloor.strategies.base import MarketView, SpotWindow, Strategy
from tradingfloor.strategies.intent import Intent
from tradingfloor.strategies.params import MeanReversionParams, MomentumParams


class MomentumStrategy(Strategy[MomentumParams | MeanReversionParams]):
    name = "momentum"
    follow = True  # mean reversion is the same signal, traded the other way

    def __init__(self, params: MomentumParams | MeanReversionParams, asset: Asset) -> None:
        super().__init__(params, asset)
        self.window = SpotWindow(params.lookbackSeconds * 1000)
        self.threshold = float(params.thresholdBps)

    def on_spot(self, tick: SpotTick, view: MarketView) -> Intent | None:
        self.window.push(tick.ts_ms, float(tick.price))
        move = self.window.change_bps()
        if move is None or abs(move) < self.threshold:
            return None
        info = self.entry_market(view)
        if info is None:
            return None
        up = (move > 0) == self.follow
        return self.enter(
            info,
            "Up" if up else "Down",
            abs(move) / self.threshold,
            view,
            f"spot moved {move:+.1f} bps in {self.params.lookbackSeconds}s",
        )

    def _signal_state(self) -> dict[str, Any]:
        return {"window": self.window.to_json()}

    def _load_signal_state(self, state: dict[str, Any]) -> None:
        self.window.load(state.get("window", []))
