"""Which speed class a test is in: ``unit`` (pure code: no server, no process), ``integration``
(PostgreSQL, Redis, the simulator, the CLOB stub, helm, agent processes) or ``e2e`` (the operator
under the Kubernetes API emulator, the whole local floor).

Assigned from the fixtures a test uses, what its module imports (a module that can start a server
or a process puts all its tests in ``integration``) and the directory it is in
(``tests/conftest.py`` applies it at collection), so a new test is classed by what it touches
without anyone remembering a marker. A marker written on a test wins.
``make test-fast`` runs ``-m unit``; ``make test`` runs everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath
from types import ModuleType

SPEED_MARKERS = ("unit", "integration", "e2e")

E2E_FIXTURES = frozenset({"emulator", "running_operator", "start_floor", "floor_process"})
INTEGRATION_FIXTURES = frozenset(
    {
        "pg_server",
        "pg_base_url",
        "db_url",
        "own_pg",
        "redis_server",
        "redis_url",
        "agent",
        "agent_env",
        "clob_stub",
        "live_settings",
        "sim",
        "http",
        "sim_book",
        "helm",
        "promtool",
        "rendered",
        "audit_db",
        "floor_db",
    }
)
# modules whose import means the test module starts servers or processes of its own
SERVER_MODULES = (
    "subprocess",
    "aiohttp",
    "websockets",
    "kopf",
    "psutil",
    "tradingfloor.sim.server",
    "tradingfloor.services",
    "floor_boss.local",
    "tests.brokers.clob_stub",
)
E2E_DIRS = frozenset({"e2e", "operator"})
# whole directories whose tests start processes or servers without asking for a fixture
INTEGRATION_DIRS = frozenset({"integration", "chart", "architecture"})


def imported_modules(namespace: dict[str, object]) -> set[str]:
    """The modules a test module's globals come from (imported modules, functions and classes)."""
    found = set()
    for value in namespace.values():
        name = value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", None)
        if isinstance(name, str):
            found.add(name)
    return found


def starts_servers(modules: Iterable[str]) -> bool:
    return any(m == s or m.startswith(s + ".") for m in modules for s in SERVER_MODULES)


def speed_marker(
    test_path: PurePath, fixtures: Iterable[str], tests_root: PurePath, modules: Iterable[str] = ()
) -> str:
    """The one speed marker of the test at ``test_path`` that uses ``fixtures`` and whose module
    imports from ``modules``."""
    used = set(fixtures)
    parts = test_path.relative_to(tests_root).parts
    directory = parts[0] if len(parts) > 1 else ""
    if directory in E2E_DIRS or used & E2E_FIXTURES:
        return "e2e"
    if directory in INTEGRATION_DIRS or used & INTEGRATION_FIXTURES or starts_servers(modules):
        return "integration"
    return "unit"
