"""Writes that survive a database outage: an append-only local journal and the DurableWriter.

:class:`DurableWriter` sends each write (one or more repository operations applied in one
transaction) to PostgreSQL. When the database is unreachable the write is appended to the
:class:`Journal` instead — one JSON line, ``fsync``'d before ``submit`` returns — and a background
task replays the journal, in order, once the database is back. While the journal holds anything,
new writes go behind it (never straight to the database), so the database sees every write in
the order it was submitted.

Exactly once: every journaled operation is idempotent on a natural or idempotency key (client
order id, fill id, trade idempotency key, checkpoint agent+seq, event key, audit seq, …: the
repository inserts with ``ON CONFLICT DO NOTHING``), or a whole-row replacement (positions,
order status) whose replay yields the same final state. Replay advances a cursor file after each
committed batch; a crash between the commit and the cursor replays that batch again, which the
keys make a no-op. When the journal is fully replayed the file is truncated to empty and the
cursor removed.

An entry the database rejects for its data (not for being unreachable) cannot succeed later: it
is moved to ``<journal>.rejected`` with the error, logged, and replay goes on.

One writer per journal file: the file is locked (``flock``) while open.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import json
import os
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from tradingfloor.observability.logging import get_logger
from tradingfloor.persistence import repositories as repo
from tradingfloor.persistence.db import Database, is_unavailable

log = get_logger("tradingfloor.persistence.journal")


# --- codec: JSON that gives back Decimal, datetime and the repository's row dataclasses ---------

_ROW_CLASSES = {cls.__name__: cls for cls in repo.ROW_TYPES}
_TAGS = ("$decimal", "$datetime", "$row", "$dict")


def encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"non-finite float {value} cannot be journaled")
        return value
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be journaled")
        return {"$datetime": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if _ROW_CLASSES.get(name) is not type(value):
            raise TypeError(f"{name} is not a repository row type")
        return {
            "$row": name,
            "fields": {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)},
        }
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"dict key {k!r} is not a string")
            out[k] = encode(v)
        return {"$dict": out} if any(k in _TAGS for k in out) else out
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    raise TypeError(f"{type(value).__name__} cannot be journaled")


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$decimal" in value:
        return Decimal(value["$decimal"])
    if "$datetime" in value:
        return datetime.fromisoformat(value["$datetime"])
    if "$row" in value:
        cls = _ROW_CLASSES[value["$row"]]
        return cls(**{k: decode(v) for k, v in value["fields"].items()})
    if "$dict" in value:
        return {k: decode(v) for k, v in value["$dict"].items()}
    return {k: decode(v) for k, v in value.items()}


# --- the journal file -----------------------------------------------------------------------------

Op = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class JournalEntry:
    n: int  # position in the journal, increasing, never reused while entries may be pending
    ops: tuple[Op, ...]
    ts: str


class JournalLocked(RuntimeError):
    """Another writer holds this journal file."""


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old or the new content."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class Journal:
    """Append-only, fsync'd JSON-lines file of writes not yet in the database.

    ``<path>.cursor`` holds the last entry number known to be in the database;
    ``<path>.rejected`` collects entries the database refused for their data."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.cursor_path = self.path.with_name(self.path.name + ".cursor")
        self.rejected_path = self.path.with_name(self.path.name + ".rejected")
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise JournalLocked(f"journal {self.path} is in use by another writer") from None
        self._pending: deque[JournalEntry] = deque()
        self.appended = 0
        self.replayed = 0
        self.rejected = 0
        cursor = self._read_cursor()
        last_n = self._load(cursor)
        self._next_n = max(last_n, cursor) + 1

    # reading at start-up
    def _read_cursor(self) -> int:
        try:
            return int(self.cursor_path.read_text().strip() or 0)
        except FileNotFoundError:
            return 0
        except ValueError:
            log.error("journal.cursor_unreadable", path=str(self.cursor_path))
            return 0  # replaying from the start is safe: every entry is idempotent

    def _load(self, cursor: int) -> int:
        data = b""
        with open(self.path, "rb") as f:
            data = f.read()
        if data and not data.endswith(b"\n"):
            # a crash mid-append: that write never returned to its caller, so it is dropped
            keep = data.rfind(b"\n") + 1
            log.warning("journal.torn_tail_dropped", path=str(self.path), bytes=len(data) - keep)
            os.ftruncate(self._fd, keep)
            os.fsync(self._fd)
            data = data[:keep]
        last_n = 0
        for lineno, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                entry = JournalEntry(
                    int(raw["n"]), tuple((op, decode(args)) for op, args in raw["ops"]), raw.get("ts", "")
                )
            except Exception as exc:
                self._append_rejected(line, f"unreadable journal line {lineno}: {exc}")
                log.error("journal.line_unreadable", path=str(self.path), line=lineno, error=str(exc))
                continue
            last_n = max(last_n, entry.n)
            if entry.n > cursor:
                self._pending.append(entry)
        return last_n

    # state
    def __len__(self) -> int:
        return len(self._pending)

    @property
    def empty(self) -> bool:
        return not self._pending

    def peek(self, limit: int) -> list[JournalEntry]:
        out: list[JournalEntry] = []
        for entry in self._pending:
            if len(out) >= limit:
                break
            out.append(entry)
        return out

    def pending_entries(self) -> Iterable[JournalEntry]:
        return iter(self._pending)

    # writing
    def append(self, ops: Sequence[Op]) -> JournalEntry:
        if self._fd < 0:
            raise RuntimeError(f"journal {self.path} is closed")
        ts = datetime.now().astimezone().isoformat()
        encoded = [[op, encode(args)] for op, args in ops]
        entry = JournalEntry(self._next_n, tuple(ops), ts)
        line = (
            json.dumps(
                {"n": entry.n, "ts": ts, "ops": encoded},
                separators=(",", ":"),
                ensure_ascii=False,
                allow_nan=False,
            ).encode("utf-8")
            + b"\n"
        )
        view = memoryview(line)
        while view:
            view = view[os.write(self._fd, view) :]
        os.fsync(self._fd)
        self._next_n += 1
        self._pending.append(entry)
        self.appended += 1
        return entry

    def mark_applied(self, upto_n: int) -> None:
        """Entries up to ``upto_n`` are in the database. The journal is truncated once it is empty."""
        popped = 0
        while self._pending and self._pending[0].n <= upto_n:
            self._pending.popleft()
            popped += 1
        self.replayed += popped
        if not self._pending:
            self._rotate()
        else:
            atomic_write(self.cursor_path, f"{upto_n}\n".encode())

    def _rotate(self) -> None:
        # truncate first, then forget the cursor: a crash in between leaves an empty journal and a
        # cursor that only keeps entry numbers growing
        os.ftruncate(self._fd, 0)
        os.fsync(self._fd)
        try:
            self.cursor_path.unlink()
            _fsync_dir(self.path.parent)
        except FileNotFoundError:
            pass

    def reject(self, entry: JournalEntry, error: BaseException) -> None:
        line = json.dumps(
            {"n": entry.n, "ts": entry.ts, "ops": [[op, encode(a)] for op, a in entry.ops]},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        self._append_rejected(line, f"{type(error).__name__}: {error}")
        self.rejected += 1

    def _append_rejected(self, line: bytes, error: str) -> None:
        record = (
            json.dumps({"error": error, "entry": line.decode("utf-8", "replace")}, ensure_ascii=False) + "\n"
        )
        with open(self.rejected_path, "ab") as f:
            f.write(record.encode())
            f.flush()
            os.fsync(f.fileno())

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass


# --- operations -----------------------------------------------------------------------------------

OpFunc = Callable[..., Awaitable[Any]]

OPERATIONS: dict[str, OpFunc] = {
    "checkpoint": repo.save_checkpoint,  # agent, seq, state, created_at
    "trade": repo.record_trade,  # t: TradeRow
    "order": repo.record_order,  # o: OrderRow
    "order_status": repo.update_order_status,  # client_order_id, status, filled_size, reason, venue_order_id, at
    "fill": repo.record_fill,  # f: FillRow
    "position": repo.upsert_position,  # p: PositionRow
    "event": repo.record_event,  # type, message, agent, reason, payload, ts, event_key
    "performance": repo.insert_performance,  # p: PerformanceRow
    "audit": repo.append_audit,  # e: AuditRow
    "market": repo.upsert_market,  # m: MarketRow
    "agent_status": repo.patch_agent_status,  # name, patch
}


# --- the writer -----------------------------------------------------------------------------------


class WriterClosed(RuntimeError):
    pass


class DurableWriter:
    """Database first, journal when the database is unreachable; replays the journal exactly once,
    in order, and keeps later writes behind it while it is not empty.

    ``submit`` raises for errors about the data (they would fail again on replay); it never raises
    for an outage. It returns ``"db"`` when the write is committed, ``"journal"`` when it is safe
    on disk and will reach the database later.
    """

    def __init__(
        self,
        db: Database,
        journal: Journal | Path | str,
        *,
        retry_interval: float = 0.25,
        max_retry_interval: float = 2.0,
        batch_size: int = 200,
        write_timeout: float = 10.0,
        operations: dict[str, OpFunc] | None = None,
    ) -> None:
        self.db = db
        self.journal = journal if isinstance(journal, Journal) else Journal(journal)
        self.retry_interval = retry_interval
        self.max_retry_interval = max_retry_interval
        self.batch_size = batch_size
        self.write_timeout = write_timeout
        self.operations = dict(OPERATIONS if operations is None else operations)
        self._lock = asyncio.Lock()
        self._drainer: asyncio.Task | None = None
        self._drained = asyncio.Event()
        self._closed = False
        self.db_writes = 0
        self.journal_writes = 0
        if self.journal.empty:
            self._drained.set()

    # lifecycle
    async def start(self) -> DurableWriter:
        """Start replaying what an earlier run left in the journal (``submit`` does this too)."""
        self._kick()
        return self

    async def __aenter__(self) -> DurableWriter:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self, drain_timeout: float = 0.0) -> None:
        """Stop the replay task (after waiting up to ``drain_timeout`` for the journal to empty) and
        close the journal. What is still journaled is replayed by the next writer on this file."""
        if drain_timeout > 0:
            await self.drain(drain_timeout)
        self._closed = True
        if self._drainer is not None:
            self._drainer.cancel()
            try:
                await self._drainer
            except (asyncio.CancelledError, Exception):
                pass
        self.journal.close()

    # state
    @property
    def pending(self) -> int:
        """Writes waiting in the journal."""
        return len(self.journal)

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until the journal is empty; False on timeout."""
        self._kick()
        try:
            await asyncio.wait_for(self._drained.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # writing
    async def submit(self, *ops: Op) -> Literal["db", "journal"]:
        """Apply ``ops`` (``(name, kwargs)`` pairs) in one transaction, or journal them."""
        if not ops:
            raise ValueError("nothing to write")
        for name, _ in ops:
            if name not in self.operations:
                raise ValueError(f"unknown operation {name!r}")
        async with self._lock:
            if self._closed:
                raise WriterClosed("the writer is closed")
            if self.journal.empty:
                try:
                    await asyncio.wait_for(self._apply([ops]), self.write_timeout)
                    self.db_writes += 1
                    return "db"
                except Exception as exc:
                    if not is_unavailable(exc):
                        raise
                    log.warning(
                        "journal.db_unavailable",
                        error=f"{type(exc).__name__}: {exc}",
                        journal=str(self.journal.path),
                    )
            self.journal.append(ops)
            self.journal_writes += 1
            self._drained.clear()
            self._kick()
            return "journal"

    async def _apply(self, batches: Sequence[Sequence[Op]]) -> None:
        async with self.db.transaction() as conn:
            for ops in batches:
                for name, kwargs in ops:
                    await self.operations[name](conn, **kwargs)

    # replay
    def _kick(self) -> None:
        if self._closed or self.journal.empty:
            return
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.get_running_loop().create_task(self._drain_loop(), name="journal-replay")

    async def _drain_loop(self) -> None:
        delay = self.retry_interval
        started = time.monotonic()
        replayed = 0
        while not self.journal.empty and not self._closed:
            batch = self.journal.peek(self.batch_size)
            try:
                await asyncio.wait_for(self._apply([e.ops for e in batch]), self.write_timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_unavailable(exc):
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.max_retry_interval)
                    continue
                # some entry in the batch is refused: go one by one to set it aside
                if not await self._apply_one_by_one(batch):
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.max_retry_interval)
                continue
            self.journal.mark_applied(batch[-1].n)
            replayed += len(batch)
            delay = self.retry_interval
        if self.journal.empty:
            if replayed:
                log.info(
                    "journal.replayed",
                    entries=replayed,
                    seconds=round(time.monotonic() - started, 3),
                    journal=str(self.journal.path),
                )
            self._drained.set()

    async def _apply_one_by_one(self, batch: Sequence[JournalEntry]) -> bool:
        for entry in batch:
            try:
                await asyncio.wait_for(self._apply([entry.ops]), self.write_timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_unavailable(exc):
                    return False
                log.error(
                    "journal.entry_rejected",
                    n=entry.n,
                    ops=[op for op, _ in entry.ops],
                    error=f"{type(exc).__name__}: {exc}",
                    rejected=str(self.journal.rejected_path),
                )
                self.journal.reject(entry, exc)
            self.journal.mark_applied(entry.n)
        return True

    # typed helpers for the operations
    async def save_checkpoint(
        self, agent: str, seq: int, state: dict[str, Any], created_at: datetime | None = None
    ) -> Literal["db", "journal"]:
        return await self.submit(
            (
                "checkpoint",
                {"agent": agent, "seq": seq, "state": state, "created_at": created_at or repo.utcnow()},
            )
        )

    async def record_trade(self, t: repo.TradeRow) -> Literal["db", "journal"]:
        return await self.submit(("trade", {"t": t}))

    async def record_order(self, o: repo.OrderRow) -> Literal["db", "journal"]:
        return await self.submit(("order", {"o": o}))

    async def update_order_status(
        self,
        client_order_id: str,
        status: repo.OrderStatus,
        *,
        filled_size: Decimal | None = None,
        reason: str | None = None,
        venue_order_id: str | None = None,
        at: datetime | None = None,
    ) -> Literal["db", "journal"]:
        return await self.submit(
            (
                "order_status",
                {
                    "client_order_id": client_order_id,
                    "status": status,
                    "filled_size": filled_size,
                    "reason": reason,
                    "venue_order_id": venue_order_id,
                    "at": at or repo.utcnow(),
                },
            )
        )

    async def record_fill(self, f: repo.FillRow) -> Literal["db", "journal"]:
        return await self.submit(("fill", {"f": f}))

    async def upsert_position(self, p: repo.PositionRow) -> Literal["db", "journal"]:
        if p.updated_at is None:
            p = dataclasses.replace(p, updated_at=repo.utcnow())
        return await self.submit(("position", {"p": p}))

    async def record_event(
        self,
        type: str,
        message: str = "",
        *,
        agent: str | None = None,
        reason: str = "",
        payload: dict[str, Any] | None = None,
        ts: datetime | None = None,
        event_key: str | None = None,
    ) -> Literal["db", "journal"]:
        return await self.submit(
            (
                "event",
                {
                    "type": type,
                    "message": message,
                    "agent": agent,
                    "reason": reason,
                    "payload": payload or {},
                    "ts": ts or repo.utcnow(),
                    "event_key": event_key or uuid.uuid4().hex,
                },
            )
        )

    async def insert_performance(self, p: repo.PerformanceRow) -> Literal["db", "journal"]:
        return await self.submit(("performance", {"p": p}))

    async def append_audit(self, e: repo.AuditRow) -> Literal["db", "journal"]:
        return await self.submit(("audit", {"e": e}))
