"""``floor up`` as a real process, as a user runs it: Ctrl-C, a killed floor, lost services, resume,
manifests edited while it runs. Each floor has its own embedded PostgreSQL and Redis.

The outage length is short by default (seconds) so the suite stays fast; FLOOR_TEST_OUTAGE_S=60
runs the full minute the issue describes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
import yaml

from floor_boss.local.floor import ROUND_MS, resume_ms
from tests.floor.conftest import lenient_trader, processes_mentioning
from tradingfloor.services.lifetime import command_line, process_alive

OUTAGE_S = float(os.environ.get("FLOOR_TEST_OUTAGE_S", "8"))


def _fills(floor) -> int:
    return floor.query("SELECT count(*) AS n FROM fills")[0]["n"]


def _logged(log, event: str) -> dict | None:
    """The first JSON log line of ``event`` in an agent's log."""
    if not log.exists():
        return None
    for line in log.read_text().splitlines():
        if f'"{event}"' in line:
            return json.loads(line)
    return None


def _all_gone(pids) -> bool:
    return not any(process_alive(pid) for pid in pids)


@pytest.mark.timeout(720)  # two floors, each waiting for a fill, on a shared 2-core machine
def test_ctrl_c_stops_everything_and_the_resumed_floor_trades_again(floor_process):
    # `make up`'s speed: a round lasts 30 s, long enough for a loaded machine's traders to keep up
    floor = floor_process(lenient_trader("momentum-btc"), "auditor.yaml", "monitor.yaml", speed=30).start()
    floor.running_agents(3)
    floor.wait_for(lambda: _fills(floor) > 0, 180, "a first fill")
    pids = floor.recorded_pids()
    assert {"postgres", "redis"} <= set(pids) and len(pids) == 5

    assert floor.stop(signal.SIGINT, timeout=30) == 0  # the bound is 15 s; slack for a loaded CI
    said = floor.output()
    assert "Traceback" not in said and "floor stopped: 1 traders" in said
    assert _all_gone(pids.values()), "a recorded process outlived the floor"
    assert processes_mentioning(str(floor.state_dir)) == []  # the process table agrees
    assert not (floor.state_dir / "services.json").exists()
    stopped_at = int(json.loads((floor.state_dir / "market-clock.json").read_text())["ms"])

    # the next start is normal, continues the market clock and trades in the first round it opens
    floor.start()
    floor.running_agents(3)
    assert "previous floor" not in floor.output()
    assert "market clock resumed at" in floor.output()
    # The market continues from its stored clock (never behind it: the traders' restored clocks are
    # there), so the traders trade again instead of idling for as long as the last session ran.
    resumed_at = json.loads((floor.state_dir / "market-clock.json").read_text())["ms"]
    assert resumed_at >= stopped_at

    def new_fill():
        after = datetime.fromtimestamp(stopped_at / 1000, UTC)
        return floor.query("SELECT min(ts) AS ts FROM fills WHERE ts > $1", after)[0]["ts"]

    first = floor.wait_for(new_fill, 240, "a fill after the resume")
    # ... in the first round the resumed market opens (the market's clock waited for the trader)
    first_round_end = (-(-resume_ms(stopped_at) // ROUND_MS) + 1) * ROUND_MS
    assert first.timestamp() * 1000 < first_round_end, (first, first_round_end)
    assert floor.stop(signal.SIGTERM) == 0


def test_a_killed_floor_takes_its_children_along(floor_process):
    floor = floor_process(lenient_trader("momentum-btc"), "auditor.yaml", "monitor.yaml").start()
    floor.running_agents(3)
    pids = floor.recorded_pids()
    floor.proc.send_signal(signal.SIGKILL)
    floor.proc.wait()
    floor.wait_for(lambda: _all_gone(pids.values()), 10, "the killed floor's children to go", alive=False)

    floor.start("--for", "1s")
    agents = floor.running_agents(3)
    assert len(agents) == 3  # one auditor, one monitor, one trader: nothing twice
    assert floor.proc.wait(timeout=120) == 0
    assert "JournalLocked" not in (floor.state_dir / "logs" / "momentum-btc.log").read_text()


def test_the_next_start_stops_what_a_killed_floor_left_running(floor_process, tmp_path):
    """A PostgreSQL started off the main thread has no parent-death signal, like one a floor from
    another version left behind; a recorded agent PID is still running. The next start stops both."""
    floor = floor_process(lenient_trader("momentum-btc"))
    state = floor.state_dir
    state.mkdir(parents=True)
    left = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, threading; from pathlib import Path;"
            "from tradingfloor.services.embedded import EmbeddedPostgres as P;"
            "t = threading.Thread(target=lambda: P(Path(sys.argv[1]) / 'pg').start()); t.start(); t.join()",
            str(state),
        ]
    )
    assert left.wait(timeout=120) == 0
    from tradingfloor.services.embedded import EmbeddedPostgres

    postgres_pid = EmbeddedPostgres(state / "pg").leftover()[0]
    agent = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)", "manifests/momentum-btc.yaml"],
        start_new_session=True,
    )
    (state / "services.json").write_text(
        json.dumps(
            {
                "pid": 999_999_999,
                "agents": {"momentum-btc-0": {"pid": agent.pid, "match": "momentum-btc.yaml"}},
            }
        )
    )
    floor.start("--for", "1s")
    assert floor.proc.wait(timeout=120) == 0
    said = floor.output()
    line = next(line for line in said.splitlines() if "previous floor" in line)
    assert f"momentum-btc-0 (pid {agent.pid})" in line and f"postgres (pid {postgres_pid})" in line
    assert agent.wait(timeout=5) is not None and not process_alive(postgres_pid)


def _kill_service_for(floor, name: str, mark: str, seconds: float) -> None:
    """Keep the service down: SIGKILL it, and every restart of it, for ``seconds``."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        for pid in processes_mentioning(mark):
            if name in command_line(pid) and process_alive(pid):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


@pytest.mark.timeout(600)
def test_postgres_and_redis_killed_mid_trading_the_floor_runs_and_nothing_is_lost(floor_process):
    floor = floor_process(lenient_trader("momentum-btc"), "auditor.yaml").start()
    agents = floor.running_agents(2)
    floor.wait_for(lambda: _fills(floor) > 0, 180, "a first fill")
    state = floor.state_dir

    _kill_service_for(floor, "postgres", str(state / "pg"), OUTAGE_S)
    assert floor.proc.poll() is None
    floor.wait_for_line("DatabaseUnreachable")
    floor.wait_for_line("postgres is back", timeout=120)
    fills_after_pg = floor.wait_for(lambda: _fills(floor), 30, "the database to answer again")
    # the breaker paused new entries (on the dashboard's event line and in the trader) and lifted it
    floor.wait_for_line("EntriesPaused")
    floor.wait_for_line("EntriesResumed", timeout=60)
    log = state / "logs" / "momentum-btc.log"
    paused = floor.wait_for(lambda: _logged(log, "trader.entries_paused"), 30, "the trader's pause")
    resumed = floor.wait_for(lambda: _logged(log, "trader.entries_resumed"), 30, "the trader's resume")
    assert "DatabaseUnreachable" in paused["breakers"] and resumed["breakers"] == []
    # no entry was opened while the trader was paused (orders carry the market's time; the journal
    # replayed everything written meanwhile, so the table is complete once it answers)
    entries_while_paused = floor.query(
        "SELECT client_order_id FROM orders WHERE side = 'BUY' AND created_at > $1 AND created_at < $2",
        datetime.fromtimestamp(paused["market_ms"] / 1000, UTC),
        datetime.fromtimestamp(resumed["market_ms"] / 1000, UTC),
    )
    assert entries_while_paused == []

    redis_port = floor.services()["redis_url"].rsplit(":", 1)[1].split("/")[0]
    _kill_service_for(floor, "redis-server", f":{redis_port}", OUTAGE_S)  # its title: redis-server host:port
    assert floor.proc.poll() is None
    floor.wait_for_line("redis is back", timeout=120)
    floor.wait_for(lambda: _fills(floor) > fills_after_pg, 180, "trading to go on after both outages")
    assert floor.services()["agents"].keys() == agents.keys()  # no agent was restarted for it

    # 0 lost: every journaled write is replayed (the journals empty themselves), none rejected ...
    journals = list((state / "trader").glob("*.journal"))
    floor.wait_for(lambda: journals and all(j.stat().st_size == 0 for j in journals), 60, "journals replayed")
    assert not list(state.rglob("*.rejected"))
    # ... and 0 duplicated: each order's fills add up to its filled size, once; the audit chain holds
    mismatched = floor.query(
        """SELECT o.client_order_id FROM orders o LEFT JOIN fills f USING (client_order_id)
           GROUP BY o.client_order_id, o.filled_size HAVING o.filled_size <> coalesce(sum(f.size), 0)"""
    )
    assert mismatched == []
    verify = subprocess.run(
        [sys.executable, "-m", "tradingfloor.cli", "audit", "verify", "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert floor.stop(signal.SIGINT) == 0


def test_manifests_are_applied_while_the_floor_runs(floor_process):
    floor = floor_process(lenient_trader("momentum-btc")).start()
    before = floor.running_agents(1)
    folder = floor.manifests

    (folder / "eth.yaml").write_text(yaml.safe_dump(lenient_trader("momentum-eth", asset="ETH")))
    floor.wait_for_line("created TraderAgent/momentum-eth")
    first_eth = floor.running_agents(2)["momentum-eth-0"]

    edited = lenient_trader("momentum-eth", asset="ETH")
    edited["spec"]["params"]["thresholdBps"] = 25
    (folder / "eth.yaml").write_text(yaml.safe_dump(edited))
    floor.wait_for_line("updated TraderAgent/momentum-eth")
    spec = floor.wait_for(
        lambda: floor.query("SELECT spec FROM agents WHERE name = 'momentum-eth'")[0]["spec"], 10, "the spec"
    )
    assert '"thresholdBps": 25' in spec
    # the agent read its spec when it started: it is started again, on the new one, not counted as a restart
    said = floor.wait_for(
        lambda: floor.query("SELECT message FROM system_events WHERE type = 'SpecChanged'"), 60, "SpecChanged"
    )
    assert "momentum-eth-0 runs generation 1, the spec is at 2" in said[0]["message"]
    new_eth = floor.wait_for(
        lambda: (
            (pid := floor.services().get("agents", {}).get("momentum-eth-0", {}).get("pid")) != first_eth
            and pid
        ),
        60,
        "momentum-eth started again",
    )
    assert process_alive(new_eth) and not process_alive(first_eth)
    running = yaml.safe_load((floor.state_dir / "manifests" / "momentum-eth.yaml").read_text())
    assert running["spec"]["params"]["thresholdBps"] == 25
    status = json.loads(floor.query("SELECT status FROM agents WHERE name = 'momentum-eth'")[0]["status"])
    assert status["restarts"]["total"] == 0

    broken = lenient_trader("momentum-btc")
    broken["spec"]["risk"]["capital"] = "-5"
    (folder / f"{broken['metadata']['name']}.yaml").write_text(yaml.safe_dump(broken))
    line = floor.wait_for_line("ManifestRejected").splitlines()
    assert any("risk.capital" in text for text in line if "ManifestRejected" in text)
    time.sleep(3)  # give a wrong reaction the time to happen
    assert floor.services()["agents"]["momentum-btc-0"]["pid"] == before["momentum-btc-0"]
    events = floor.query("SELECT message FROM system_events WHERE type = 'ManifestRejected'")
    assert any("risk.capital" in e["message"] for e in events)
    assert floor.stop(signal.SIGINT) == 0
