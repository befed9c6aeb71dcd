"""Technical pattern: EMA crossover on spot bars of ``barSeconds``. When the fast EMA
(``fastPeriod`` bars) crosses above the slow EMA (``slowPeriod``), buy Up; below, buy Down.
A crossover marks a change of short-term trend. Signals need ``slowPeriod`` bars of warm-up.
Strength = 1 + |fast − slow| / slow in bps (capped at 2).
"""

from __future__ import annotations

from typing import Any

from tradingfloor.market.events import Asset, Outcome, SpotTick
from tradingfloor.strategies.base import MarketView, Strategy
from tradingfloor.strategies.intent import Intent
from tradingfloor.strategies.params import TechnicalPatternParams


class TechnicalPatternStrategy(Strategy[TechnicalPatternParams]):
    name = "technicalPattern"

    def __init__(self, params: TechnicalPatternParams, asset: Asset) -> None:
        super().__init__(params, asset)
        if params.fastPeriod >= params.slowPeriod:
            raise ValueError(
                f"fastPeriod ({params.fastPeriod}) must be below slowPeriod ({params.slowPeriod})"
            )
        self.bar_ms = params.barSeconds * 1000
        self.alpha_fast = 2.0 / (params.fastPeriod + 1)
        self.alpha_slow = 2.0 / (params.slowPeriod + 1)
        self.warmup = params.slowPeriod
        self.bar: int | None = None
        self.close = 0.0
        self.fast: float | None = None
        self.slow: float | None = None
        self.bars = 0

    def on_spot(self, tick: SpotTick, view: MarketView) -> Intent | None:
        bar = tick.ts_ms // self.bar_ms
        signal: Outcome | None = None
        if self.bar is not None and bar != self.bar:
            signal = self._close_bar()
        self.bar = bar
        self.close = float(tick.price)
        fast, slow = self.fast, self.slow
        if signal is None or fast is None or slow is None:
            return None
        info = self.entry_market(view)
        if info is None:
            return None
        gap_bps = abs(fast - slow) / slow * 10_000.0
        return self.enter(
            info,
            signal,
            min(2.0, 1.0 + gap_bps),
            view,
            f"EMA{self.params.fastPeriod} crossed {'above' if signal == 'Up' else 'below'} "
            f"EMA{self.params.slowPeriod}",
        )

    def _close_bar(self) -> Outcome | None:
        fast, slow = self.fast, self.slow
        if fast is None or slow is None:
            self.fast = self.slow = self.close
            self.bars = 1
            return None
        before = fast - slow
        fast += self.alpha_fast * (self.close - fast)
        slow += self.alpha_slow * (self.close - slow)
        self.fast, self.slow = fast, slow
        self.bars += 1
        after = fast - slow
        if self.bars <= self.warmup:
            return None
        if before <= 0 < after:
            return "Up"
        if before >= 0 > after:
            return "Down"
        return None

    def _signal_state(self) -> dict[str, Any]:
        return {"bar": self.bar, "close": self.close, "fast": self.fast, "slow": self.slow, "bars": self.bars}

    def _load_signal_state(self, state: dict[str, Any]) -> None:
        self.bar = state.get("bar")
        self.close = state.get("close", 0.0)
        self.fast = state.get("fast")
        self.slow = state.get("slow")
        self.bars = state.get("bars", 0)
