from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from tradingfloor.brokers import LiveBroker, LiveTradingRefused, make_broker, missing_live_keys
from tradingfloor.models.trader_agent import TraderAgentSpec
from tradingfloor.settings import Settings
from tradingfloor.structs import parse
from tradingfloor.trading.ledger import Ledger
from tradingfloor.trading.paper_broker import PaperBroker

CREDS: dict[str, Any] = dict(
    polymarket_api_key="k",
    polymarket_secret="c2VjcmV0",
    polymarket_passphrase="p",
    polymarket_private_key="0x" + "11" * 32,
)


def spec(mode: str) -> TraderAgentSpec:
    extra = {"credentialsSecretRef": {"name": "pm-keys"}} if mode == "live" else {}
    return parse(TraderAgentSpec, dict(strategy="momentum", market={"asset": "BTC"}, mode=mode, **extra))


def test_paper_mode_gets_the_paper_broker_even_with_every_floor_key():
    broker = make_broker(spec("paper"), Settings(allow_live_trading=True, **CREDS), Ledger(D(100)))
    assert type(broker) is PaperBroker


@pytest.mark.parametrize(
    "settings, named",
    [
        (Settings(allow_live_trading=False, **CREDS), "FLOOR_ALLOW_LIVE_TRADING"),
        (Settings(allow_live_trading=True), "credentials are missing"),
        (
            Settings(allow_live_trading=True, **{**CREDS, "polymarket_passphrase": None}),
            "POLYMARKET_PASSPHRASE",
        ),
    ],
)
def test_live_mode_without_every_key_is_refused_naming_the_missing_one(settings, named):
    with pytest.raises(LiveTradingRefused) as err:
        make_broker(spec("live"), settings, Ledger(D(100)))
    assert named in str(err.value)
    assert len(err.value.missing) == 1


def test_every_missing_key_is_named():
    missing = missing_live_keys(spec("paper"), Settings())
    assert len(missing) == 3
    assert "spec.mode is 'paper'" in missing[0]


def test_all_keys_turned_gives_the_live_broker(live_settings):
    broker = make_broker(spec("live"), live_settings, Ledger(D(100)))
    assert isinstance(broker, LiveBroker)
    assert broker.client.host == live_settings.clob_url
