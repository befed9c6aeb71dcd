"""A real local floor in the test's event loop: simulator, collector, agent OS processes, supervisor."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
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


def lenient_trader(name: str, strategy: str = "momentum", asset: str = "BTC") -> dict:
    """A trader that trades most rounds (short lookback, low threshold), so tests see fills fast."""
    return {
        "apiVersion": "tradingfloor.dev/v1alpha1",
        "kind": "TraderAgent",
        "metadata": {"name": name},
        "spec": {
            "strategy": strategy,
            "market": {"asset": asset, "interval": "15m"},
            "params": {"lookbackSeconds": 120, "thresholdBps": 15, "maxEntryPrice": "0.90"},
            "risk": {"capital": "1000", "riskPerTradeBps": 200},
            # straight to Production: the Testing stage's quarter size is below the market's 5-share minimum
            "evaluation": {"testingPeriodHours": 0},
        },
    }


class FloorProcess:
    """``floor up`` as a real OS process with its own embedded PostgreSQL and Redis, as a user runs it
    (piped output, so one plain line per message)."""

    def __init__(self, state_dir: Path, manifests: Path, speed: float = 30.0) -> None:
        self.state_dir, self.manifests, self.speed = state_dir, manifests, speed
        self.proc: subprocess.Popen | None = None
        self.out = state_dir.parent / "floor-up.out"

    def start(self, *args: str) -> FloorProcess:
        env = {
            k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "FLOOR_STATE_DIR")
        }
        env.update(HEARTBEAT_INTERVAL="2", CHECKPOINT_INTERVAL="2", TRADER_REPORT_INTERVAL="2")
        env["FLOOR_STOP_WITH_PARENT"] = "1"  # a test run that dies takes its floor along
        self.offset = self.out.stat().st_size if self.out.exists() else 0
        with self.out.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "tradingfloor.cli", "up", "--state-dir", str(self.state_dir)),
                    *("-f", str(self.manifests), "--speed", str(self.speed), "--no-dashboard", *args),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        return self

    def output(self) -> str:
        """What this run printed so far."""
        return self.out.read_bytes()[self.offset :].decode(errors="replace")

    def services(self) -> dict:
        try:
            return json.loads((self.state_dir / "services.json").read_text())
        except (OSError, ValueError):
            return {}

    def recorded_pids(self) -> dict[str, int]:
        info = self.services()
        return {n: e["pid"] for n, e in {**info.get("services", {}), **info.get("agents", {})}.items()}

    def wait_for(self, predicate, timeout: float, what: str, interval: float = 0.5, alive: bool = True):
        """Poll ``predicate`` until truthy; fails naming ``what`` (at once if ``alive`` and the floor exited)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            if alive and self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"floor up exited ({self.proc.returncode}) waiting for {what}:\n{self.output()}"
                )
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}:\n{self.output()[-3000:]}")

    def wait_for_line(self, text: str, timeout: float = 120) -> str:
        return self.wait_for(lambda: text in self.output() and self.output(), timeout, repr(text))

    def running_agents(self, count: int, timeout: float = 120) -> dict[str, int]:
        """Wait until ``count`` agent processes are recorded; returns instance → pid."""

        def agents():
            found = self.services().get("agents", {})
            return {n: e["pid"] for n, e in found.items()} if len(found) >= count else None

        return self.wait_for(agents, timeout, f"{count} running agents")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def query(self, sql: str, *args):
        """Run one query on the floor's database (while the floor runs)."""
        import asyncpg

        async def go():
            conn = await asyncpg.connect(self.services()["database_url"])
            try:
                return await conn.fetch(sql, *args)
            finally:
                await conn.close()

        return asyncio.run(go())

    def kill(self) -> None:
        """Teardown: a clean stop if the floor still runs, then SIGKILL to whatever is left of it —
        its process group (it runs in a session of its own) and every PID it recorded."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(timeout=10)
        from tradingfloor.services.lifetime import command_line, process_alive

        info = self.services()
        for entry in {**info.get("services", {}), **info.get("agents", {})}.values():
            # only a process that still is what was recorded (its mark in its command line), never
            # a reused PID
            pid, mark = int(entry.get("pid", -1)), str(entry.get("match", ""))
            if mark and process_alive(pid) and mark in command_line(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)


def processes_mentioning(text: str) -> list[int]:
    """PIDs of live processes whose command line contains ``text`` (the process table check)."""
    from tradingfloor.services.lifetime import command_line, process_alive

    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and text in command_line(int(entry.name)) and process_alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


@pytest.fixture
def floor_process(tmp_path):
    """``floor_process(manifests...)`` → a FloorProcess (not started) over a manifest folder of its own."""
    made: list[FloorProcess] = []

    def make(*manifests: str | dict, speed: float = 30.0) -> FloorProcess:
        folder = tmp_path / "manifests"
        folder.mkdir(exist_ok=True)
        for manifest in manifests:
            if isinstance(manifest, str):
                shutil.copy(EXAMPLES / manifest, folder / manifest)
            else:
                (folder / f"{manifest['metadata']['name']}.yaml").write_text(yaml.safe_dump(manifest))
        made.append(FloorProcess(tmp_path / "var", folder, speed))
        return made[-1]

    yield make
    for floor in made:
        floor.kill()
