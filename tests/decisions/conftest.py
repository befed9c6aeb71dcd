import pytest

from tradingfloor.decisions import FloorPolicy


@pytest.fixture
def policy() -> FloorPolicy:
    return FloorPolicy()
