"""Fixtures for the persistence tests: a migrated database and a Database wrapper on it."""

from __future__ import annotations

import pytest

from tradingfloor.persistence.db import Database
from tradingfloor.persistence.migrate import migrate


@pytest.fixture
async def migrated_url(db_url):
    await migrate(db_url)
    return db_url


@pytest.fixture
async def db(migrated_url):
    database = Database(migrated_url)
    yield database
    await database.close()
