"""``floor audit verify`` against a real PostgreSQL: intact log, then hand-made tampering."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import asyncpg
import pytest

from floor_agents.auditor import log, verify
from tradingfloor.persistence.db import connect

N = 12


async def _fill_log(url: str) -> None:
    conn = await connect(url)
    try:
        for i in range(N):
            async with conn.transaction():
                await log.append(
                    conn,
                    "auditor",
                    f"fill:{i}",
                    "fill_checked",
                    {"fill_seq": i, "price": Decimal("0.5") + Decimal(i) / 100, "violations": []},
                )
    finally:
        await conn.close()


async def _tamper(url: str, sql: str) -> None:
    """As a superuser, bypassing the append-only trigger the way an intruder would."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(sql)
    finally:
        await conn.close()


def _verify(url: str, capsys) -> tuple[int, str]:
    code = verify.main(url)  # runs its own event loop, as the CLI does
    out = capsys.readouterr()
    return code, out.out + out.err


async def _run_verify(url: str, capsys) -> tuple[int, str]:
    return await asyncio.to_thread(_verify, url, capsys)


async def test_untouched_log_passes_and_edited_row_is_named(audit_db, capsys):
    await _fill_log(audit_db)
    code, text = await _run_verify(audit_db, capsys)
    assert code == 0 and f"intact: {N} entries" in text
    conn = await asyncpg.connect(audit_db)
    try:
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await conn.execute("UPDATE audit_log SET payload = '{}' WHERE seq = 7")
    finally:
        await conn.close()
    await _tamper(
        audit_db, """UPDATE audit_log SET payload = jsonb_set(payload, '{price}', '"0.99"') WHERE seq = 7"""
    )
    code, text = await _run_verify(audit_db, capsys)
    assert code == 1 and "broken at seq 7" in text and "does not match its hash" in text


async def test_deleted_row_is_named(audit_db, capsys):
    await _fill_log(audit_db)
    await _tamper(audit_db, "DELETE FROM audit_log WHERE seq = 5")
    code, text = await _run_verify(audit_db, capsys)
    assert code == 1 and "broken at seq 5" in text and "missing" in text


async def test_swapped_hashes_are_named(audit_db, capsys):
    await _fill_log(audit_db)
    await _tamper(
        audit_db,
        """UPDATE audit_log a SET hash = b.hash FROM audit_log b
                               WHERE (a.seq, b.seq) IN ((3, 4), (4, 3))""",
    )
    code, text = await _run_verify(audit_db, capsys)
    assert code == 1 and "broken at seq 3" in text


async def test_truncated_tail_caught_by_the_auditors_recorded_head(audit_db, capsys):
    await _fill_log(audit_db)
    conn = await connect(audit_db)
    try:
        head = await log.head(conn)
        await conn.execute(
            "INSERT INTO agents (name, kind, status) VALUES ('auditor', 'Auditor', $1::text::jsonb)",
            f'{{"audit": {{"chainHead": "{head.seq}:{head.hash}"}}}}',
        )
    finally:
        await conn.close()
    assert (await _run_verify(audit_db, capsys))[0] == 0
    await _tamper(audit_db, f"DELETE FROM audit_log WHERE seq >= {N - 1}")
    code, text = await _run_verify(audit_db, capsys)
    assert code == 1 and f"broken at seq {N - 1}" in text and "removed" in text
