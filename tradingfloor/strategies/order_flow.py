"""Order-flow imbalance: on the Up token's book, (bid depth − ask depth) / (bid + ask depth) over the
best ``depthLevels`` levels; beyond +``imbalanceThreshold`` buy Up, beyond −threshold buy Down.
Resting depth leaning one way shows where liquidity providers expect the price to go.
Strength = |imbalance| / threshold.
"""

from __future__ import annotations

from tradingfloor.market.events import Asset, MarketInfo
from tradingfloor.strategies.base import MarketView, Strategy
from tradingfloor.strategies.intent import Intent
from tradingfloor.strategies.params import OrderFlowParams


class OrderFlowStrategy(Strategy[OrderFlowParams]):
    name = "orderFlow"
    wants_books = True
    gated_books = True

    def __init__(self, params: OrderFlowParams, asset: Asset) -> None:
        super().__init__(params, asset)
        self.levels = params.depthLevels
        self.threshold = float(params.imbalanceThreshold)

    def entry_books(self, info: MarketInfo) -> frozenset[str]:
        return frozenset((info.up_token_id,))  # on_book reads the Up book of the round it may enter

    def on_book(self, token_id: str, view: MarketView) -> Intent | None:
        # this runs on every book event: a book of the round already entered (most of a round's
        # events) is refused before the current round is even looked up
        if token_id in self.entered_books:
            return None
        info = self.entry_market(view)
        if info is None or token_id != info.up_token_id:
            return None
        book = view.book(token_id)
        if book is None:
            return None
        bid = float(sum(s for _, s in book.bids()[: self.levels]))
        ask = float(sum(s for _, s in book.asks()[: self.levels]))
        if bid + ask <= 0:
            return None
        imbalance = (bid - ask) / (bid + ask)
        if abs(imbalance) < self.threshold:
            return None
        return self.enter(
            info,
            "Up" if imbalance > 0 else "Down",
            abs(imbalance) / self.threshold,
            view,
            f"book imbalance {imbalance:+.2f} over {self.levels} levels",
        )
