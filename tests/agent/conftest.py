"""Fixtures for trader-agent tests: a manifest that trades often on the simulated market, the agent
as a real subprocess (killed at the end whatever happens), and the Redis feed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

MANIFEST = """\
apiVersion: tradingfloor.dev/v1alpha1
kind: TraderAgent
metadata: {name: %(name)s}
spec:
  strategy: momentum
  market: {asset: BTC, interval: 15m}
  params: {lookbackSeconds: 5, thresholdBps: 1, maxEntryPrice: "0.90", minSecondsToClose: 30}
  risk: {capital: "1000", riskPerTradeBps: 100, maxPositionBps: 5000, maxConcurrentTrades: 3,
         dailyLossLimitBps: 10000, maxDrawdownBps: 10000, maxConsecutiveLosses: 1000}
  mode: paper
"""


@pytest.fixture
def manifest(tmp_path) -> Path:
    path = tmp_path / "trader.yaml"
    path.write_text(MANIFEST % {"name": "chaos-trader"})
    return path


class AgentProcess:
    def __init__(self, manifest: Path, env: dict[str, str], log_dir: Path) -> None:
        self.manifest = manifest
        self.env = env
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, metrics_port: int = 0) -> None:
        self.starts += 1
        log = (self.log_dir / f"agent-{self.starts}.log").open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "floor_agents",  # what the local floor runs (a Pod runs the same as floor-agent)
                "trader",
                "-f",
                str(self.manifest),
                "--metrics-port",
                str(metrics_port),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def log_text(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.log_dir.glob("agent-*.log")))


@pytest.fixture
def agent_env(db_url, redis_url, tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLYMARKET_", "FLOOR_"))}
    env.update(
        DATABASE_URL=db_url,
        REDIS_URL=redis_url,
        FLOOR_STATE_DIR=str(tmp_path / "state"),
        CHECKPOINT_INTERVAL="1",
        HEARTBEAT_INTERVAL="1",
        TRADER_REPORT_INTERVAL="2",
        LOG_LEVEL="INFO",
        PYTHONPATH=f"{REPO}:{REPO / 'agent_image'}",
    )
    return env


@pytest.fixture
def agent(manifest, agent_env, tmp_path):
    proc = AgentProcess(manifest, agent_env, tmp_path)
    yield proc
    proc.terminate()


async def wait_for(predicate, timeout: float, interval: float = 0.1):
    """Poll an async predicate until it returns a truthy value or ``timeout`` passes."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
