"""How fast the local floor starts, stops on Ctrl-C, and goes away when killed.

Runs `floor up` (embedded PostgreSQL and Redis, the simulator, one trader, auditor and monitor) in a
temporary state folder three times and prints:
  - start:   seconds from launch until every agent process runs
  - sigint:  seconds from SIGINT until `floor up` exited (and its exit code)
  - sigkill: seconds from SIGKILL of `floor up` until none of its recorded processes is alive

    .venv/bin/python benchmarks/bench_floor_stop.py
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tradingfloor.services.lifetime import process_alive

ROOT = Path(__file__).resolve().parents[1]


def _recorded(state: Path, floor_pid: int | None = None) -> dict[str, int]:
    try:
        info = json.loads((state / "services.json").read_text())
    except (OSError, ValueError):
        return {}
    if floor_pid is not None and info.get("pid") != floor_pid:
        return {}  # a killed floor's file, until the new floor has swept it
    return {n: e["pid"] for n, e in {**info.get("services", {}), **info.get("agents", {})}.items()}


def _launch(work: Path) -> tuple[subprocess.Popen, Path, float]:
    manifests = work / "manifests"
    manifests.mkdir(exist_ok=True)
    for name in ("momentum-btc.yaml", "auditor.yaml", "monitor.yaml"):
        shutil.copy(ROOT / "examples" / name, manifests / name)
    state = work / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradingfloor.cli", "up", "--state-dir", str(state), "-f", str(manifests)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    while len(_recorded(state, proc.pid)) < 5:
        if proc.poll() is not None:
            raise SystemExit(f"floor up exited with {proc.returncode} before its agents ran")
        time.sleep(0.1)
    return proc, state, time.monotonic() - started


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tf-bench-floor-") as tmp:
        work = Path(tmp)
        proc, state, start_s = _launch(work)
        print(f"start (fresh state folder): {start_s:.1f} s until 3 agents, PostgreSQL and Redis ran")
        time.sleep(10)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=120)
        print(f"sigint: exit code {code} after {time.monotonic() - sent:.1f} s")

        proc, state, start_s = _launch(work)
        print(f"start (resume): {start_s:.1f} s")
        time.sleep(10)
        pids = _recorded(state)
        sent = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        while any(process_alive(p) for p in pids.values()):
            time.sleep(0.05)
        print(f"sigkill: all {len(pids)} children gone {time.monotonic() - sent:.1f} s after the kill")

        proc, state, start_s = _launch(work)
        print(f"start (after a kill): {start_s:.1f} s")
        proc.send_signal(signal.SIGTERM)
        print(f"sigterm: exit code {proc.wait(timeout=120)}")


if __name__ == "__main__":
    main()
