"""The audit log's hash chain on top of the persistence layer's ``audit_log`` repository.

Appends are serialized by a transaction-scoped advisory lock, so concurrent writers (several
auditors, a restart overlapping its predecessor) never fork the chain: each reads the head and
inserts seq + 1 under the lock, in the caller's transaction. Connections must carry the
persistence layer's JSON codecs (``tradingfloor.persistence.db.connect`` / ``create_pool``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg

from tradingfloor.audit.chain import AuditEntry, next_entry
from tradingfloor.persistence.repositories import append_audit, last_audit, read_audit

APPEND_LOCK = 0x7466_6175_6469_74  # "tfaudit": the advisory-lock key of the audit chain


async def head(conn: asyncpg.Connection) -> AuditEntry | None:
    return await last_audit(conn)


async def append(
    conn: asyncpg.Connection,
    agent: str,
    subject: str,
    kind: str,
    payload: dict[str, Any],
    ts: datetime | None = None,
    key: bytes | None = None,
) -> AuditEntry:
    """Append one entry, hashed under the audit ``key``; must run inside a transaction (the lock
    is released at its end)."""
    if not conn.is_in_transaction():
        raise RuntimeError("audit log append must run inside a transaction")
    await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)
    e = next_entry(await head(conn), agent, subject, kind, payload, ts or datetime.now(UTC), key)
    await append_audit(conn, e)
    return e


async def entries(conn: asyncpg.Connection, batch: int = 1000) -> AsyncIterator[AuditEntry]:
    """Every entry in seq order, read in batches."""
    after = -1
    while True:
        rows = await read_audit(conn, after_seq=after, limit=batch)
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = rows[-1].seq


async def entry_at(conn: asyncpg.Connection, seq: int) -> AuditEntry | None:
    rows = await read_audit(conn, after_seq=seq - 1, limit=1)
    return rows[0] if rows and rows[0].seq == seq else None


async def entries_after(conn: asyncpg.Connection, seq: int, batch: int = 1000) -> list[AuditEntry]:
    out: list[AuditEntry] = []
    while True:
        rows = await read_audit(conn, after_seq=seq, limit=batch)
        out += rows
        if len(rows) < batch:
            return out
        seq = rows[-1].seq
