"""Status sink for the local floor: merges patches into the ``agents`` table's ``status`` jsonb."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from tradingfloor.persistence.db import Database
from tradingfloor.status.sink import StatusTargetMissing, check_ownership, merge_patch


def _as_dict(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}


class DatabaseStatusSink:
    """Row-locked read-modify-write, so the Floor Boss's writes to other keys are never lost.

    jsonb goes through SQL as text (``::text``), so it works whether or not the pool's connections
    have a JSON codec installed."""

    def __init__(self, pool: asyncpg.Pool | Database) -> None:
        self._pool = pool

    async def patch_status(self, kind: str, name: str, patch: dict[str, Any]) -> None:
        check_ownership(kind, patch)
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT status::text AS status FROM agents WHERE kind = $1 AND name = $2 FOR UPDATE",
                kind,
                name,
            )
            if row is None:
                raise StatusTargetMissing(f"no {kind} named {name!r} in the agents table")
            merged = merge_patch(_as_dict(row["status"]), patch)
            await conn.execute(
                "UPDATE agents SET status = $3::text::jsonb, updated_at = now() WHERE kind = $1 AND name = $2",
                kind,
                name,
                json.dumps(merged),
            )

    async def read_status(self, kind: str, name: str) -> dict[str, Any]:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT status::text AS status FROM agents WHERE kind = $1 AND name = $2", kind, name
            )
        if row is None:
            raise StatusTargetMissing(f"no {kind} named {name!r} in the agents table")
        return _as_dict(row["status"])
