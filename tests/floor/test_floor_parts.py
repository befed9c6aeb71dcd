"""The floor's parts on their own, against real servers and files: service supervision, the manifest
folder watch, the state-folder check, the market-clock policy, the piped console."""

from __future__ import annotations

import time

import pytest
import yaml

from floor_boss.local.floor import market_clock_policy
from floor_boss.local.manifest_watch import ManifestWatch
from tests.floor.conftest import lenient_trader
from tradingfloor.decisions import FloorPolicy
from tradingfloor.services.embedded import EmbeddedRedis, ServiceError, listening
from tradingfloor.services.local import check_state_dir
from tradingfloor.services.supervision import ServiceSupervisor


def test_a_killed_redis_is_reported_and_started_again_on_its_port(tmp_path):
    redis = EmbeddedRedis(tmp_path / "redis").start()
    services = ServiceSupervisor()
    services.watch("redis", redis)
    try:
        assert services.check() == []
        redis.process.kill()
        redis.process.wait()
        now = time.monotonic()
        (down,) = services.check(now)
        assert down.reason == "ServiceDown" and "redis exited" in down.message and not services.is_up("redis")
        assert services.check(now + 0.5) == []  # backoff: 1 s before the first restart
        (restarting,) = services.check(now + 1.1)
        assert restarting.reason == "ServiceRestarting"
        deadline = time.monotonic() + 10
        events = []
        while not events and time.monotonic() < deadline:
            events = services.check()
            time.sleep(0.05)
        assert [e.reason for e in events] == ["ServiceRecovered"] and services.is_up("redis")
        assert listening(redis.host, redis.port)
    finally:
        redis.stop()


def test_a_port_in_use_is_named(tmp_path):
    first = EmbeddedRedis(tmp_path / "a").start()
    try:
        with pytest.raises(ServiceError, match=rf"port is in use.*sport = :{first.port}"):
            EmbeddedRedis(tmp_path / "b", port=first.port).start()
    finally:
        first.stop()


def test_manifest_watch_sees_new_edited_broken_and_removed_files(tmp_path):
    watch = ManifestWatch(tmp_path)
    a = tmp_path / "a.yaml"
    a.write_text(yaml.safe_dump(lenient_trader("alpha")))
    first = watch.scan()
    assert [r.metadata["name"] for r in first.resources] == ["alpha"] and not watch.changed()

    broken = lenient_trader("alpha")
    broken["spec"]["risk"]["capital"] = "-1"
    a.write_text(yaml.safe_dump(broken))
    assert watch.changed()
    bad = watch.scan()
    assert bad.resources == [] and bad.removed == set()  # alpha keeps running as it is
    (message,) = bad.new_errors.values()
    assert "spec.risk.capital" in message
    assert watch.scan().new_errors == {}  # reported once

    a.write_text(yaml.safe_dump(lenient_trader("alpha")))
    fixed = watch.scan()
    assert fixed.fixed == [str(a)] and [r.metadata["name"] for r in fixed.resources] == ["alpha"]

    a.unlink()
    assert watch.scan().removed == {"alpha"}


def test_an_unwritable_state_folder_is_one_actionable_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ServiceError, match=r"cannot write to .*file/sub/ .*--state-dir"):
        check_state_dir(blocker / "sub")


def test_policy_durations_run_on_the_market_clock():
    policy = FloorPolicy()
    fast = market_clock_policy(policy, 240)
    assert fast.clone_after_seconds == policy.clone_after_seconds / 240  # 24 market hours = 6 wall minutes
    assert fast.retire_after_seconds == policy.retire_after_seconds / 240
    assert fast.min_trades_clone == policy.min_trades_clone and fast.confidence == policy.confidence
    assert fast.heartbeat_misses == policy.heartbeat_misses  # processes stay on the wall clock


def test_a_resumed_market_starts_at_its_clock_or_just_before_the_next_round():
    from floor_boss.local.floor import ROUND_MS, resume_ms

    grid = 100 * ROUND_MS
    assert resume_ms(grid + 60_000) == grid + ROUND_MS - 300_000  # 14 idle minutes skipped
    assert resume_ms(grid + ROUND_MS - 60_000) == grid + ROUND_MS - 60_000  # never back in time
    assert resume_ms(grid) == grid


def test_a_new_market_starts_where_asked_and_a_stored_clock_wins():
    from floor_boss.local.commands import parse_market_start
    from floor_boss.local.floor import ROUND_MS, market_start_ms, resume_ms

    new_year = parse_market_start("2026-01-01T00:00Z")
    assert new_year == 1_767_225_600_000
    assert parse_market_start("2026-01-01T00:14:59") == new_year  # UTC, down to the round grid
    assert parse_market_start("2026-01-01T01:20+01:00") == new_year + ROUND_MS
    with pytest.raises(Exception, match="not a date-time"):
        parse_market_start("new year")
    now = new_year + 40 * ROUND_MS + 123_456
    assert market_start_ms(None, None, now) == new_year + 40 * ROUND_MS
    assert market_start_ms(None, new_year, now) == new_year
    stored = new_year + 7 * ROUND_MS + 60_000
    assert market_start_ms(stored, new_year, now) == resume_ms(stored)  # resuming ignores the request


def test_the_floor_lock_notices_its_file_removed_or_replaced(tmp_path):
    from floor_boss.local.floor import FloorAlreadyRunning, floor_lock

    with floor_lock(tmp_path / "a") as held:
        assert held()
        with pytest.raises(FloorAlreadyRunning), floor_lock(tmp_path / "a"):
            pass
        (tmp_path / "a" / "floor.lock").unlink()  # the state folder deleted (a test's temporary folder)
        assert not held()
    with floor_lock(tmp_path / "b") as held:
        (tmp_path / "b" / "floor.lock").unlink()
        with floor_lock(tmp_path / "b") as other:  # another floor took the folder over
            assert other() and not held()


def test_a_process_asked_to_stop_with_its_parent_does(tmp_path):
    """A harness that dies by SIGKILL sends nothing; the parent-death signal still arrives."""
    import signal
    import subprocess
    import sys

    from tradingfloor.services.lifetime import process_alive

    pid_file = tmp_path / "child.pid"
    child = (
        "import os, signal, sys, time; from tradingfloor.services.lifetime import stop_with_parent;"
        "stop_with_parent(signal.SIGTERM); open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(120)"
    )
    harness = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', sys.argv[1], sys.argv[2]],"
            " start_new_session=True); time.sleep(120)",
            child,
            str(pid_file),
        ]
    )
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    pid = int(pid_file.read_text())
    harness.send_signal(signal.SIGKILL)
    harness.wait()
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not process_alive(pid)
