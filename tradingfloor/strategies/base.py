"""What every strategy shares: the read-only market view it sees, entry timing, and the edge model.

A strategy is pure: events in, intents out. It keeps only its own signal state (exportable as
JSON for checkpoints) and emits at most one entry per round.

Edge model (how a strategy states its win probability for sizing): the market's own mid price of
the chosen outcome is the prior; a signal of strength s (1 = exactly at the threshold) adds
``EDGE_PER_STRENGTH × s`` up to ``MAX_EDGE``. Sizing then compares it with the price after fees,
so a weak signal at an expensive price sizes to zero.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar

from tradingfloor.market.book_view import BookView
from tradingfloor.market.events import Asset, MarketInfo, Outcome, SpotTick
from tradingfloor.strategies.intent import Intent
from tradingfloor.strategies.params import StrategyParams

EDGE_PER_STRENGTH = 0.04
MAX_EDGE = 0.10
_CENT = Decimal("0.0001")


class MarketView(Protocol):
    now_ms: int

    def current_market(self, asset: Asset) -> MarketInfo | None: ...

    def book(self, token_id: str) -> BookView | None: ...


P = TypeVar("P", bound=StrategyParams)  # the strategy's own parameter model


class Strategy(Generic[P]):
    name = ""
    wants_books = False  # True: the engine also calls on_book for the current round's books
    # True: on_book acts only on entry_books(info) while entry_market(view) is info, and keeps no
    # state between calls, so the engine calls it only then: the same intents, without a call per
    # book event outside the entry window (most of a round once the round is entered)
    gated_books = False

    def __init__(self, params: P, asset: Asset) -> None:
        self.params: P = params
        self.asset = asset
        self.last_entered: str | None = None  # market id of the round already entered
        # the token ids of round ``last_entered`` (empty when unknown, e.g. after a restore): token
        # ids are unique to their round, so a book of one of them never offers a new entry
        self.entered_books: frozenset[str] = frozenset()
        self._max_price = Decimal(params.maxEntryPrice)
        self._min_price = Decimal(params.minEntryPrice)
        self._from_open_ms = params.minSecondsFromOpen * 1000
        self._to_close_ms = params.minSecondsToClose * 1000

    def on_spot(self, tick: SpotTick, view: MarketView) -> Intent | None:
        return None

    def on_book(self, token_id: str, view: MarketView) -> Intent | None:
        return None

    def entry_books(self, info: MarketInfo) -> frozenset[str]:
        """With ``gated_books``: the tokens of round ``info`` whose book updates ``on_book`` reads."""
        return frozenset((info.up_token_id, info.down_token_id))

    def entry_market(self, view: MarketView) -> MarketInfo | None:
        """The round open for a new entry now, or None (too early, too late, already entered)."""
        info = view.current_market(self.asset)
        if info is None or info.market_id == self.last_entered:
            return None
        now = view.now_ms
        if now - info.start_ms < self._from_open_ms or info.end_ms - now < self._to_close_ms:
            return None
        return info

    def entry_window(self, info: MarketInfo) -> tuple[int, int]:
        """[opens, closes) in ms: the times at which ``entry_market`` may return round ``info``."""
        return info.start_ms + self._from_open_ms, info.end_ms - self._to_close_ms + 1

    def enter(
        self, info: MarketInfo, outcome: Outcome, strength: float, view: MarketView, reason: str
    ) -> Intent | None:
        book = view.book(info.token_of(outcome))
        mid = book.mid() if book is not None else None
        if mid is None or mid < self._min_price:  # a later signal in the round may still qualify
            return None
        p = min(0.99, float(mid) + min(MAX_EDGE, EDGE_PER_STRENGTH * strength))
        self.last_entered = info.market_id
        self.entered_books = frozenset((info.up_token_id, info.down_token_id))
        return Intent(
            info.market_id, outcome, "BUY", Decimal(p).quantize(_CENT), self._max_price, view.now_ms, reason
        )

    # --- checkpoint -------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"last_entered": self.last_entered, **self._signal_state()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.last_entered = state.get("last_entered")
        self.entered_books = frozenset()
        self._load_signal_state(state)

    def _signal_state(self) -> dict[str, Any]:
        return {}

    def _load_signal_state(self, state: dict[str, Any]) -> None:
        pass


class SpotWindow:
    """Spot prices over a trailing horizon; ``change_bps`` once the horizon is covered."""

    __slots__ = ("horizon_ms", "points")

    def __init__(self, horizon_ms: int) -> None:
        self.horizon_ms = horizon_ms
        self.points: deque[tuple[int, float]] = deque()

    def push(self, ts_ms: int, price: float) -> None:
        pts = self.points
        pts.append((ts_ms, price))
        cutoff = ts_ms - self.horizon_ms
        while len(pts) > 1 and pts[1][0] <= cutoff:
            pts.popleft()

    def change_bps(self) -> float | None:
        pts = self.points
        if not pts or pts[0][0] > pts[-1][0] - self.horizon_ms:
            return None  # not enough history yet
        return (pts[-1][1] / pts[0][1] - 1.0) * 10_000.0

    def to_json(self) -> list[list[float]]:
        return [[t, p] for t, p in self.points]

    def load(self, data: list[list[float]]) -> None:
        self.points = deque((int(t), float(p)) for t, p in data)
