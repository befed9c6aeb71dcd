"""``floor collector`` as its own process (what a collector Pod runs): it publishes the series'
market events to Redis, archives them, serves its health as Prometheus metrics, stops cleanly on
SIGTERM and exits non-zero on a fatal error."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tradingfloor.services.embedded import free_port

BIN = Path(sys.executable).parent


async def _metrics(port: int) -> str:
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as resp:
            return await resp.text()
    except aiohttp.ClientError:
        return ""


def _value(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))


async def test_collector_publishes_serves_metrics_and_stops_on_sigterm(redis_url, db_url, tmp_path):
    from tradingfloor.persistence.migrate import migrate
    from tradingfloor.sim.model import SimConfig
    from tradingfloor.sim.server import start_simulator

    await migrate(db_url)
    start_ms = (int(time.time() * 1000) // 900_000) * 900_000
    sim = await start_simulator("127.0.0.1", 0, SimConfig(seed=2, start_ms=start_ms), 60)
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": db_url,
        "METRICS_PORT": str(port),
        "POLYMARKET_GAMMA_URL": sim.url,
        "POLYMARKET_CLOB_URL": sim.url,
        "POLYMARKET_WS_URL": sim.market_ws_url,
        "POLYMARKET_SPOT_WS_URL": sim.spot_ws_url,
    }
    log = open(tmp_path / "collector.log", "wb")
    proc = subprocess.Popen(
        [str(BIN / "floor"), "collector", "--asset", "btc", "--interval", "15m"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        text = ""
        while _value(text, "tradingfloor_collector_events_published_total") < 1:
            assert proc.poll() is None, (tmp_path / "collector.log").read_text()[-2000:]
            assert time.monotonic() < deadline, (
                "no event published: " + (tmp_path / "collector.log").read_text()[-2000:]
            )
            await asyncio.sleep(0.5)
            text = await _metrics(port)
        assert _value(text, "tradingfloor_collector_up") == 1
        assert _value(text, "tradingfloor_market_frames_total") >= 1
        assert 'series="btc-15m"' in text
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        await sim.stop()


def test_collector_without_redis_exits_non_zero(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    result = subprocess.run(
        [str(BIN / "floor"), "collector", "--asset", "btc", "--metrics-port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "REDIS_URL" in result.stderr


def test_collector_rejects_an_unknown_asset():
    result = subprocess.run(
        [str(BIN / "floor"), "collector", "--asset", "doge"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "doge" in result.stderr
