"""Peak RSS of a paper trader process: what the agent entry loads is imported (``floor_agents.entry``,
what the local floor and a Pod run, then the trader's entry module), a runtime is started with a
file-backed store, and two simulated hours of BTC events run through it. Prints the resident set
after imports and at the end, and the private (unshared) part: shared libraries and the
interpreter's text are counted in every process's RSS but are in memory once per machine.

Run it on an installed venv whose bytecode is compiled (``make install`` compiles it): without
.pyc files, with PYTHONDONTWRITEBYTECODE set as in the agent image, every import compiles its
source and the heap keeps about 7 MiB more.

Run: .venv/bin/python benchmarks/bench_trader_rss.py [hours]   (target: ≤ 45 MiB)
     .venv/bin/python benchmarks/bench_trader_rss.py --process [seconds]
     .venv/bin/python benchmarks/bench_trader_rss.py --imports
The second form starts the real command (``python -m floor_agents trader``, as the local floor does, with
examples/momentum-btc.yaml, an embedded Redis, the file store, its metrics server on) and reads
the process's memory after it has been up that long (no market feed: an idle, subscribed trader).
The third imports what the trader loads in a fresh interpreter, one library at a time in the
trader's order, then what a trader in a Pod adds (``--resource``: its Kubernetes calls), and prints
the resident set each adds (a library shared by two steps counts in the
first: redis-py brings importlib.metadata).
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent_image"))


def rss_mib() -> float:
    """Current resident set (Linux /proc), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def private_mib() -> float:
    """Private (unshared) resident memory, in MiB: what one more trader process adds."""
    kib = 0
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            kib += int(line.split()[1])
    return kib / 1024


def proc_mib(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM and private memory of process ``pid``, in MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = int(line.split()[1]) / 1024
    private = sum(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        if line.startswith(("Private_Clean:", "Private_Dirty:"))
    )
    out["private"] = private / 1024
    return out


def real_process(seconds: float) -> None:
    from tradingfloor.services.embedded import EmbeddedRedis

    repo = Path(__file__).resolve().parents[1]
    state = Path(tempfile.mkdtemp(prefix="tf-rss-proc-"))
    server = EmbeddedRedis(state / "redis").start()
    with socket.socket() as s:  # a free port for the trader's metrics server
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "REDIS_URL": server.url, "FLOOR_STATE_DIR": str(state), "FLOOR_AGENT_NAME": "rss"}
    env.pop("DATABASE_URL", None)
    cmd = [sys.executable, "-m", "floor_agents", "trader"]
    cmd += ["--manifest", str(repo / "examples" / "momentum-btc.yaml"), "--metrics-port", str(port)]
    with open(state / "trader.log", "wb") as log:
        proc = subprocess.Popen(cmd, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(seconds)
        if proc.poll() is not None:
            raise SystemExit(
                f"the trader exited ({proc.returncode}): {(state / 'trader.log').read_text()[-2000:]}"
            )
        m = proc_mib(proc.pid)
        print(
            f"real trader process after {seconds:g} s: RSS {m['VmRSS']:.1f} MiB, peak {m['VmHWM']:.1f} MiB, "
            f"private {m['private']:.1f} MiB (target ≤ 45 MiB); load average {os.getloadavg()[0]:.2f}"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        server.destroy()
        shutil.rmtree(state, ignore_errors=True)


# What a trader process imports, grouped by library, in the order the trader loads them.
IMPORT_STEPS: list[tuple[str, list[str]]] = [
    ("asyncio (with ssl)", ["asyncio"]),
    ("structlog and the redacting log chain", ["tradingfloor.observability.logging"]),
    ("redis-py (with importlib.metadata)", ["redis.asyncio"]),
    ("prometheus-client", ["prometheus_client"]),
    ("PyYAML", ["yaml"]),
    ("msgspec", ["msgspec", "msgspec.json"]),
    (
        "the trader's custom-resource model",
        ["tradingfloor.models.manifests", "tradingfloor.models.trader_agent"],
    ),
    (
        "the trader's own code",
        ["floor_agents.entry", "floor_agents.trader.main", "floor_agents.trader.agent"],
    ),
]

# What a trader in a Pod loads on top (--resource: its custom resource read and its status written
# with tradingfloor.kube_rest; kubernetes_asyncio's client would add ~45 MiB with aiohttp).
POD_STEPS: list[tuple[str, list[str]]] = [
    (
        "in a Pod: its resource read, its status written",
        ["tradingfloor.kube_rest", "tradingfloor.status.kubernetes"],
    ),
]

IMPORT_PROBE = """
import importlib, json, sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
rows = [("interpreter", rss(), len(sys.modules))]
for label, modules in json.loads(sys.argv[1]):
    for name in modules:
        importlib.import_module(name)
    rows.append((label, rss(), len(sys.modules)))
print(json.dumps(rows))
"""


def import_breakdown() -> None:
    import json

    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, json.dumps(IMPORT_STEPS + POD_STEPS)],
        cwd=repo / "agent_image",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    previous = 0.0
    for label, rss, modules in json.loads(out):
        print(f"{rss:6.1f} MiB  +{rss - previous:4.1f}  {modules:4d} modules  {label}")
        previous = rss
    print(f"load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--imports":
        import_breakdown()
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--process":
        real_process(float(sys.argv[2]) if len(sys.argv) > 2 else 20.0)
        return
    hours = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    base = rss_mib()
    import floor_agents.entry
    import floor_agents.trader.main  # noqa: F401 - everything the trader process loads

    after_import = rss_mib()
    from floor_agents.trader.agent import TraderRuntime
    from floor_agents.trader.store import TraderStore
    from tradingfloor.models.trader_agent import TraderAgentSpec
    from tradingfloor.settings import Settings
    from tradingfloor.sim.model import SimConfig, simulate
    from tradingfloor.structs import parse

    spec = parse(TraderAgentSpec, dict(strategy="momentum", market={"asset": "BTC", "interval": "15m"}))
    state = Path(tempfile.mkdtemp(prefix="tf-rss-"))

    async def run() -> int:
        runtime = await TraderRuntime.start(
            "rss", spec, Settings(state_dir=state), TraderStore(None, state, "rss")
        )
        n = 0
        for ev in simulate(SimConfig(seed=2, assets=("BTC",), pattern="momentum"), int(hours * 3_600_000)):
            await runtime.on_event(ev, 0)
            n += 1
        await runtime.stop()
        return n

    n = asyncio.run(run())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"interpreter: {base:.1f} MiB; after the trader's imports: {after_import:.1f} MiB")
    print(
        f"trader RSS after {n:,} events ({hours:g} h): {rss_mib():.1f} MiB, peak {peak:.1f} MiB (target ≤ 45 MiB)"
    )
    print(f"private (unshared) memory: {private_mib():.1f} MiB; modules loaded: {len(sys.modules)}")


if __name__ == "__main__":
    main()
