"""Brokers behind one interface: the paper broker (``tradingfloor.trading.paper_broker``) and the
guarded live broker over Polymarket's CLOB client; :func:`make_broker` chooses."""

from tradingfloor.brokers.factory import make_broker
from tradingfloor.brokers.guard import LiveTradingRefused, missing_live_keys, require_live_allowed
from tradingfloor.brokers.live import LiveBroker, Submission

__all__ = ["LiveBroker", "LiveTradingRefused", "Submission", "make_broker", "missing_live_keys", "require_live_allowed"]
