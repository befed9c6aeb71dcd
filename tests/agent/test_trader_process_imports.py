"""A paper trader process loads only what it needs: what ``floor agent trader`` imports (the CLI and
the trader's entry module) leaves out the live-trading client, Kubernetes, the operator, the
pretty-printing library structlog would pull in for tracebacks the JSON log chain never uses, and
the PostgreSQL driver while its store is file-backed (no DATABASE_URL).

Run in a fresh interpreter, because this test process has imported much more already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

NOT_FOR_A_PAPER_TRADER = (
    "rich",  # structlog's console tracebacks; hidden while structlog loads
    "pygments",
    "py_clob_client",  # the live venue client: only a live broker needs it
    "kubernetes_asyncio",  # only when the trader reads its manifest from the cluster
    "kopf",
    "aiohttp",
    "asyncpg",  # the PostgreSQL driver: loaded when a connection is opened, never by a file-backed store
)

PROBE = """
import json, sys
import tradingfloor.cli
import floor_agents.trader.main
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def _probe(code: str, *args: str, timeout: float) -> str:
    """What ``code`` prints, run in a fresh interpreter from the agent image's folder."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO / "agent_image",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    ).stdout


def test_trader_entry_leaves_out_what_a_paper_trader_does_not_use():
    out = _probe(PROBE, timeout=120)
    loaded = set(json.loads(out))
    assert {"tradingfloor", "floor_agents", "structlog", "redis"} <= loaded  # the probe did import
    assert loaded.isdisjoint(NOT_FOR_A_PAPER_TRADER), sorted(loaded & set(NOT_FOR_A_PAPER_TRADER))


# Beyond the imports: a file-backed runtime starts, trades simulated events, checkpoints and stops.
RUN_PROBE = """
import asyncio, json, sys, tempfile
from pathlib import Path
import tradingfloor.cli
from floor_agents.trader.agent import TraderRuntime
from floor_agents.trader.manifest import from_file
from floor_agents.trader.store import TraderStore
from tradingfloor.settings import Settings
from tradingfloor.sim.model import SimConfig, simulate

name, spec = from_file(Path(sys.argv[1]))
state = Path(tempfile.mkdtemp())

async def run():
    runtime = await TraderRuntime.start(name, spec, Settings(state_dir=state), TraderStore(None, state, name))
    n = 0
    for ev in simulate(SimConfig(seed=2, assets=("BTC",), pattern="momentum"), 20 * 60_000):
        await runtime.on_event(ev, 0)
        n += 1
    await runtime.checkpoint()
    await runtime.stop()
    return n

n = asyncio.run(run())
print(json.dumps({"events": n, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def test_a_file_backed_trader_runs_without_what_a_paper_trader_does_not_use():
    out = _probe(RUN_PROBE, str(REPO / "examples" / "momentum-btc.yaml"), timeout=300)
    result = json.loads(out.splitlines()[-1])
    assert result["events"] > 0
    loaded = set(result["modules"])
    assert loaded.isdisjoint(NOT_FOR_A_PAPER_TRADER), sorted(loaded & set(NOT_FOR_A_PAPER_TRADER))


def test_rich_stays_importable_after_logging_is_loaded():
    probe = "import tradingfloor.observability.logging, rich.console, sys; print('rich' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.strip() == "True"
