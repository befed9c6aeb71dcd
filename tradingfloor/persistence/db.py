"""Connections to PostgreSQL: a pool with retry, JSON codecs, and errors that never show a password.

Every connection made here encodes ``json``/``jsonb`` with :func:`dumps` (``Decimal`` as its exact
string, datetimes as ISO 8601) and decodes with ``json.loads``. :func:`is_unavailable` tells an
outage (refused connection, server shutting down or starting, lost connection, timeout) from a
data error, which a caller must not retry or journal.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncpg  # imported where a connection is opened: a file-backed trader never loads it (~3 MiB)

from tradingfloor.observability.logging import get_logger
from tradingfloor.observability.redact import redact_url

log = get_logger("tradingfloor.persistence.db")


class DatabaseUnavailable(ConnectionError):
    """PostgreSQL could not be reached; the message names the URL without its password."""

    def __init__(self, url: str, attempts: int, cause: BaseException | None) -> None:
        self.url = redact_url(url)
        self.attempts = attempts
        reason = f"{type(cause).__name__}: {cause}" if cause is not None else "unknown reason"
        super().__init__(f"cannot connect to PostgreSQL at {self.url} after {attempts} attempt(s): {reason}")


# --- JSON ----------------------------------------------------------------------------------------


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"non-finite Decimal {value} cannot be stored as JSON")
        return format(value, "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


def dumps(value: Any) -> str:
    """JSON for ``jsonb`` columns: Decimal as its exact string, datetime as ISO 8601, no NaN."""
    return json.dumps(value, default=_default, separators=(",", ":"), allow_nan=False)


def _jsonb_encode(value: Any) -> bytes:
    return b"\x01" + dumps(value).encode("utf-8")  # jsonb binary format: version 1, then the text


def _jsonb_decode(data: bytes) -> Any:
    if data[:1] != b"\x01":
        raise ValueError(f"unknown jsonb binary format version {data[:1]!r}")
    return json.loads(data[1:])


async def init_connection(conn: asyncpg.Connection) -> None:
    # jsonb in binary format, so that COPY (binary) works too
    await conn.set_type_codec(
        "jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec("json", encoder=dumps, decoder=json.loads, schema="pg_catalog")


# --- outage classification -----------------------------------------------------------------------

_UNAVAILABLE_SQLSTATE_CLASSES = (
    "08",
    "57",
    "53",
)  # connection exception, operator intervention, insufficient resources


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means the database cannot be reached right now (retry later), False for
    errors about the statement or the data (retrying would fail the same way)."""
    if isinstance(exc, DatabaseUnavailable):
        return True
    if isinstance(exc, (OSError, asyncio.TimeoutError, TimeoutError)):
        return True
    asyncpg = sys.modules.get("asyncpg")  # not loaded: no connection was ever opened, so no asyncpg error
    if asyncpg is None:
        return bool(isinstance(exc, (ConnectionError, EOFError)))
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None) or ""
        return state[:2] in _UNAVAILABLE_SQLSTATE_CLASSES
    if isinstance(exc, asyncpg.InterfaceError):
        # "connection is closed", "pool is closing", "connection was closed in the middle of operation"
        return "clos" in str(exc).lower()
    if isinstance(exc, asyncpg.exceptions._base.InternalClientError):
        # e.g. "cannot switch to state 15; another operation (2) is in progress": an idle pooled
        # connection that has just received the server's FATAL shutdown notice
        return True
    return bool(isinstance(exc, (ConnectionError, EOFError)))


# --- connect / pool ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Retry:
    attempts: int = 10
    base_delay: float = 0.2
    max_delay: float = 5.0

    def delay(self, attempt: int) -> float:
        d = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return d * (0.5 + random.random() / 2)


NO_RETRY = Retry(attempts=1)


async def _retrying(url: str, retry: Retry, what: str, open_once):
    """``open_once()`` retried with backoff while the server is unreachable; other errors at once."""
    last: BaseException | None = None
    for attempt in range(1, retry.attempts + 1):
        try:
            return await open_once()
        except Exception as exc:
            if not is_unavailable(exc):
                raise DatabaseError(url, exc) from exc
            last = exc
            if attempt < retry.attempts:
                log.warning(f"db.{what}_retry", url=redact_url(url), attempt=attempt, error=str(exc))
                await asyncio.sleep(retry.delay(attempt))
    raise DatabaseUnavailable(url, retry.attempts, last) from last


async def connect(url: str, *, retry: Retry = Retry(), timeout: float = 10.0) -> asyncpg.Connection:
    """One connection, retried with exponential backoff while the server is unreachable."""

    import asyncpg

    async def open_once() -> asyncpg.Connection:
        conn = await asyncpg.connect(url, timeout=timeout)
        try:
            await init_connection(conn)
        except BaseException:
            await conn.close()
            raise
        return conn

    return await _retrying(url, retry, "connect", open_once)


class DatabaseError(RuntimeError):
    """A non-transient failure to connect (bad credentials, unknown database, …), URL redacted."""

    def __init__(self, url: str, cause: BaseException) -> None:
        self.url = redact_url(url)
        super().__init__(f"PostgreSQL at {self.url} refused the connection: {type(cause).__name__}: {cause}")


async def create_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 5,
    retry: Retry = Retry(),
    timeout: float = 10.0,
    command_timeout: float | None = 30.0,
) -> asyncpg.Pool:
    """A connection pool (JSON codecs installed on each connection), retried while unreachable.

    Connections lost later (server restart) are replaced by the pool on the next ``acquire``."""
    import asyncpg

    return await _retrying(
        url,
        retry,
        "pool",
        lambda: asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            command_timeout=command_timeout,
            init=init_connection,
        ),
    )


class Database:
    """A lazily created pool that survives outages: ``acquire`` raises :class:`DatabaseUnavailable`
    (fast, no retry) while the server is down and works again once it is back.

    Unlike a bare ``asyncpg.Pool`` it can be constructed while PostgreSQL is unreachable, which an
    agent starting during an outage needs (its writes go to the journal meanwhile)."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 0,
        max_size: int = 5,
        timeout: float = 5.0,
        command_timeout: float | None = 30.0,
    ) -> None:
        self.url = url
        self._min_size = min_size
        self._max_size = max_size
        self._timeout = timeout
        self._command_timeout = command_timeout
        self._pool: asyncpg.Pool | None = None
        self._creating = asyncio.Lock()

    def __repr__(self) -> str:
        return f"Database({redact_url(self.url)!r})"

    async def pool(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        async with self._creating:
            if self._pool is None:
                self._pool = await create_pool(
                    self.url,
                    min_size=self._min_size,
                    max_size=self._max_size,
                    retry=NO_RETRY,
                    timeout=self._timeout,
                    command_timeout=self._command_timeout,
                )
            return self._pool

    def acquire(self) -> _Acquire:
        """``async with db.acquire() as conn:`` — a pooled connection."""
        return _Acquire(self)

    def transaction(self) -> _Transaction:
        """``async with db.transaction() as conn:`` — a pooled connection inside a transaction."""
        return _Transaction(self)

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:
        async with self.acquire() as conn:
            return await conn.execute(query, *args, timeout=timeout)

    async def executemany(self, query: str, args: Any, *, timeout: float | None = None) -> None:
        async with self.acquire() as conn:
            await conn.executemany(query, args, timeout=timeout)

    async def _twice(self, call: Any) -> Any:
        # a pooled connection can be dead without knowing it (server restarted while it was idle):
        # the first use fails, every pooled connection is dropped, and a second try uses a new one
        try:
            async with self.acquire() as conn:
                return await call(conn)
        except DatabaseUnavailable:
            raise  # could not even connect: the server is down
        except Exception as exc:
            if not is_unavailable(exc):
                raise
        async with self.acquire() as conn:
            return await call(conn)

    async def fetch(self, query: str, *args: Any, timeout: float | None = None) -> list[asyncpg.Record]:
        """Run a query; a connection lost before the answer is retried once (keep such queries idempotent)."""
        return await self._twice(lambda conn: conn.fetch(query, *args, timeout=timeout))

    async def fetchrow(self, query: str, *args: Any, timeout: float | None = None) -> asyncpg.Record | None:
        return await self._twice(lambda conn: conn.fetchrow(query, *args, timeout=timeout))

    async def fetchval(self, query: str, *args: Any, column: int = 0, timeout: float | None = None) -> Any:
        return await self._twice(lambda conn: conn.fetchval(query, *args, column=column, timeout=timeout))

    async def copy_records_to_table(self, table_name: str, **kwargs: Any) -> str:
        async with self.acquire() as conn:
            return await conn.copy_records_to_table(table_name, **kwargs)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), timeout=5)
            except Exception:
                pool.terminate()


class _Acquire:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._pool: asyncpg.Pool | None = None
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        self._pool = await self._db.pool()
        try:
            self._conn = await self._pool.acquire(timeout=self._db._timeout)
        except Exception as exc:
            if is_unavailable(exc):
                raise DatabaseUnavailable(self._db.url, 1, exc) from exc
            raise
        return self._conn

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._pool is not None and self._conn is not None:
            if exc is not None and is_unavailable(exc):
                # after a server restart every idle pooled connection is dead but may not know it
                # yet (asyncpg notices only on use): drop them all, the pool reconnects on demand
                from asyncpg import InterfaceError

                try:
                    self._conn.terminate()
                except InterfaceError:
                    pass  # already released by the pool when it closed
                try:
                    await self._pool.expire_connections()
                except Exception:
                    pass
            try:
                await self._pool.release(self._conn, timeout=self._db._timeout)
            except Exception:
                self._conn.terminate()


class _Transaction:
    def __init__(self, db: Database) -> None:
        self._acquire = _Acquire(db)
        self._tx: Any = None

    async def __aenter__(self) -> asyncpg.Connection:
        conn = await self._acquire.__aenter__()
        try:
            self._tx = conn.transaction()
            await self._tx.start()
        except BaseException:
            await self._acquire.__aexit__(None, None, None)
            raise
        return conn

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        error = exc
        try:
            if exc_type is None:
                try:
                    await self._tx.commit()
                except BaseException as commit_error:
                    error = commit_error
                    raise
            else:
                try:
                    await self._tx.rollback()
                except Exception:
                    pass
        finally:
            await self._acquire.__aexit__(type(error) if error is not None else None, error, None)
