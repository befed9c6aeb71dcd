"""Brokers behind one interface: the paper broker (``tradingfloor.trading.paper_broker``) and the
guarded live broker over Polymarket's CLOB client; :func:`make_broker` chooses.

The live broker's module is loaded on first use: importing the CLOB client costs about a second,
which a paper agent's restart should not pay.
"""

from tradingfloor.brokers.factory import make_broker
from tradingfloor.brokers.guard import LiveTradingRefused, missing_live_keys, require_live_allowed

__all__ = [
    "LiveBroker",
    "LiveTradingRefused",
    "Submission",
    "make_broker",
    "missing_live_keys",
    "require_live_allowed",
]


def __getattr__(name: str):
    if name in ("LiveBroker", "Submission"):
        from tradingfloor.brokers import live

        return getattr(live, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
