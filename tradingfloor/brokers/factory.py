"""Pick the broker for an agent: paper unless the manifest asks for live; live only with every key."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tradingfloor.brokers.guard import require_live_allowed
from tradingfloor.settings import Settings
from tradingfloor.trading.ledger import Ledger
from tradingfloor.trading.paper_broker import BrokerConfig, PaperBroker

if TYPE_CHECKING:  # the CLOB client and its signing stack take ~1 s to import: only live agents pay it
    from py_clob_client_v2 import ClobClient

    from tradingfloor.brokers.live import Submission


def clob_client(
    settings: Settings, *, signature_type: int | None = None, funder: str | None = None
) -> ClobClient:
    """An L2 (order-placing) client from the settings' Polymarket credentials."""
    from py_clob_client_v2 import ClobClient
    from py_clob_client_v2.clob_types import ApiCreds

    creds = ApiCreds(
        api_key=settings.polymarket_api_key,
        api_secret=settings.polymarket_secret,
        api_passphrase=settings.polymarket_passphrase,
    )
    return ClobClient(
        host=settings.clob_url,
        chain_id=settings.polymarket_chain_id,
        key=settings.polymarket_private_key,
        creds=creds,
        signature_type=signature_type,
        funder=funder,
    )


def user_ws_url(settings: Settings) -> str:
    """The venue's authenticated user channel: the market channel's sibling (``…/ws/user``)."""
    base, sep, _ = settings.market_ws_url.rstrip("/").rpartition("/")
    return f"{base}/user" if sep else settings.market_ws_url


def make_broker(
    spec,
    settings: Settings,
    ledger: Ledger,
    *,
    config: BrokerConfig | None = None,
    journal: Callable[[Submission], None] | None = None,
    request_timeout_s: float = 5.0,
    signature_type: int | None = None,
    funder: str | None = None,
    user_ws_url: str | None = None,
) -> PaperBroker:
    """The paper broker for ``mode: paper``. For ``mode: live`` the live broker, or
    :class:`~tradingfloor.brokers.guard.LiveTradingRefused` naming each missing key — a live
    manifest never silently trades on paper. With ``user_ws_url`` the live broker takes fills from
    the venue's user channel there (a consumer thread started here), REST reconciliation backing it."""
    if spec.mode != "live":
        return PaperBroker(ledger, config)
    require_live_allowed(spec, settings)
    from tradingfloor.brokers.live import LiveBroker

    client = clob_client(settings, signature_type=signature_type, funder=funder)
    broker = LiveBroker(ledger, client, config=config, journal=journal, request_timeout_s=request_timeout_s)
    if user_ws_url:
        from tradingfloor.brokers.user_channel import UserChannel

        broker.attach_user_channel(
            UserChannel(
                user_ws_url,
                settings.polymarket_api_key or "",
                settings.polymarket_secret or "",
                settings.polymarket_passphrase or "",
            ).start()
        )
    return broker
