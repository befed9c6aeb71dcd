"""A real local floor in the test's event loop: simulator, collector, agent OS processes, supervisor."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
import yaml

from floor_boss.local.floor import Floor, FloorOptions
from tradingfloor.decisions import FloorPolicy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class RunningFloor:
    def __init__(self, floor: Floor, task: asyncio.Task, state_dir: Path) -> None:
        self.floor, self.task, self.state_dir = floor, task, state_dir

    @property
    def supervisor(self):
        return self.floor.supervisor

    async def wait_for(self, predicate, timeout: float, what: str, interval: float = 0.25):
        """Poll an async predicate until it returns something truthy; fail naming ``what``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if self.task.done():
                self.task.result()  # surface the floor's own error
                raise AssertionError(f"the floor stopped while waiting for {what}")
            if self.floor.supervisor is None:  # still starting its services
                await asyncio.sleep(interval)
                continue
            result = await predicate()
            if result:
                return result
            await asyncio.sleep(interval)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")

    async def stop(self) -> dict:
        self.floor.stopping.set()
        return await asyncio.wait_for(self.task, timeout=60)


@pytest.fixture
async def start_floor(tmp_path, db_url, redis_url):
    """``await start_floor(["momentum-btc.yaml"], pattern=..., policy=...)`` → RunningFloor."""
    running: list[RunningFloor] = []

    async def start(
        manifests: list[str | dict],
        *,
        pattern: str = "none",
        speed: float = 60.0,
        policy: FloorPolicy | None = None,
        agent_env: dict | None = None,
    ) -> RunningFloor:
        folder = tmp_path / "manifests"
        folder.mkdir(exist_ok=True)
        for manifest in manifests:  # an example's file name, or a manifest of the test's own
            if isinstance(manifest, str):
                shutil.copy(EXAMPLES / manifest, folder / manifest)
            else:
                (folder / f"{manifest['metadata']['name']}.yaml").write_text(yaml.safe_dump(manifest))
        options = FloorOptions(
            manifests=folder,
            state_dir=tmp_path / "var",
            speed=speed,
            pattern=pattern,
            dashboard=False,
            database_url=db_url,
            redis_url=redis_url,
            policy=policy or FloorPolicy(),
            agent_env={
                "HEARTBEAT_INTERVAL": "2",
                "CHECKPOINT_INTERVAL": "2",
                "TRADER_REPORT_INTERVAL": "2",
                **(agent_env or {}),
            },
        )
        floor = Floor(options)
        handle = RunningFloor(floor, asyncio.create_task(floor.run()), options.state_dir)
        running.append(handle)
        return handle

    yield start
    for handle in running:
        if not handle.task.done():
            handle.floor.stopping.set()
        # the floor's own shutdown stops its agent processes
        await asyncio.wait({handle.task}, timeout=60)
