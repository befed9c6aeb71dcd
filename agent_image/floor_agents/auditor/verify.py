"""``floor audit verify``: prove the audit log's hash chain intact, or name the first bad entry."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from floor_agents.auditor.log import entries
from tradingfloor.audit.chain import VerifyResult, verify_chain
from tradingfloor.persistence.db import connect
from tradingfloor.services.local import floor_database
from tradingfloor.settings import Settings


def parse_chain_head(text: str | None) -> tuple[int, str] | None:
    """An auditor's ``status.audit.chainHead`` (``"<seq>:<hash>"``) as an anchor."""
    if not text:
        return None
    seq, sep, digest = text.partition(":")
    if not sep or not seq.isdigit() or len(digest) != 64:
        raise ValueError(f"chainHead must look like '<seq>:<64 hex digits>', got {text!r}")
    return int(seq), digest


async def recorded_head(conn) -> tuple[int, str] | None:
    """The newest head any auditor recorded in its status (local floor), to catch a truncated tail."""
    rows = await conn.fetch(
        "SELECT status->'audit'->>'chainHead' AS head FROM agents "
        "WHERE kind = 'Auditor' AND status->'audit' ? 'chainHead'"
    )
    heads = [h for h in (parse_chain_head(r["head"]) for r in rows) if h]
    return max(heads, default=None)


async def verify(database_url: str) -> VerifyResult:
    conn = await connect(database_url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            anchor = await recorded_head(conn)
            return verify_chain([e async for e in entries(conn)], anchor)
    finally:
        await conn.close()


def main(database_url: str | None, state_dir: Path | None = None) -> int:
    settings = Settings.from_env()
    with floor_database(state_dir or settings.state_dir, database_url or settings.database_url) as url:
        result = asyncio.run(verify(url))
    print(result.describe(), file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1
