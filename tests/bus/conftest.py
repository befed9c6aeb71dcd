from __future__ import annotations

import pytest

from tradingfloor.bus.client import connect


@pytest.fixture
async def redis(redis_url):
    client = await connect(redis_url)
    yield client
    await client.aclose()
