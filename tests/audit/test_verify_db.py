"""``floor audit verify`` against a real PostgreSQL: intact log, then hand-made tampering. The
log is written under an audit key (held in the environment, as the Auditor's Secret would be)."""

from __future__ import annotations

import asyncio
import os
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from floor_agents.auditor import log, verify
from tradingfloor.audit.heads import ChainHead, FileHeadStore, local_head_path
from tradingfloor.persistence.db import connect

N = 12
KEY = b"k" * 40


@pytest.fixture(autouse=True)
def _audit_key(monkeypatch, tmp_path):
    monkeypatch.setenv("AUDIT_HMAC_KEY", KEY.decode())
    monkeypatch.setenv("FLOOR_STATE_DIR", str(tmp_path))


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
                    key=KEY,
                )
        head = await log.head(conn)
    finally:
        await conn.close()
    # what the Auditor does after a pass: export the head outside the database
    assert head is not None
    await FileHeadStore(local_head_path(Path(os.environ["FLOOR_STATE_DIR"]))).write(
        ChainHead(head.seq, head.hash)
    )


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


async def _rewrite_without_key(url: str, seq: int, key: bytes | None) -> None:
    """What a database owner can do: disable the trigger, edit an entry, recompute every hash from
    there on (plain SHA-256, or under a key of their own) and move the anchor kept in the database."""
    from tradingfloor.audit.chain import AuditEntry, entry_hash

    conn = await connect(url)
    try:
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
        rows = [e async for e in log.entries(conn)]
        prev = rows[seq - 2].hash if seq > 1 else "0" * 64
        for e in rows[seq - 1 :]:
            payload = {**e.payload, "price": "0.01"} if e.seq == seq else e.payload
            new = AuditEntry(e.seq, e.ts, e.agent, e.subject, e.kind, payload, prev, "")
            digest = entry_hash(prev, e.agent, e.subject, e.kind, payload, e.seq, e.ts, key)
            await conn.execute(
                "UPDATE audit_log SET payload = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
                new.payload,
                prev,
                digest,
                e.seq,
            )
            prev = digest
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")
        await conn.execute(
            "INSERT INTO agents (name, kind, status) VALUES ('auditor', 'Auditor', $1::text::jsonb)",
            f'{{"audit": {{"chainHead": "{rows[-1].seq}:{prev}"}}}}',
        )
    finally:
        await conn.close()


@pytest.mark.parametrize("forger_key", [None, b"f" * 40], ids=["sha256", "own-key"])
async def test_owner_rewrite_without_the_key_is_named(audit_db, capsys, forger_key):
    await _fill_log(audit_db)
    await _rewrite_without_key(audit_db, 6, forger_key)
    code, text = await _run_verify(audit_db, capsys)
    assert code == 1 and "broken at seq 6" in text and "audit key" in text


async def test_truncated_tail_caught_by_the_exported_head(audit_db, capsys):
    await _fill_log(audit_db)
    await _tamper(audit_db, f"DELETE FROM audit_log WHERE seq >= {N - 2}")
    code, text = await _run_verify(audit_db, capsys)
    assert code == 1 and f"broken at seq {N - 2}" in text and "removed" in text


async def test_missing_key_or_head_is_reported(audit_db, capsys, monkeypatch, tmp_path):
    await _fill_log(audit_db)
    monkeypatch.delenv("AUDIT_HMAC_KEY")
    code, text = await _run_verify(audit_db, capsys)
    assert code == 2 and "no audit key found" in text
    monkeypatch.setenv("AUDIT_HMAC_KEY", KEY.decode())
    local_head_path(tmp_path).unlink()
    code, text = await _run_verify(audit_db, capsys)
    assert code == 1 and "no exported head" in text


async def test_auditor_refuses_a_head_that_does_not_continue_its_last(audit_db, tmp_path):
    from floor_agents.auditor.heads import advance_head
    from tradingfloor.audit.heads import ChainRewritten
    from tradingfloor.persistence.db import create_pool

    await _fill_log(audit_db)
    store = FileHeadStore(local_head_path(tmp_path))
    exported = await store.read()
    pool = await create_pool(audit_db)
    try:
        assert await advance_head(pool, store, KEY) == exported  # nothing new: the head stays
        await _rewrite_without_key(audit_db, 9, None)
        with pytest.raises(ChainRewritten, match="seq 12") as raised:
            await advance_head(pool, store, KEY)
        assert raised.value.result.bad_seq == 12
        assert await store.read() == exported  # the rewritten head was not exported
    finally:
        await pool.close()
