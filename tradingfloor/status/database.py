"""Status sink for the local floor: merges patches into the ``agents`` table's ``status`` jsonb."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from tradingfloor.status.sink import StatusTargetMissing, check_ownership, merge_patch


def _as_dict(value: Any) -> dict[str, Any]:
    # asyncpg returns jsonb as text unless a codec is registered on the connection
    if value is None:
        return {}
    return json.loads(value) if isinstance(value, str) else dict(value)


class DatabaseStatusSink:
    """Row-locked read-modify-write, so the Floor Boss's writes to other keys are never lost."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def patch_status(self, kind: str, name: str, patch: dict[str, Any]) -> None:
        check_ownership(kind, patch)
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow("SELECT status FROM agents WHERE kind = $1 AND name = $2 FOR UPDATE",
                                      kind, name)
            if row is None:
                raise StatusTargetMissing(f"no {kind} named {name!r} in the agents table")
            merged = merge_patch(_as_dict(row["status"]), patch)
            await conn.execute("UPDATE agents SET status = $3::jsonb WHERE kind = $1 AND name = $2",
                               kind, name, json.dumps(merged))

    async def read_status(self, kind: str, name: str) -> dict[str, Any]:
        row = await self._pool.fetchrow("SELECT status FROM agents WHERE kind = $1 AND name = $2", kind, name)
        if row is None:
            raise StatusTargetMissing(f"no {kind} named {name!r} in the agents table")
        return _as_dict(row["status"])
