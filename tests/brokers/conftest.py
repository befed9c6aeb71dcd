"""Fixtures for broker tests: a throwaway signing key (never a real one) and the local CLOB stub."""

from __future__ import annotations

import base64

import pytest
from eth_account import Account

from tests.brokers.clob_stub import ClobStub
from tradingfloor.settings import Settings


@pytest.fixture(scope="session")
def throwaway_key() -> str:
    return Account.create().key.hex()


@pytest.fixture
def clob_stub(throwaway_key):
    stub = ClobStub(
        api_key="test-api-key", signer_address=Account.from_key(throwaway_key).address, late_s=0.8
    ).start()
    yield stub
    stub.stop()


@pytest.fixture
def live_settings(clob_stub, throwaway_key) -> Settings:
    """Every live key turned, pointed at the stub."""
    return Settings(
        allow_live_trading=True,
        polymarket_api_key="test-api-key",
        polymarket_secret=base64.urlsafe_b64encode(b"s" * 32).decode(),
        polymarket_passphrase="test-passphrase",
        polymarket_private_key=throwaway_key,
        clob_url=clob_stub.url,
    )
