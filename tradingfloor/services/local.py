"""The local floor's PostgreSQL and Redis: given URLs, or embedded servers under the state folder.

``floor up`` starts them and records their URLs in ``<state>/services.json`` while it runs, so
``floor status``, ``floor audit verify`` and ``floor report`` reach the same servers; when the
floor is not running those commands start the embedded PostgreSQL on the same data folder for
the time of the command (the data persists between runs; Redis holds nothing that must persist).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tradingfloor.services.embedded import EmbeddedPostgres, EmbeddedRedis


@dataclass
class LocalServices:
    database_url: str
    redis_url: str | None
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None

    def stop(self) -> None:
        if self.redis:
            self.redis.stop()
        if self.postgres:
            self.postgres.stop()


def _services_file(state_dir: Path) -> Path:
    return state_dir / "services.json"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_floor_services(state_dir: Path) -> dict | None:
    """URLs published by a running ``floor up`` in this state folder, if there is one."""
    path = _services_file(state_dir)
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return info if _pid_alive(int(info.get("pid", -1))) else None


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
        redis = EmbeddedRedis(state_dir / "redis").start()
        redis_url = redis.url
    return LocalServices(database_url, redis_url, postgres, redis)


def publish(state_dir: Path, services: LocalServices, **extra: object) -> None:
    payload = {
        "pid": os.getpid(),
        "database_url": services.database_url,
        "redis_url": services.redis_url,
        **extra,
    }
    tmp = _services_file(state_dir).with_suffix(".tmp")
    tmp.write_text(json.dumps(payload))
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
    services = start_services(state_dir, None, None, with_redis=False)
    try:
        yield services.database_url
    finally:
        services.stop()
