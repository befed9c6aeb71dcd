"""``floor audit verify``: prove the audit log intact against its key and its exported head, or
name the first bad entry.

Three checks, each against something the database owner does not control: every entry's hash is
an HMAC under the audit key (kept outside the database), the chain links from genesis, and the
head the Auditor exported (a file under the state dir, or a ConfigMap) is still in the log.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from floor_agents.auditor.log import entries
from tradingfloor.audit.chain import VerifyResult, verify_chain
from tradingfloor.audit.heads import ChainHead, FileHeadStore, HeadStore, local_head_path
from tradingfloor.audit.keys import KEY_FILE_ENV, AuditKeyError, load_key
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


async def verify(
    database_url: str, key: bytes | None = None, exported: ChainHead | None = None, require_head: bool = False
) -> VerifyResult:
    conn = await connect(database_url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            status_anchor = await recorded_head(conn)
            log = [e async for e in entries(conn)]
    finally:
        await conn.close()
    anchor = (exported.seq, exported.hash) if exported else None
    result = verify_chain(log, anchor, key=key)
    if result.ok and status_anchor is not None and status_anchor != anchor:
        result = verify_chain(log, status_anchor, key=key)
    if result.ok and require_head and exported is None and log:
        return VerifyResult(
            False,
            result.checked,
            bad_seq=log[-1].seq,
            reason="the log has entries but no exported head was found: its newest entries cannot be vouched for",
        )
    return result


def _store(state_dir: Path, head_file: Path | None, head_configmap: str | None, namespace: str) -> HeadStore:
    if head_configmap:
        from floor_agents.auditor.configmap_head import ConfigMapHeadStore

        return ConfigMapHeadStore(head_configmap, namespace)
    return FileHeadStore(head_file or local_head_path(state_dir))


def main(
    database_url: str | None,
    state_dir: Path | None = None,
    key_file: Path | None = None,
    head_file: Path | None = None,
    head_configmap: str | None = None,
    namespace: str = "default",
) -> int:
    settings = Settings.from_env()
    state = state_dir or settings.state_dir
    env = dict(os.environ)
    if key_file is not None:
        env[KEY_FILE_ENV] = str(key_file)
        env.pop("AUDIT_HMAC_KEY", None)
    try:
        key = load_key(state, env)
        exported = asyncio.run(_store(state, head_file, head_configmap, namespace).read())
    except (AuditKeyError, ValueError, OSError) as exc:
        print(f"cannot verify: {exc}", file=sys.stderr)
        return 2
    with floor_database(state, database_url or settings.database_url) as url:
        result = asyncio.run(verify(url, key, exported, require_head=True))
    print(result.describe(), file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1
