"""Volume spike: when spot volume per second over ``windowSeconds`` reaches ``spikeMultiple`` × its
rate over ``baselineSeconds`` and spot moved at least ``minMoveBps`` in that window, buy the side of
the move. Heavy volume behind a move suggests informed flow that continues.
Strength = (volume ratio / spikeMultiple) capped at 2.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from tradingfloor.market.events import Asset, SpotTick
from tradingfloor.strategies.base import MarketView, Strategy
from tradingfloor.strategies.intent import Intent
from tradingfloor.strategies.params import VolumeSpikeParams


class VolumeSpikeStrategy(Strategy[VolumeSpikeParams]):
    name = "volumeSpike"

    def __init__(self, params: VolumeSpikeParams, asset: Asset) -> None:
        super().__init__(params, asset)
        self.window_ms = params.windowSeconds * 1000
        self.baseline_ms = params.baselineSeconds * 1000
        self.multiple = float(params.spikeMultiple)
        self.min_move = float(params.minMoveBps)
        self.recent: deque[tuple[int, float, float]] = deque()  # (ts, volume, price) in the short window
        self.baseline: deque[tuple[int, float]] = deque()  # (ts, volume) in the baseline
        self.recent_sum = 0.0
        self.baseline_sum = 0.0
        self.first_ms: int | None = None

    def on_spot(self, tick: SpotTick, view: MarketView) -> Intent | None:
        ts, vol, price = tick.ts_ms, float(tick.volume), float(tick.price)
        if self.first_ms is None:
            self.first_ms = ts
        self.recent.append((ts, vol, price))
        self.baseline.append((ts, vol))
        self.recent_sum += vol
        self.baseline_sum += vol
        while self.recent and self.recent[0][0] <= ts - self.window_ms:
            self.recent_sum -= self.recent.popleft()[1]
        while self.baseline and self.baseline[0][0] <= ts - self.baseline_ms:
            self.baseline_sum -= self.baseline.popleft()[1]
        if ts - self.first_ms < self.baseline_ms or self.baseline_sum <= 0:
            return None
        ratio = (self.recent_sum / self.window_ms) / (self.baseline_sum / self.baseline_ms)
        if ratio < self.multiple:
            return None
        move = (price / self.recent[0][2] - 1.0) * 10_000.0
        if abs(move) < self.min_move or move == 0:
            return None
        info = self.entry_market(view)
        if info is None:
            return None
        return self.enter(
            info,
            "Up" if move > 0 else "Down",
            min(2.0, ratio / self.multiple),
            view,
            f"volume {ratio:.1f}x baseline, spot {move:+.1f} bps",
        )

    def _signal_state(self) -> dict[str, Any]:
        return {
            "recent": [list(r) for r in self.recent],
            "baseline": [list(b) for b in self.baseline],
            "first_ms": self.first_ms,
        }

    def _load_signal_state(self, state: dict[str, Any]) -> None:
        self.recent = deque((int(t), float(v), float(p)) for t, v, p in state.get("recent", []))
        self.baseline = deque((int(t), float(v)) for t, v in state.get("baseline", []))
        self.recent_sum = sum(v for _, v, _ in self.recent)
        self.baseline_sum = sum(v for _, v in self.baseline)
        self.first_ms = state.get("first_ms")
