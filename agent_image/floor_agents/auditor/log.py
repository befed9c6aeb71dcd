"""The audit log in PostgreSQL (``audit_log`` table): append an entry to the chain, read it back.

Appends are serialized by a transaction-scoped advisory lock, so concurrent writers (several
auditors, a restart overlapping its predecessor) never fork the chain: each reads the head and
inserts seq + 1 under the lock, in the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import asyncpg

from tradingfloor.audit.chain import AuditEntry, next_entry

_APPEND_LOCK = 0x7466_6175_6469_74  # "tfaudit": the advisory-lock key of the audit chain
_COLUMNS = "seq, ts, agent, subject, kind, payload::text AS payload, prev_hash, hash"


def _entry(row: asyncpg.Record) -> AuditEntry:
    return AuditEntry(row["seq"], row["ts"], row["agent"], row["subject"], row["kind"],
                      json.loads(row["payload"]), row["prev_hash"], row["hash"])


async def head(conn: asyncpg.Connection) -> AuditEntry | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1")
    return _entry(row) if row else None


async def append(conn: asyncpg.Connection, agent: str, subject: str, kind: str, payload: dict[str, Any],
                 ts: datetime | None = None) -> AuditEntry:
    """Append one entry; must run inside a transaction (the lock is released at its end)."""
    if not conn.is_in_transaction():
        raise RuntimeError("audit log append must run inside a transaction")
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _APPEND_LOCK)
    entry = next_entry(await head(conn), agent, subject, kind, payload,
                       ts or datetime.now(timezone.utc))
    await conn.execute(
        "INSERT INTO audit_log (seq, ts, agent, subject, kind, payload, prev_hash, hash) "
        "VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $8)",
        entry.seq, entry.ts, entry.agent, entry.subject, entry.kind, json.dumps(entry.payload),
        entry.prev_hash, entry.hash)
    return entry


async def entries(conn: asyncpg.Connection, batch: int = 1000) -> AsyncIterator[AuditEntry]:
    """Every entry in seq order, read in batches (the log can outgrow memory)."""
    after = -1
    while True:
        rows = await conn.fetch(f"SELECT {_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                                after, batch)
        for row in rows:
            yield _entry(row)
        if len(rows) < batch:
            return
        after = rows[-1]["seq"]
