"""Fixtures for the market-data tests: a real simulator server on a loopback port."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from tradingfloor.sim.model import SimConfig
from tradingfloor.sim.server import start_simulator

# a round of 15 simulated minutes passes in 3 wall seconds
FAST = 300.0


def fast_config(**kw) -> SimConfig:
    kw.setdefault("assets", ("BTC",))
    kw.setdefault("resolution_delay_ms", 5_000)
    return SimConfig(**kw)


@pytest.fixture
async def sim():
    handle = await start_simulator("127.0.0.1", 0, fast_config(seed=11), speed=FAST)
    yield handle
    await handle.stop()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def sim_book(http: aiohttp.ClientSession, base: str, token: str) -> dict:
    async with http.get(f"{base}/sim/book", params={"token_id": token}) as r:
        assert r.status == 200, await r.text()
        return await r.json()


def levels(book) -> dict:
    """An OrderBook as the same string form /sim/book returns."""
    return {
        "bids": [[str(p), str(s)] for p, s in book.bids()],
        "asks": [[str(p), str(s)] for p, s in book.asks()],
    }


async def wait_for(pred, timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        await asyncio.sleep(interval)
    return pred()


async def books_match_when_paused(http, base: str, stream, tokens: list[str], settle: float = 0.25) -> None:
    """Freeze simulated time, let the client drain, and require identical books."""
    async with http.post(f"{base}/sim/pause") as r:
        assert r.status == 200
    try:
        await asyncio.sleep(settle)
        for tok in tokens:
            ours = stream.book(tok)
            assert ours is not None, f"client has no book for {tok[:12]}"
            theirs = await sim_book(http, base, tok)
            mine = levels(ours)
            assert mine["bids"] == theirs["bids"] and mine["asks"] == theirs["asks"], (tok[:12], mine, theirs)
            assert ours.bids() and ours.asks(), "a live round's book should have both sides"
    finally:
        async with http.post(f"{base}/sim/resume") as r:
            assert r.status == 200
