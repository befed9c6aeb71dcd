"""What the end-to-end run must show, read through kubectl only: the same checks on the emulated
cluster (tests/e2e/test_cluster_floor.py) and on a real one (scripts/kind-e2e.sh).

    python -m tests.e2e.assertions --namespace trading-floor --kill kind:<node container> \\
        [--kubectl kubectl] [--timeout 240]

Each check waits (polling kubectl) until it holds or the shared deadline passes; every check runs
even when an earlier one failed, and the run ends with one summary line and the list of failures.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tests.e2e.support.tools import Kubectl

T = TypeVar("T")
AGENT_LABEL = "tradingfloor.dev/agent"
COLLECTOR_SELECTOR = "app.kubernetes.io/name=trading-floor,app.kubernetes.io/component=collector"
# Test-own traders (tests/e2e/manifests/): a short lookback so both trade most rounds; on a momentum
# market the Floor Boss should clone the first and retire the second.
WINNER, LOSER = "e2e-momentum", "e2e-contrarian"
KILLED = "volume-spike-eth"  # from examples/: its process is SIGKILLed and must come back
EDITED = "mean-reversion-btc"  # from examples/: its params are changed and its Pod must follow
SPEC_GENERATION = "tradingfloor.dev/spec-generation"


@dataclass
class Report:
    collectors: int = 0
    traders: int = 0
    trades: int = 0
    restarts: int = 0
    respecced: int = 0
    clones: int = 0
    retired: int = 0
    failures: list[str] = field(default_factory=list)

    def line(self, seconds: float) -> str:
        return (
            f"e2e: collectors {self.collectors}, traders {self.traders}, trades {self.trades}, "
            f"restarts {self.restarts}, spec changes {self.respecced}, clones {self.clones}, retired {self.retired} in {seconds:.0f} s"
        )


class Deadline:
    """The run's overall deadline; each wait may also have a shorter limit of its own."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def wait(
        self, check: Callable[[], T | None], what: str, interval: float = 2.0, limit: float | None = None
    ) -> T:
        end = self.end if limit is None else min(self.end, time.monotonic() + limit)
        last_error = ""
        while True:
            try:
                value = check()
            except (AssertionError, subprocess.SubprocessError, ValueError, KeyError) as exc:
                value, last_error = None, str(exc)[:300]
            if value:
                return value
            if time.monotonic() > end:
                raise AssertionError(
                    f"timed out waiting for {what}" + (f" (last error: {last_error})" if last_error else "")
                )
            time.sleep(interval)


def _running(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and not pod["metadata"].get(
        "deletionTimestamp"
    )


def _series(trader: dict[str, Any]) -> str:
    market = trader["spec"].get("market") or {}
    return f"{str(market.get('asset', '')).lower()}-{market.get('interval', '15m')}"


def check_collectors(k: Kubectl, deadline: Deadline, report: Report) -> None:
    """One Running collector Pod per market series an Active trader needs (CONTRACT.md)."""

    def ready() -> dict[str, dict[str, Any]] | None:
        needed = {
            _series(t)
            for t in k.items("traderagents")
            if (t["spec"].get("lifecycle") or "Active") == "Active"
        }
        pods = {p["metadata"]["name"]: p for p in k.items("pods", "-l", COLLECTOR_SELECTOR)}
        running = {n: p for n, p in pods.items() if _running(p)}
        wanted = {f"collector-{s}" for s in needed}
        if not needed or not wanted <= set(running):
            return None
        for name in wanted:
            labels = running[name]["metadata"].get("labels") or {}
            assert labels.get("tradingfloor.dev/series") == name.removeprefix("collector-"), labels
            command = running[name]["spec"]["containers"][0].get("command") or []
            assert command[:2] == ["floor", "collector"], command
        return {n: running[n] for n in wanted}

    report.collectors = len(
        deadline.wait(ready, "one Running collector Pod per series of the Active traders", limit=60)
    )


def check_uninstalled(k: Kubectl, deadline: Deadline) -> int:
    """After the release is deleted (``helm uninstall``): the cluster's garbage collector removes the
    collector Pods, whose owner is the operator's Deployment. Returns how many there were."""
    before = len(k.items("pods", "-l", COLLECTOR_SELECTOR))
    deadline.wait(
        lambda: not k.items("pods", "-l", COLLECTOR_SELECTOR),
        "the collector Pods to be garbage-collected with the operator's Deployment",
        interval=1.0,
    )
    return before


def agent_pod(k: Kubectl, agent: str) -> dict[str, Any] | None:
    pods = [p for p in k.items("pods", "-l", f"{AGENT_LABEL}={agent}") if _running(p)]
    return pods[0] if len(pods) == 1 else None


def check_restart(
    k: Kubectl, deadline: Deadline, report: Report, kill: Callable[[dict[str, Any]], None]
) -> None:
    """SIGKILL the agent's process: the Floor Boss notices the failed Pod, waits its backoff, starts a
    new Pod, counts the restart and says so in Events."""
    pod = deadline.wait(lambda: agent_pod(k, KILLED), f"a Running Pod of {KILLED}", limit=60)
    before = int(
        ((k.json("get", "traderagent", KILLED).get("status") or {}).get("restarts") or {}).get("total") or 0
    )
    kill(pod)

    def restarted() -> int | None:
        status = k.json("get", "traderagent", KILLED).get("status") or {}
        total = int((status.get("restarts") or {}).get("total") or 0)
        new = agent_pod(k, KILLED)
        return (
            total
            if total > before and new is not None and new["metadata"]["uid"] != pod["metadata"]["uid"]
            else None
        )

    total = deadline.wait(
        restarted, f"{KILLED} restarted in a new Pod after its process was SIGKILLed", limit=60
    )
    events = k.items("events", "--field-selector", f"involvedObject.name={KILLED}")
    reasons = {e.get("reason") for e in events}
    assert {"BackOff", "Restarted"} <= reasons, f"Events of {KILLED}: {sorted(r for r in reasons if r)}"
    backoff = [e for e in events if e.get("reason") == "BackOff"]
    assert any("137" in (e.get("message") or "") or "-9" in (e.get("message") or "") for e in backoff), [
        e.get("message") for e in backoff
    ]
    report.restarts = total


def check_spec_change(k: Kubectl, deadline: Deadline, report: Report) -> None:
    """Change an agent's params with kubectl: the Floor Boss replaces its Pod with one for the new
    generation (an agent reads its spec when it starts), says SpecChanged, and counts no restart."""
    pod = deadline.wait(lambda: agent_pod(k, EDITED), f"a Running Pod of {EDITED}", limit=60)
    before = k.json("get", "traderagent", EDITED)
    restarts = int(((before.get("status") or {}).get("restarts") or {}).get("total") or 0)
    threshold = int((before["spec"].get("params") or {}).get("thresholdBps", 100)) + 7
    k.run(
        "patch",
        "traderagent",
        EDITED,
        "--type",
        "merge",
        "-p",
        json.dumps({"spec": {"params": {"thresholdBps": threshold}}}),
    )
    generation = str(k.json("get", "traderagent", EDITED)["metadata"]["generation"])

    def replaced() -> dict[str, Any] | None:
        new = agent_pod(k, EDITED)
        if new is None or new["metadata"]["uid"] == pod["metadata"]["uid"]:
            return None
        return new if (new["metadata"].get("annotations") or {}).get(SPEC_GENERATION) == generation else None

    deadline.wait(replaced, f"{EDITED} running in a Pod for generation {generation}", limit=60)
    events = k.items("events", "--field-selector", f"involvedObject.name={EDITED}")
    assert any(e.get("reason") == "SpecChanged" for e in events), sorted(
        {str(e.get("reason")) for e in events}
    )
    status = k.json("get", "traderagent", EDITED).get("status") or {}
    assert int((status.get("restarts") or {}).get("total") or 0) == restarts, status.get("restarts")
    report.respecced += 1


def check_trades(k: Kubectl, deadline: Deadline, report: Report) -> None:
    def traded() -> list[dict[str, Any]] | None:
        traders = k.items("traderagents")
        counts = {
            t["metadata"]["name"]: int(((t.get("status") or {}).get("performance") or {}).get("trades") or 0)
            for t in traders
        }
        return traders if counts.get(WINNER, 0) > 0 and counts.get(LOSER, 0) > 0 else None

    traders = deadline.wait(traded, f"status.performance.trades > 0 on {WINNER} and {LOSER}")
    report.traders = sum(
        1 for t in traders if ((t.get("status") or {}).get("performance") or {}).get("trades")
    )
    report.trades = sum(
        int(((t.get("status") or {}).get("performance") or {}).get("trades") or 0) for t in traders
    )


def check_evolution(k: Kubectl, deadline: Deadline, report: Report) -> None:
    """Some trader cloned with lineage (a `Cloned` Event on its parent) and some trader retired. The
    test-own pair (WINNER, LOSER) is built to get there first; on a few trades any of the floor's
    traders may, so the check names none."""

    def decided() -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        traders = k.items("traderagents")
        clones = [t for t in traders if (t["spec"].get("lineage") or {}).get("parent")]
        retired = [t for t in traders if t["spec"].get("lifecycle") == "Retired"]
        return (clones, retired) if clones and retired else None

    clones, retired = deadline.wait(decided, "a cloned trader and a retired one", interval=3)
    clone = clones[0]
    lineage = clone["spec"]["lineage"]
    parent = k.json("get", "traderagent", lineage["parent"])
    assert lineage.get("generation") == 1 and lineage.get("variation"), lineage
    assert clone["spec"]["params"] != parent["spec"]["params"], "a clone varies its parent's parameters"
    events = k.items("events", "--field-selector", f"involvedObject.name={lineage['parent']}")
    reasons = {e.get("reason") for e in events}
    assert "Cloned" in reasons, f"Events of {lineage['parent']}: {sorted(r for r in reasons if r)}"
    report.clones, report.retired = len(clones), len(retired)


def check_columns(k: Kubectl, report: Report) -> None:
    """`kubectl get traderagents` shows every printer column filled for a trader that traded."""
    lines = k.run("get", "traderagents").stdout.splitlines()
    header = lines[0].split()
    for column in ("STRATEGY", "MARKET", "MODE", "PHASE", "PNL", "WINRATE", "TRADES", "RESTARTS", "AGE"):
        assert column in header, f"column {column} missing from {header}"
    rows = {line.split()[0]: line for line in lines[1:]}
    row = rows.get(WINNER, "")
    cells = row.split()
    assert len(cells) >= len(header) - 2, f"empty columns in: {row!r} (header {header})"
    assert cells[header.index("TRADES")] not in ("", "0", "<none>"), row


def check_no_churn(k: Kubectl) -> None:
    """Nothing but the spec edit started an agent again: no Pod was replaced for a template change
    (the Floor Boss was not reconfigured during the run), none for a spec change but EDITED's."""
    again = [
        (e.get("reason"), e["involvedObject"]["name"])
        for e in k.items("events")
        if e.get("reason") in ("TemplateChanged", "SpecChanged")
    ]
    assert sorted(set(again)) in ([], [("SpecChanged", EDITED)]), again


def run_all(k: Kubectl, kill: Callable[[dict[str, Any]], None], seconds: float) -> Report:
    report = Report()
    deadline = Deadline(seconds)
    checks: list[tuple[str, Callable[[], None]]] = [
        ("restart", lambda: check_restart(k, deadline, report, kill)),
        ("spec change", lambda: check_spec_change(k, deadline, report)),
        ("collectors", lambda: check_collectors(k, deadline, report)),
        ("trades", lambda: check_trades(k, deadline, report)),
        ("evolution", lambda: check_evolution(k, deadline, report)),
        ("columns", lambda: check_columns(k, report)),
        ("no churn", lambda: check_no_churn(k)),
    ]
    for name, check in checks:
        try:
            check()
        except AssertionError as exc:
            report.failures.append(f"{name}: {exc}")
    # the summary counts the floor as it ended, clones' trades included
    performance = [((t.get("status") or {}).get("performance") or {}) for t in k.items("traderagents")]
    trades = [int(p.get("trades") or 0) for p in performance]
    report.traders, report.trades = sum(1 for n in trades if n), sum(trades)
    return report


# --- how to SIGKILL an agent's process ---------------------------------------------------------------


def kill_from_pid_file(pids: Path) -> Callable[[dict[str, Any]], None]:
    """The process kubelet records each Pod's process id in ``<workdir>/pids/<ns>.<pod>.pid``."""

    def kill(pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        os.kill(int((pids / f"{meta['namespace']}.{meta['name']}.pid").read_text()), signal.SIGKILL)

    return kill


def kill_in_kind_node(node: str) -> Callable[[dict[str, Any]], None]:
    """On kind: find the container's main process through crictl inside the node and SIGKILL it."""

    def kill(pod: dict[str, Any]) -> None:
        name = pod["metadata"]["name"]
        script = (
            f"cid=$(crictl ps -q --label io.kubernetes.pod.name={name} | head -n1) && "
            'kill -9 "$(crictl inspect --output go-template --template "{{.info.pid}}" "$cid")"'
        )
        subprocess.run(["docker", "exec", node, "sh", "-c", script], check=True, timeout=60)

    return kill


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--kubectl", default="kubectl")
    parser.add_argument("--kill", required=True, help="kind:<node container> or pids:<folder>")
    parser.add_argument("--timeout", type=float, default=240.0)
    parser.add_argument(
        "--after-uninstall", action="store_true", help="only check that the release left no collector Pods"
    )
    args = parser.parse_args(argv)
    how, _, where = args.kill.partition(":")
    kill = kill_in_kind_node(where) if how == "kind" else kill_from_pid_file(Path(where))
    cache = Path(os.environ.get("KUBECACHEDIR", Path.home() / ".kube" / "cache"))
    if args.after_uninstall:
        check_uninstalled(Kubectl(args.kubectl, None, args.namespace, cache), Deadline(args.timeout))
        print("no collector Pods left after uninstall")
        return 0
    started = time.monotonic()
    report = run_all(Kubectl(args.kubectl, None, args.namespace, cache), kill, args.timeout)
    for failure in report.failures:
        print(f"FAILED {failure}", file=sys.stderr)
    print(json.dumps({"failures": report.failures}) if report.failures else "all checks passed")
    print(report.line(time.monotonic() - started))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
