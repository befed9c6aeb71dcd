"""The archive's dead-letter table under the least-privilege roles: a collector logged in as a
trader's role (tf_trader) archives good rows and sets bad ones aside, and neither blocks the other."""

from __future__ import annotations

import uuid
from decimal import Decimal as D

import asyncpg

from tradingfloor.market.events import PriceChange
from tradingfloor.persistence.market_archive import PostgresSink
from tradingfloor.persistence.migrate import migrate


async def test_a_trader_role_archives_and_dead_letters(db_url):
    await migrate(db_url)
    role, password = f"md-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    admin = await asyncpg.connect(db_url)
    try:
        await admin.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
        await admin.execute(f'GRANT tf_trader TO "{role}"')
    finally:
        await admin.close()
    base, _, database = db_url.rpartition("/")
    scheme, _, rest = base.partition("://")
    sink = PostgresSink(f"{scheme}://{role}:{password}@{rest.rpartition('@')[2]}/{database}")
    good = PriceChange("m", "t", "BUY", D("0.5"), D("10"), 1_767_225_600_000)
    bad = PriceChange("m\x00", "t", "BUY", D("0.5"), D("10"), 1_767_225_600_000)  # text refuses NUL
    try:
        await sink.write([good, bad, good])
    finally:
        await sink.close()
    admin = await asyncpg.connect(db_url)
    try:
        assert await admin.fetchval("SELECT count(*) FROM market_data") == 2
        (row,) = await admin.fetch("SELECT kind, error, event FROM market_data_dead_letter")
        assert row["kind"] == "price_change" and row["error"]
        assert b"m\\x00" in bytes(row["event"])  # the refused row, kept with its bad value
    finally:
        await admin.close()
    assert sink.dead_lettered == 1
