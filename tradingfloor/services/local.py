"""The local floor's PostgreSQL and Redis: given URLs, or embedded servers under the state folder.

``floor up`` starts them and records their URLs in ``<state>/services.json`` while it runs, so
``floor status``, ``floor audit verify`` and ``floor report`` reach the same servers; when the
floor is not running those commands start the embedded PostgreSQL on the same data folder for
the time of the command (the data persists between runs; Redis holds nothing that must persist).

The same file records the PID of every process the floor started. A floor that was killed before it
could clean up leaves it behind; the next ``floor up`` stops what is still running from that list
(``sweep_leftovers``), so nothing ever runs twice.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tradingfloor.services.embedded import EmbeddedPostgres, EmbeddedRedis, ServiceError, stop_process
from tradingfloor.services.lifetime import command_line, process_alive


@dataclass
class LocalServices:
    database_url: str
    redis_url: str | None
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None

    def require_redis_url(self) -> str:
        """The Redis URL, for callers that started the services with Redis."""
        if self.redis_url is None:
            raise ServiceError("no Redis was started for this floor (start_services with_redis=False)")
        return self.redis_url

    def stop(self) -> None:
        if self.redis:
            self.redis.stop()
        if self.postgres:
            self.postgres.stop()

    def pids(self) -> dict[str, dict]:
        """What ``sweep_leftovers`` needs to recognise each server later: its PID and a command-line mark."""
        out = {}
        if self.postgres is not None and self.postgres.pid is not None:
            out["postgres"] = {"pid": self.postgres.pid, "match": str(self.postgres.pgdata)}
        if self.redis is not None and self.redis.pid is not None:
            # redis-server retitles itself "redis-server host:port"
            out["redis"] = {"pid": self.redis.pid, "match": f"{self.redis.host}:{self.redis.port}"}
        return out


MIN_FREE_MB = 200  # PostgreSQL, logs and journals need room; below this the floor would fail later


def check_state_dir(state_dir: Path) -> None:
    """Fail now, in one line, if the floor could not keep its data in ``state_dir``."""
    hint = "choose another folder with --state-dir or FLOOR_STATE_DIR"
    probe = state_dir / ".write-test"
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise ServiceError(f"{state_dir}/ is full: free some space, or {hint}") from None
        reason = {
            errno.EROFS: "read-only file system",
            errno.EACCES: "permission denied",
            errno.EPERM: "not permitted",
        }.get(exc.errno or 0, exc.strerror or str(exc))
        raise ServiceError(f"cannot write to {state_dir}/ ({reason}): {hint}") from None
    free_mb = shutil.disk_usage(state_dir).free // 1_000_000
    if free_mb < MIN_FREE_MB:
        raise ServiceError(
            f"{state_dir}/ has only {free_mb} MB free (the floor needs {MIN_FREE_MB} MB): {hint}"
        )


def _services_file(state_dir: Path) -> Path:
    return state_dir / "services.json"


def running_floor_services(state_dir: Path) -> dict | None:
    """URLs published by a running ``floor up`` in this state folder, if there is one."""
    path = _services_file(state_dir)
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return info if process_alive(int(info.get("pid", -1))) else None


def sweep_leftovers(state_dir: Path) -> list[str]:
    """Stop every process a previous, killed ``floor up`` recorded in ``state_dir`` and is still
    running (recognised by PID *and* command line, so a reused PID is never touched), and any
    PostgreSQL still serving the floor's data folder. Returns what was stopped (``redis (pid 12)``).
    Call it only while holding the floor lock: then no live floor owns these processes."""
    try:
        info = json.loads(_services_file(state_dir).read_text())
    except (OSError, ValueError):
        info = {}
    stopped = []
    recorded = {**(info.get("services") or {}), **(info.get("agents") or {})}
    # agents first (they write to the services), then Redis and PostgreSQL
    for name, entry in sorted(recorded.items(), key=lambda kv: kv[0] in ("postgres", "redis")):
        pid, mark = int(entry.get("pid", -1)), str(entry.get("match", ""))
        if pid > 0 and process_alive(pid) and mark and mark in command_line(pid):
            stop_process(pid, signal.SIGINT if name == "postgres" else signal.SIGTERM, timeout=10)
            stopped.append(f"{name} (pid {pid})")
    postgres = EmbeddedPostgres(state_dir / "pg")
    other = postgres.leftover()
    if other is not None:
        postgres.stop()
        stopped.append(f"postgres (pid {other[0]})")
    _services_file(state_dir).unlink(missing_ok=True)
    return stopped


def start_services(
    state_dir: Path, database_url: str | None, redis_url: str | None, *, with_redis: bool = True
) -> LocalServices:
    """Use the given URLs, else start embedded servers (PostgreSQL data kept under ``state_dir/pg``)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    postgres = redis = None
    if not database_url:
        postgres = EmbeddedPostgres(state_dir / "pg").start()
        database_url = postgres.url
    if with_redis and not redis_url:
        try:
            redis = EmbeddedRedis(state_dir / "redis").start()
        except BaseException:
            if postgres is not None:  # nothing of a failed start stays behind
                postgres.stop()
            raise
        redis_url = redis.url
    return LocalServices(database_url, redis_url, postgres, redis)


def publish(
    state_dir: Path, services: LocalServices, agents: dict[str, dict] | None = None, **extra: object
) -> None:
    """Record the running floor: its URLs and the PIDs of what it started (``agents``: instance →
    ``{"pid", "match"}``)."""
    payload = {
        "pid": os.getpid(),
        "database_url": services.database_url,
        "redis_url": services.redis_url,
        "services": services.pids(),
        "agents": agents or {},
        **extra,
    }
    tmp = _services_file(state_dir).with_suffix(".tmp")
    # owner-only: the URLs carry the Redis password
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(json.dumps(payload))
    tmp.replace(_services_file(state_dir))


def unpublish(state_dir: Path) -> None:
    _services_file(state_dir).unlink(missing_ok=True)


@contextmanager
def floor_database(state_dir: Path, database_url: str | None = None) -> Iterator[str]:
    """A PostgreSQL URL for a one-off command: the given one, the running floor's, or the embedded
    server on the floor's data folder, started for the duration of the command."""
    if database_url:
        yield database_url
        return
    running = running_floor_services(state_dir)
    if running:
        yield running["database_url"]
        return
    if not (state_dir / "pg" / "pgdata" / "PG_VERSION").exists():
        raise FileNotFoundError(
            f"no floor database in {state_dir}/pg: run `floor up` first, or set DATABASE_URL"
        )
    other = EmbeddedPostgres(state_dir / "pg").leftover()
    if other is not None:  # left by a floor that was killed: use it as it is
        yield EmbeddedPostgres(state_dir / "pg", port=other[1]).url
        return
    services = start_services(state_dir, None, None, with_redis=False)
    try:
        yield services.database_url
    finally:
        services.stop()
