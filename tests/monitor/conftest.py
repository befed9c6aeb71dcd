from __future__ import annotations

import pytest

from tradingfloor.persistence.migrate import migrate


@pytest.fixture
async def floor_db(db_url):
    """A fresh database with the floor's schema."""
    await migrate(db_url)
    return db_url
