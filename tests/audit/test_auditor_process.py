"""``floor agent auditor`` as a real process: it starts, serves /healthz and /metrics, writes
status.audit into the agents table, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import aiohttp

from tradingfloor.persistence.db import create_pool
from tradingfloor.persistence.repositories import upsert_agent
from tradingfloor.services.embedded import free_port

MANIFEST = """apiVersion: tradingfloor.dev/v1alpha1
kind: Auditor
metadata: {name: auditor-1}
spec: {checkIntervalSeconds: 1}
"""


async def test_auditor_process_runs_and_reports(audit_db, redis_url, tmp_path):
    manifest = tmp_path / "auditor.yaml"
    manifest.write_text(MANIFEST)
    pool = await create_pool(audit_db)
    await upsert_agent(pool, "auditor-1", "Auditor", {"checkIntervalSeconds": 1})
    port = free_port()
    env = {**os.environ, "DATABASE_URL": audit_db, "REDIS_URL": redis_url, "FLOOR_STATE_DIR": str(tmp_path)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tradingfloor.cli",
        "agent",
        "auditor",
        "-f",
        str(manifest),
        "--metrics-port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        status = {}
        try:
            async with asyncio.timeout(90):  # a loaded machine starts Python slowly
                while "audit" not in status:
                    if proc.returncode is not None:
                        break
                    await asyncio.sleep(0.3)
                    status = await pool.fetchval("SELECT status FROM agents WHERE name = 'auditor-1'")
        except TimeoutError:
            pass
        if "audit" not in status:
            proc.kill()
            _, err = await proc.communicate()
            raise AssertionError(f"the auditor never reported: {err.decode()[-3000:]}")
        assert (
            status["audit"]["tradesChecked"] == 0 and "chainHead" not in status["audit"]
        )  # None removes a key in a merge patch
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                assert r.status == 200
            async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
                assert "tradingfloor_heartbeat_timestamp_seconds" in await r.text()
    finally:
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            _, err = await proc.communicate()
        await pool.close()
    assert proc.returncode == 0, err.decode()[-2000:]
