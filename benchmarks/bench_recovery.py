"""Recovery time of the local floor: from SIGKILL of a trader agent to its next order decision.

Runs a real local floor (embedded PostgreSQL and Redis, the simulator, a collector, the momentum
agent as an OS process), kills the agent with SIGKILL a few times, and reads from the agent's log
when the restarted process started and when it made its first decisions again ("trader.caught_up":
it has restored its checkpoint and run the strategy over the current market state).

    .venv/bin/python benchmarks/bench_recovery.py [--kills N]

Default backoff (restartPolicy.backoffBaseSeconds = 1 s) applies; the target is under 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _log_times(path: Path, event: str) -> list[float]:
    times = []
    for line in path.read_text().splitlines():
        if line.startswith("{") and f'"{event}"' in line:
            times.append(
                datetime.fromisoformat(json.loads(line)["timestamp"].replace("Z", "+00:00")).timestamp()
            )
    return times


async def main(kills: int) -> None:
    from floor_boss.local.floor import Floor, FloorOptions
    from tradingfloor.observability.logging import configure_logging

    configure_logging("WARNING")
    work = Path(tempfile.mkdtemp(prefix="tf-bench-recovery-"))
    (work / "manifests").mkdir()
    shutil.copy(ROOT / "examples" / "momentum-btc.yaml", work / "manifests")
    floor = Floor(
        FloorOptions(
            manifests=work / "manifests",
            state_dir=work / "var",
            speed=30,
            pattern="momentum",
            dashboard=False,
            agent_env={"HEARTBEAT_INTERVAL": "2"},
        )
    )
    task = asyncio.create_task(floor.run())
    log = work / "var" / "logs" / "momentum-btc.log"
    restart_s, started_s, decided_s = [], [], []
    try:
        for attempt in range(kills):
            pid = await _wait_running(floor, log, attempt + 1)
            killed = time.time()
            os.kill(pid, signal.SIGKILL)
            new_pid = await _wait_new_pid(floor, pid)
            restart_s.append(time.time() - killed)
            await _wait_log(log, "trader.caught_up", attempt + 2)
            started_s.append(_log_times(log, "trader.started")[attempt + 1] - killed)
            decided_s.append(_log_times(log, "trader.caught_up")[attempt + 1] - killed)
            print(
                f"kill {attempt + 1}: pid {pid} → {new_pid}; process restarted {restart_s[-1]:.2f}s, "
                f"trader started {started_s[-1]:.2f}s, next decision {decided_s[-1]:.2f}s after SIGKILL"
            )
    finally:
        floor.stopping.set()
        await asyncio.wait_for(task, 120)
        shutil.rmtree(work, ignore_errors=True)
    # kills follow each other within healthyResetSeconds, so the backoff doubles: 1 s, 2 s, 4 s …
    print(
        f"\nSIGKILL → next decision with the default 1 s backoff: {decided_s[0]:.2f}s (target < 5 s); "
        f"later kills in a row (backoff 2 s, 4 s …): {', '.join(f'{d:.2f}s' for d in decided_s[1:])}"
    )


async def _wait_running(floor, log: Path, starts: int) -> int:
    await _wait_log(log, "trader.caught_up", starts)
    for _ in range(600):
        sup = floor.supervisor
        states = sup.processes.poll() if sup else {}
        pids = [
            s.pid
            for name in (sup.instances.get("momentum-btc", ()) if sup else ())
            if (s := states.get(name)) and s.running
        ]
        if pids:
            return pids[0]
        await asyncio.sleep(0.1)
    raise TimeoutError("the agent never ran")


async def _wait_new_pid(floor, old: int) -> int:
    for _ in range(3000):
        sup = floor.supervisor
        states = sup.processes.poll()
        for name in sup.instances.get("momentum-btc", ()):
            s = states.get(name)
            if s and s.running and s.pid != old:
                return s.pid
        await asyncio.sleep(0.01)
    raise TimeoutError("the agent was not restarted within 30 s")


async def _wait_log(log: Path, event: str, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and len(_log_times(log, event)) >= count:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{event} #{count} never appeared in {log}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=3)
    asyncio.run(main(parser.parse_args().kills))
