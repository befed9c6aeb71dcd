"""A paper trader process loads only what it needs: what the agent entry (``floor-agent trader``,
``python -m floor_agents trader``: what Pods and the local floor run) imports leaves out the
live-trading client, Kubernetes, the operator, the pretty-printing library structlog would pull in
for tracebacks the JSON log chain never uses, the PostgreSQL driver while its store is file-backed
(no DATABASE_URL), the ``floor`` CLI (typer and every area's commands) and the models of the other
agent kinds.

Run in a fresh interpreter, because this test process has imported much more already.
"""

from __future__ import annotations

import json
import os
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
    "typer",  # the floor CLI: an agent process starts from floor_agents.entry (argparse)
    "click",
    "tradingfloor.cli",
    "floor_agents.commands",
    "floor_boss",  # the operator and the local floor's commands
    "tradingfloor.backtest",
    "tradingfloor.decisions",  # the kinds table builds every kind's models
    "tradingfloor.models.auditor",  # other kinds' models: imported when a manifest of that kind is read
    "tradingfloor.models.monitor",
    "pydantic",  # the models are msgspec Structs (tradingfloor.structs)
    "tradingfloor.models.params_rules",
    "redis.observability",  # redis-py 8's modules, imported unconditionally (pyproject pins <7.1)
    "redis.keyspace_notifications",
)


def _unwanted(modules: set[str]) -> list[str]:
    """The entries of NOT_FOR_A_PAPER_TRADER among ``modules`` (full module names)."""
    return sorted(
        name for name in NOT_FOR_A_PAPER_TRADER if any(m == name or m.startswith(name + ".") for m in modules)
    )


PROBE = """
import json, sys
import floor_agents.entry
import floor_agents.trader.main
print(json.dumps(sorted(sys.modules)))
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
    assert {"tradingfloor.models.trader_agent", "floor_agents.trader.agent", "structlog", "redis"} <= loaded
    assert _unwanted(loaded) == []


# Beyond the imports: a file-backed runtime starts, trades simulated events, checkpoints and stops.
RUN_PROBE = """
import asyncio, json, sys, tempfile
from pathlib import Path
import floor_agents.entry
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
print(json.dumps({"events": n, "modules": sorted(sys.modules)}))
"""


def test_a_file_backed_trader_runs_without_what_a_paper_trader_does_not_use():
    out = _probe(RUN_PROBE, str(REPO / "examples" / "momentum-btc.yaml"), timeout=300)
    result = json.loads(out.splitlines()[-1])
    assert result["events"] > 0
    assert _unwanted(set(result["modules"])) == []


# A trader in a Pod (--resource) reads its custom resource and writes its status over the standard
# library's HTTP client: kubernetes_asyncio's client (every generated API model) and aiohttp stay out.
# An Auditor keeping its chain head in a ConfigMap leaves out kubernetes_asyncio too (it serves its
# /metrics with aiohttp).
POD_PROBE = """
import asyncio, json, sys
from pathlib import Path
import floor_agents.entry
import floor_agents.trader.main
from floor_agents.trader.main import _status_sink
from floor_agents.trader.store import TraderStore
from tradingfloor import kube_rest

kube_rest.SERVICE_ACCOUNT = Path(sys.argv[1])  # where the kubelet would mount it
sink = _status_sink("btc-momo", "floor", TraderStore(None, Path(sys.argv[2]), "btc-momo"))
found = asyncio.run(kube_rest.endpoint())
trader = sorted(sys.modules)
import floor_agents.auditor.main, floor_agents.auditor.configmap_head
print(json.dumps({"sink": type(sink).__name__, "host": found.host, "modules": trader, "auditor": sorted(sys.modules)}))
"""


def test_a_trader_in_a_pod_leaves_out_kubernetes_asyncio(tmp_path):
    account = tmp_path / "account"
    account.mkdir()
    (account / "token").write_text("t")
    (account / "ca.crt").write_text("")
    env = {**os.environ, "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    env.pop("KUBECONFIG", None)
    env.pop("FLOOR_KUBE_SERVER", None)
    out = subprocess.run(
        [sys.executable, "-c", POD_PROBE, str(account), str(tmp_path)],
        cwd=REPO / "agent_image",
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    ).stdout
    result = json.loads(out.splitlines()[-1])
    assert (result["sink"], result["host"]) == ("KubernetesStatusSink", "https://10.96.0.1:443")
    loaded = set(result["modules"])
    assert not {m for m in loaded if m.split(".")[0] in ("kubernetes_asyncio", "aiohttp")}
    assert "floor_agents.auditor.configmap_head" in result["auditor"]
    assert not {m for m in result["auditor"] if m.split(".")[0] == "kubernetes_asyncio"}


def test_rich_stays_importable_after_logging_is_loaded():
    probe = "import tradingfloor.observability.logging, rich.console, sys; print('rich' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.strip() == "True"
